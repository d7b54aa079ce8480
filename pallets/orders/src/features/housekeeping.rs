//! Liveness without a caller: the off-chain worker of every block-producing node finds the
//! unfinished orders whose deadline passed and submits `expire_lapsed` for each, as a general
//! transaction authorized by the pallet itself (`#[pallet::authorize]`), not signed by anyone.
//!
//! Who can submit it: anyone, but it is valid only while the order is due (the same check that
//! `expire_order` makes), it provides one tag per order so the pool holds at most one per
//! order, and it pays nobody. Spamming it costs the spammer nothing and gains nothing: the pool
//! refuses it for an order that is not due, and a due order is expired once.

use crate::*;
use frame_support::pallet_prelude::{
	InvalidTransaction, TransactionSource, TransactionValidityWithRefund, ValidTransaction,
};
use frame_system::offchain::{CreateAuthorizedTransaction, SubmitTransaction};

/// How long (in blocks) a submitted expiry stays in the pool before it must be resubmitted.
const LONGEVITY: u64 = 16;

impl<T: Config> Pallet<T> {
	/// Whether order `order` exists and one of its deadlines has passed at `now`.
	fn is_due(order: OrderId, now: BlockNumberFor<T>) -> bool {
		Orders::<T>::get(order).is_some_and(|o| Self::check_lapsed(&o, now).is_ok())
	}

	pub(crate) fn authorize_expire_lapsed(
		_source: TransactionSource,
		order: &OrderId,
	) -> TransactionValidityWithRefund {
		if !Self::is_due(*order, frame_system::Pallet::<T>::block_number()) {
			return Err(InvalidTransaction::Call.into());
		}
		housekeeping_validity("TrainingOrdersExpireLapsed", *order)
	}

	/// Submits `expire_lapsed` for every unfinished order that is due at `now`. Unfinished
	/// orders are found through `ClientOrders`, which holds nothing finished.
	pub(crate) fn submit_lapsed_expiries(now: BlockNumberFor<T>) {
		for order in ClientOrders::<T>::iter_values().flatten() {
			if Self::is_due(order, now) {
				submit_housekeeping::<T, Call<T>>(Call::<T>::expire_lapsed { order });
			}
		}
	}
}

/// The pool validity of a free housekeeping transaction about `order` (this pallet's
/// `expire_lapsed`, the proof-of-train pallet's `advance_lapsed`): one per order and kind in
/// the pool (tag `prefix` ‖ order), resubmitted after `LONGEVITY` blocks if still due, and
/// propagated so that any block author can include it.
pub fn housekeeping_validity(
	prefix: &'static str,
	order: OrderId,
) -> TransactionValidityWithRefund {
	let validity = ValidTransaction::with_tag_prefix(prefix)
		.and_provides(order)
		.longevity(LONGEVITY)
		.propagate(true)
		.build()?;
	Ok((validity, Weight::zero()))
}

/// Submits `call` from an off-chain worker as a general transaction its pallet authorizes.
pub fn submit_housekeeping<R, C>(call: C)
where
	R: CreateAuthorizedTransaction<C>,
{
	let xt = <R as CreateAuthorizedTransaction<C>>::create_authorized_transaction(call.into());
	// The pool refuses a copy of one it already holds, which is all an error means here: the
	// next block's off-chain worker tries again while the transition is still due.
	let _ = SubmitTransaction::<R, C>::submit_transaction(xt);
}

//! Liveness without a caller: the off-chain worker of every block-producing node finds the
//! rounds whose phase window passed and submits `advance_lapsed` for each, as a general
//! transaction authorized by the pallet itself (`#[pallet::authorize]`), not signed by anyone.
//!
//! Who can submit it: anyone, but it is valid only while the round is lapsed, it provides one
//! tag per order so the pool holds at most one per order, and it pays nobody. The transition
//! it makes is the one `advance` would make: faulting the silent is what the windows promise.

use crate::*;
use frame_support::pallet_prelude::{
	InvalidTransaction, TransactionSource, TransactionValidityWithRefund,
};
use pallet_training_orders::{housekeeping_validity, submit_housekeeping, OrderStatus};

impl<T: Config> Pallet<T> {
	/// Whether `advance` would move the round of `id` at `now` without anyone else acting: its
	/// order ended elsewhere, its proofs are all in, or its phase window passed. Draws are not
	/// lapsed phases: `on_initialize` makes them.
	pub(crate) fn is_lapsed(id: OrderId, round: &RoundOf<T>, now: BlockNumberFor<T>) -> bool {
		let status = T::Orders::status(id);
		if status.map_or(true, OrderStatus::is_final) {
			return true;
		}
		// Ending a reveal phase may queue a draw: with the draw queue full, that would fail and
		// the free transaction with it, so wait for room.
		let queue_full = || {
			PendingDraws::<T>::decode_len().unwrap_or_default() as u32 >= T::MaxPendingDraws::get()
		};
		match round.phase {
			Phase::Committing => status == Some(OrderStatus::Proving),
			Phase::Revealing { until } | Phase::RevealingReports { until } => {
				now > until && !queue_full()
			},
			Phase::Reporting { until }
			| Phase::Refereeing { until }
			| Phase::RevealingVerdicts { until } => now > until,
			Phase::AwaitingValidators | Phase::AwaitingReferees => false,
		}
	}

	pub(crate) fn authorize_advance_lapsed(
		_source: TransactionSource,
		order: &OrderId,
	) -> TransactionValidityWithRefund {
		let now = frame_system::Pallet::<T>::block_number();
		let lapsed =
			Rounds::<T>::get(order).is_some_and(|round| Self::is_lapsed(*order, &round, now));
		if !lapsed {
			return Err(InvalidTransaction::Call.into());
		}
		housekeeping_validity("ProofOfTrainAdvanceLapsed", *order)
	}

	/// Submits `advance_lapsed` for every round that is lapsed at `now`.
	pub(crate) fn submit_lapsed_advances(now: BlockNumberFor<T>) {
		for (order, round) in Rounds::<T>::iter() {
			if Self::is_lapsed(order, &round, now) {
				submit_housekeeping::<T, Call<T>>(Call::<T>::advance_lapsed { order });
			}
		}
	}
}

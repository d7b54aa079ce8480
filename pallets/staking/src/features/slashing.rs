//! Slashing bonded funds, active first and then unbonding.

use crate::*;
use frame_support::traits::{
	fungible::{Balanced, BalancedHold},
	Imbalance, OnUnbalanced,
};
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};

impl<T: Config> Pallet<T> {
	/// Everything `who` has at stake: active bond plus unbonding chunks.
	pub fn total_bonded(who: &T::AccountId) -> BalanceOf<T> {
		let active = Participants::<T>::get(who).map(|p| p.bond).unwrap_or_default();
		Unbonding::<T>::get(who)
			.iter()
			.fold(active, |total, chunk| total.saturating_add(chunk.amount))
	}

	pub(crate) fn do_slash_fraction(
		who: &T::AccountId,
		fraction: Perbill,
		reason: SlashReason,
		beneficiary: Option<&T::AccountId>,
	) -> BalanceOf<T> {
		Self::do_slash(who, fraction * Self::total_bonded(who), reason, beneficiary)
	}

	/// Takes up to `amount` from the active bond, then from the unbonding chunks that unlock
	/// last, and hands the funds to `beneficiary` or the slash destination.
	pub(crate) fn do_slash(
		who: &T::AccountId,
		amount: BalanceOf<T>,
		reason: SlashReason,
		beneficiary: Option<&T::AccountId>,
	) -> BalanceOf<T> {
		let mut remaining = amount;
		let mut participant = Participants::<T>::get(who);
		if let Some(participant) = participant.as_mut() {
			let taken = remaining.min(participant.bond);
			participant.bond = participant.bond.saturating_sub(taken);
			remaining = remaining.saturating_sub(taken);
		}
		let mut chunks = Unbonding::<T>::get(who);
		for chunk in chunks.iter_mut().rev() {
			let taken = remaining.min(chunk.amount);
			chunk.amount = chunk.amount.saturating_sub(taken);
			remaining = remaining.saturating_sub(taken);
		}
		chunks.retain(|chunk| !chunk.amount.is_zero());
		let taken = amount.saturating_sub(remaining);
		if taken.is_zero() {
			return Zero::zero();
		}

		let (credit, _) = T::Currency::slash(&HoldReason::Bond.into(), who, taken);
		let slashed = credit.peek();
		match beneficiary {
			Some(beneficiary) => {
				if let Err(credit) = T::Currency::resolve(beneficiary, credit) {
					// The beneficiary cannot receive it (e.g. below the existential deposit):
					// nothing is lost, it goes to the slash destination instead.
					T::SlashDestination::on_unbalanced(credit);
				}
			},
			None => T::SlashDestination::on_unbalanced(credit),
		}

		if let Some(mut participant) = participant {
			Self::chill_if_underbonded(who, &mut participant);
			Participants::<T>::insert(who, participant);
		}
		if chunks.is_empty() {
			Unbonding::<T>::remove(who);
		} else {
			Unbonding::<T>::insert(who, chunks);
		}
		Reputations::<T>::mutate(who, |reputation| {
			reputation.slashes = reputation.slashes.saturating_add(1);
			reputation.total_slashed = reputation.total_slashed.saturating_add(slashed);
		});
		Self::deposit_event(Event::Slashed {
			who: who.clone(),
			amount: slashed,
			reason,
			beneficiary: beneficiary.cloned(),
		});
		slashed
	}
}

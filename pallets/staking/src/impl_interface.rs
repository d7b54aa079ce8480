//! [`ComputeStakingInterface`] for the pallet, used by the order and proof-of-train pallets.

use crate::*;
use alloc::vec::Vec;
use frame_support::weights::Weight;
use sp_runtime::{DispatchResult, Perbill};

impl<T: Config> ComputeStakingInterface<T::AccountId> for Pallet<T> {
	type Balance = BalanceOf<T>;

	fn is_active(who: &T::AccountId, role: Role) -> bool {
		Participants::<T>::get(who)
			.is_some_and(|p| p.role == role && p.status == ParticipantStatus::Active)
	}

	fn max_capacity() -> ComputeUnits {
		T::MaxCapacity::get()
	}

	fn free_capacity(who: &T::AccountId) -> Option<ComputeUnits> {
		Participants::<T>::get(who).map(|p| p.capacity.saturating_sub(p.locked_capacity))
	}

	fn stake(who: &T::AccountId) -> BalanceOf<T> {
		Participants::<T>::get(who).map(|p| p.bond).unwrap_or_default()
	}

	fn lock_capacity(who: &T::AccountId, units: ComputeUnits) -> DispatchResult {
		Self::do_lock_capacity(who, units)
	}

	fn release_capacity(who: &T::AccountId, units: ComputeUnits) -> DispatchResult {
		Self::do_release_capacity(who, units)
	}

	fn slash(
		who: &T::AccountId,
		amount: BalanceOf<T>,
		reason: SlashReason,
		beneficiary: Option<&T::AccountId>,
	) -> BalanceOf<T> {
		Self::do_slash(who, amount, reason, beneficiary)
	}

	fn slash_fraction(
		who: &T::AccountId,
		fraction: Perbill,
		reason: SlashReason,
		beneficiary: Option<&T::AccountId>,
	) -> BalanceOf<T> {
		Self::do_slash_fraction(who, fraction, reason, beneficiary)
	}

	fn record_success(who: &T::AccountId) {
		Self::do_record_success(who)
	}

	fn record_fault(who: &T::AccountId) {
		Self::do_record_fault(who)
	}

	fn select(
		role: Role,
		count: u32,
		seed: [u8; 32],
		exclude: &[T::AccountId],
		min_free_capacity: ComputeUnits,
	) -> Vec<T::AccountId> {
		Self::do_select(role, count, seed, exclude, min_free_capacity)
	}

	fn select_weight(count: u32) -> Weight {
		T::WeightInfo::select(T::MaxPoolSize::get(), count)
	}
}

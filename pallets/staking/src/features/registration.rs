//! Joining a pool, declaring capacity and endpoint, and adding to the bond.

use crate::*;
use frame_support::{dispatch::PostDispatchInfo, traits::fungible::MutateHold};
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// The bond a participant declaring `capacity` must keep active:
	/// `MinBond + BondPerComputeUnit × capacity`.
	pub fn required_bond(capacity: ComputeUnits) -> BalanceOf<T> {
		T::BondPerComputeUnit::get()
			.saturating_mul(capacity.into())
			.saturating_add(T::MinBond::get())
	}

	pub(crate) fn ensure_valid_capacity(capacity: ComputeUnits) -> DispatchResult {
		ensure!(capacity > 0, Error::<T>::CapacityZero);
		ensure!(capacity <= T::MaxCapacity::get(), Error::<T>::CapacityTooLarge);
		Ok(())
	}

	pub(crate) fn hold_bond(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		T::Currency::hold(&HoldReason::Bond.into(), who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance.into())
	}

	/// Registers `who`; returns whether a member was evicted to make room.
	pub(crate) fn do_register(
		who: T::AccountId,
		role: Role,
		capacity: ComputeUnits,
		device: BoundedVec<u8, T::MaxDeviceLength>,
		endpoint: BoundedVec<u8, T::MaxEndpointLength>,
		bond: BalanceOf<T>,
	) -> Result<bool, DispatchError> {
		ensure!(!Participants::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
		Self::ensure_valid_capacity(capacity)?;
		ensure!(!endpoint.is_empty(), Error::<T>::EndpointMissing);
		ensure!(bond >= Self::required_bond(capacity), Error::<T>::BondTooSmall);
		let full = Pools::<T>::decode_len(role).unwrap_or_default() as u32 >= T::MaxPoolSize::get();
		if full {
			Self::evict_lowest(role, &who, bond)?;
		}
		Pools::<T>::try_mutate(role, |pool| pool.try_push(who.clone()))
			.map_err(|_| Error::<T>::BondTooLowForPool)?;
		Self::hold_bond(&who, bond)?;

		let now = frame_system::Pallet::<T>::block_number();
		Participants::<T>::insert(
			&who,
			Participant {
				role,
				status: ParticipantStatus::Active,
				capacity,
				locked_capacity: 0,
				assignments: 0,
				bond,
				device,
				endpoint,
				registered_at: now,
			},
		);
		Reputations::<T>::mutate(&who, |reputation| reputation.last_active = now);
		Self::deposit_event(Event::Registered { who, role, capacity, bond });
		Ok(full)
	}

	/// Makes room in the full `role` pool for `newcomer` bonding `bond`: the idle member (no
	/// assignments) with the lowest bond leaves, its whole bond unbonding, if `bond` exceeds
	/// that bond by more than `EvictionMargin`. Members with assignments are never evicted.
	fn evict_lowest(role: Role, newcomer: &T::AccountId, bond: BalanceOf<T>) -> DispatchResult {
		let lowest = Pools::<T>::get(role)
			.into_iter()
			.filter_map(|member| Participants::<T>::get(&member).map(|p| (member, p)))
			.filter(|(_, participant)| participant.assignments == 0)
			.min_by_key(|(_, participant)| participant.bond);
		let (member, participant) = lowest.ok_or(Error::<T>::BondTooLowForPool)?;
		let threshold =
			participant.bond.saturating_add(T::EvictionMargin::get() * participant.bond);
		ensure!(bond > threshold, Error::<T>::BondTooLowForPool);
		Self::leave_pool(&member, &participant, true)?;
		Self::deposit_event(Event::Evicted { who: member, by: newcomer.clone(), role });
		Ok(())
	}

	/// Weight of the scan and eviction a registration into a full pool may need: every member
	/// read, and the evicted member's participant, unbonding and pool entries written.
	pub(crate) fn eviction_weight() -> Weight {
		T::DbWeight::get().reads_writes(u64::from(T::MaxPoolSize::get()).saturating_add(2), 3)
	}

	/// The weight a registration used: without an eviction, the scan was not needed.
	pub(crate) fn registration_weight(base: Weight, evicted: bool) -> PostDispatchInfo {
		let used = if evicted { base.saturating_add(Self::eviction_weight()) } else { base };
		PostDispatchInfo { actual_weight: Some(used), pays_fee: Pays::Yes }
	}

	pub(crate) fn do_update_capacity(who: T::AccountId, capacity: ComputeUnits) -> DispatchResult {
		Self::ensure_valid_capacity(capacity)?;
		Participants::<T>::try_mutate(&who, |entry| -> DispatchResult {
			let participant = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
			ensure!(capacity >= participant.locked_capacity, Error::<T>::CapacityBelowLocked);
			ensure!(participant.bond >= Self::required_bond(capacity), Error::<T>::BondTooSmall);
			participant.capacity = capacity;
			Ok(())
		})?;
		Self::deposit_event(Event::CapacityUpdated { who, capacity });
		Ok(())
	}

	pub(crate) fn do_set_endpoint(
		who: T::AccountId,
		endpoint: BoundedVec<u8, T::MaxEndpointLength>,
	) -> DispatchResult {
		ensure!(!endpoint.is_empty(), Error::<T>::EndpointMissing);
		Participants::<T>::try_mutate(&who, |entry| -> DispatchResult {
			entry.as_mut().ok_or(Error::<T>::NotRegistered)?.endpoint = endpoint;
			Ok(())
		})?;
		Self::deposit_event(Event::EndpointUpdated { who });
		Ok(())
	}

	pub(crate) fn do_bond_extra(who: T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		Participants::<T>::try_mutate(&who, |entry| -> DispatchResult {
			let participant = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
			participant.bond = participant.bond.saturating_add(amount);
			Ok(())
		})?;
		Self::hold_bond(&who, amount)?;
		Self::deposit_event(Event::Bonded { who, amount });
		Ok(())
	}
}

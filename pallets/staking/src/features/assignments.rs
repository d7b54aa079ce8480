//! Capacity locks of assignments, and reputation.

use crate::*;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_lock_capacity(who: &T::AccountId, units: ComputeUnits) -> DispatchResult {
		Participants::<T>::try_mutate(who, |entry| -> DispatchResult {
			let participant = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
			ensure!(participant.status == ParticipantStatus::Active, Error::<T>::NotActive);
			let free = participant.capacity.saturating_sub(participant.locked_capacity);
			ensure!(free >= units, Error::<T>::NotEnoughFreeCapacity);
			participant.locked_capacity =
				participant.locked_capacity.checked_add(units).ok_or(Error::<T>::Overflow)?;
			participant.assignments =
				participant.assignments.checked_add(1).ok_or(Error::<T>::Overflow)?;
			Ok(())
		})?;
		Self::deposit_event(Event::CapacityLocked { who: who.clone(), units });
		Ok(())
	}

	pub(crate) fn do_release_capacity(who: &T::AccountId, units: ComputeUnits) -> DispatchResult {
		Participants::<T>::try_mutate(who, |entry| -> DispatchResult {
			let participant = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
			participant.assignments =
				participant.assignments.checked_sub(1).ok_or(Error::<T>::NoSuchAssignment)?;
			participant.locked_capacity = participant
				.locked_capacity
				.checked_sub(units)
				.ok_or(Error::<T>::NoSuchAssignment)?;
			Ok(())
		})?;
		Self::deposit_event(Event::CapacityReleased { who: who.clone(), units });
		Ok(())
	}

	pub(crate) fn do_record_success(who: &T::AccountId) {
		let now = frame_system::Pallet::<T>::block_number();
		Reputations::<T>::mutate(who, |reputation| {
			reputation.completed_jobs = reputation.completed_jobs.saturating_add(1);
			reputation.last_active = now;
		});
		Self::deposit_event(Event::JobCompleted { who: who.clone() });
	}

	pub(crate) fn do_record_fault(who: &T::AccountId) {
		let now = frame_system::Pallet::<T>::block_number();
		Reputations::<T>::mutate(who, |reputation| {
			reputation.faults = reputation.faults.saturating_add(1);
			reputation.last_active = now;
		});
		Self::deposit_event(Event::FaultRecorded { who: who.clone() });
	}
}

//! Chilling and resuming: whether a participant takes new assignments.

use crate::*;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_chill(who: T::AccountId) -> DispatchResult {
		Participants::<T>::try_mutate(&who, |entry| -> DispatchResult {
			let participant = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
			ensure!(participant.status == ParticipantStatus::Active, Error::<T>::AlreadyChilled);
			participant.status = ParticipantStatus::Chilled;
			Ok(())
		})?;
		Self::deposit_event(Event::Chilled { who });
		Ok(())
	}

	pub(crate) fn do_resume(who: T::AccountId) -> DispatchResult {
		Participants::<T>::try_mutate(&who, |entry| -> DispatchResult {
			let participant = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
			ensure!(participant.status == ParticipantStatus::Chilled, Error::<T>::NotChilled);
			ensure!(
				participant.bond >= Self::required_bond(participant.capacity),
				Error::<T>::BondTooSmall
			);
			participant.status = ParticipantStatus::Active;
			Ok(())
		})?;
		Self::deposit_event(Event::Resumed { who });
		Ok(())
	}

	/// Chills a participant whose active bond no longer covers its capacity (after a slash), so
	/// that an under-collateralised account gets no new work until it bonds more.
	pub(crate) fn chill_if_underbonded(who: &T::AccountId, participant: &mut ParticipantOf<T>) {
		if participant.status == ParticipantStatus::Active
			&& participant.bond < Self::required_bond(participant.capacity)
		{
			participant.status = ParticipantStatus::Chilled;
			Self::deposit_event(Event::Chilled { who: who.clone() });
		}
	}
}

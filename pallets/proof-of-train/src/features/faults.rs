//! Faulting a participant: out of the round, a fraction of its bond slashed, a fault in its
//! reputation, an event.

use crate::*;
use pallet_compute_staking::SlashReason;

impl<T: Config> Pallet<T> {
	/// Faults `party` unless it is faulted already (a participant is slashed once per order).
	/// The slash goes to `beneficiary` (a falsely accused worker, the validator that caught a
	/// cheat) or, without one, to the runtime's slash destination.
	pub(crate) fn fault(
		id: OrderId,
		round: &mut RoundOf<T>,
		party: Reporter,
		fault: Fault,
		reason: SlashReason,
		beneficiary: Option<T::AccountId>,
	) {
		let Some((account, slot)) = round.party_mut(party) else { return };
		if slot.is_some() {
			return;
		}
		*slot = Some(fault);
		let account = account.clone();
		let slashed = T::Staking::slash_fraction(
			&account,
			T::FaultSlash::get(),
			reason,
			beneficiary.as_ref(),
		);
		T::Staking::record_fault(&account);
		Self::deposit_event(Event::Faulted { order: id, who: account, fault, slashed });
	}

	/// At the end of the dispute window, faults every worker that did not post a checkpoint a
	/// validator could not fetch; the slash goes to that validator.
	pub(crate) fn fault_withheld(id: OrderId, round: &mut RoundOf<T>) {
		let withheld = round
			.tasks
			.iter()
			.filter(|task| task.status == TaskStatus::Withheld)
			.map(|task| (task.worker, task.checker))
			.collect::<alloc::vec::Vec<_>>();
		for (worker, checker) in withheld {
			let accuser = round.validators.get(checker as usize).map(|v| v.account.clone());
			Self::fault(
				id,
				round,
				Reporter::Worker(worker),
				Fault::Withheld,
				SlashReason::WithheldData,
				accuser,
			);
		}
	}
}

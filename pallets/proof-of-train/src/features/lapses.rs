//! Validators that did not report: slashed as the round ends, and the workers they left short
//! of their quorum paid out of those slashes.
//!
//! A worker below the quorum is not paid from the escrow, so that a Sybil worker whose
//! validator friends stay silent gains nothing on nobody's word. But when validators' silence
//! is what kept an honest worker below the quorum, the silent validators pay for it, not the
//! worker: a worker that at least one unfaulted checker re-executed and found right (any
//! disagreement was decided for it) is paid out of the slashes of the validators that had
//! tasks on it and did not report, up to its slot's share of the worker pool. The client, whose
//! escrow share came back, pays nothing for work nobody accepted; nobody gains from a
//! validator's silence more than the worker's share.

use crate::*;
use alloc::vec::Vec;
use pallet_compute_staking::SlashReason;
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// Whether `fault` of `party` is a validator's missing report, whose slash waits for the
	/// end of the round.
	pub(crate) fn lapsed(party: Reporter, fault: Option<Fault>) -> bool {
		matches!(party, Reporter::Validator(_)) && fault == Some(Fault::Unreported)
	}

	/// Slashes `FaultSlash` of every validator of `round` that did not report, paying the
	/// workers in `compensable` (slots, ascending) that it had tasks on first, each until it
	/// has its slot's share of the worker pool, and the rest to the runtime's slash
	/// destination. Called once, as the round is settled or dropped.
	pub(crate) fn slash_lapses(id: OrderId, round: &RoundOf<T>, compensable: &[u32]) {
		let share = T::Orders::worker_share(id).unwrap_or_default();
		let mut owed: Vec<(u32, BalanceOf<T>)> =
			compensable.iter().map(|slot| (*slot, share)).collect();
		for (index, checker) in round.validators.iter().enumerate() {
			let index = index as u32;
			if !Self::lapsed(Reporter::Validator(index), checker.fault) {
				continue;
			}
			let mut due = T::FaultSlash::get() * T::Staking::bonded(&checker.account);
			let mut compensated: BalanceOf<T> = Zero::zero();
			for (slot, rest) in owed.iter_mut() {
				let checked = round.tasks.iter().any(|t| t.checker == index && t.worker == *slot);
				let Some(worker) = round.workers.get(*slot as usize) else { continue };
				if !checked || rest.is_zero() || due.is_zero() {
					continue;
				}
				let amount = T::Staking::slash(
					&checker.account,
					(*rest).min(due),
					SlashReason::MissedDeadline,
					Some(&worker.account),
				);
				*rest = rest.saturating_sub(amount);
				due = due.saturating_sub(amount);
				compensated = compensated.saturating_add(amount);
				if !amount.is_zero() {
					Self::deposit_event(Event::Compensated {
						order: id,
						worker: worker.account.clone(),
						validator: checker.account.clone(),
						amount,
					});
				}
			}
			let rest = T::Staking::slash(&checker.account, due, SlashReason::MissedDeadline, None);
			Self::deposit_event(Event::LapseSlashed {
				order: id,
				validator: checker.account.clone(),
				slashed: compensated.saturating_add(rest),
				compensated,
			});
		}
	}
}

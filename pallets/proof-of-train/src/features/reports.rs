//! Validators, workers and referees commit and reveal their reports; workers post checkpoints
//! validators could not fetch.

use crate::*;
use alloc::vec::Vec;
use codec::Encode;
use decenter_primitives::{
	proof::{checkpoint_hash_of_bytes, seal},
	validation::Claim,
};

impl<T: Config> Pallet<T> {
	/// The part `who` plays in the reports of `round`, if any.
	pub(crate) fn reporter_of(round: &RoundOf<T>, who: &T::AccountId) -> Option<Reporter> {
		if let Some(i) = round.validators.iter().position(|v| v.account == *who) {
			return Some(Reporter::Validator(i as u32));
		}
		if let Some(i) = round.referees.iter().position(|r| r.account == *who) {
			return Some(Reporter::Referee(i as u32));
		}
		Self::worker_slot(round, who).map(|slot| Reporter::Worker(slot as u32))
	}

	/// The tasks `who` reports on, with their indices: for the runtime API.
	pub fn tasks_for(id: OrderId, who: &T::AccountId) -> Vec<(u32, SegmentCheck)> {
		let Some(round) = Rounds::<T>::get(id) else { return Vec::new() };
		let Some(party) = Self::reporter_of(&round, who) else { return Vec::new() };
		Self::tasks_of(&round, party)
			.into_iter()
			.filter_map(|i| round.tasks.get(i).map(|task| (i as u32, *task)))
			.collect()
	}

	/// Whether `party` is faulted (or, for a worker, never revealed a proof).
	fn out_of_round(round: &RoundOf<T>, party: Reporter) -> bool {
		let unrevealed = match party {
			Reporter::Worker(i) => {
				round.workers.get(i as usize).map_or(true, |w| w.commitment.is_none())
			},
			Reporter::Validator(_) | Reporter::Referee(_) => false,
		};
		unrevealed || round.party(party).map_or(true, |(_, fault)| fault.is_some())
	}

	/// Indices (into `round.tasks`) of the tasks `party` reports on, in report order. A referee
	/// reports once per disputed segment: on the first task of each disputed (worker, segment).
	pub(crate) fn tasks_of(round: &RoundOf<T>, party: Reporter) -> Vec<usize> {
		let tasks = round.tasks.iter().enumerate();
		match party {
			Reporter::Worker(slot) => {
				tasks.filter(|(_, t)| t.worker == slot).map(|(i, _)| i).collect()
			},
			Reporter::Validator(v) => {
				tasks.filter(|(_, t)| t.checker == v).map(|(i, _)| i).collect()
			},
			Reporter::Referee(_) => Self::disputed_segments(round),
		}
	}

	/// The first task of each disputed (worker, segment), in task order.
	pub(crate) fn disputed_segments(round: &RoundOf<T>) -> Vec<usize> {
		round
			.tasks
			.iter()
			.enumerate()
			.filter(|(i, task)| {
				task.status != TaskStatus::Open && Self::first_of_its_segment(round, *i, task)
			})
			.map(|(i, _)| i)
			.collect()
	}

	/// Whether `task`, at `index` in `round`'s tasks, is the first of its (worker, segment).
	pub(crate) fn first_of_its_segment(
		round: &RoundOf<T>,
		index: usize,
		task: &SegmentCheck,
	) -> bool {
		!round.tasks.iter().take(index).any(|earlier| Self::same_segment(earlier, task))
	}

	pub(crate) fn same_segment(a: &SegmentCheck, b: &SegmentCheck) -> bool {
		a.worker == b.worker && a.segment == b.segment
	}

	/// The phase window in which `party` commits (`revealing = false`) or reveals.
	fn report_window(
		round: &RoundOf<T>,
		party: Reporter,
		revealing: bool,
	) -> Option<BlockNumberFor<T>> {
		match (round.phase, party, revealing) {
			(Phase::Reporting { until }, Reporter::Worker(_) | Reporter::Validator(_), false)
			| (
				Phase::RevealingReports { until },
				Reporter::Worker(_) | Reporter::Validator(_),
				true,
			)
			| (Phase::Refereeing { until }, Reporter::Referee(_), false)
			| (Phase::RevealingVerdicts { until }, Reporter::Referee(_), true) => Some(until),
			_ => None,
		}
	}

	pub(crate) fn do_commit_report(
		who: T::AccountId,
		id: OrderId,
		sealed: Hash256,
	) -> DispatchResult {
		let round = Self::current_round(id)?;
		let party = Self::reporter_of(&round, &who).ok_or(Error::<T>::NotAReporter)?;
		let until = Self::report_window(&round, party, false).ok_or(Error::<T>::WrongPhase)?;
		ensure!(frame_system::Pallet::<T>::block_number() <= until, Error::<T>::WrongPhase);
		ensure!(!Self::out_of_round(&round, party), Error::<T>::Faulted);
		ensure!(!Reports::<T>::contains_key(id, &who), Error::<T>::AlreadyCommitted);
		Reports::<T>::insert(id, &who, SealedReport { seal: sealed, report: None });
		Self::deposit_event(Event::ReportCommitted { order: id, reporter: who });
		Self::progress(id, round)
	}

	pub(crate) fn do_reveal_report(
		who: T::AccountId,
		id: OrderId,
		report: Report,
		salt: Hash256,
	) -> DispatchResult {
		let round = Self::current_round(id)?;
		let party = Self::reporter_of(&round, &who).ok_or(Error::<T>::NotAReporter)?;
		let until = Self::report_window(&round, party, true).ok_or(Error::<T>::WrongPhase)?;
		ensure!(frame_system::Pallet::<T>::block_number() <= until, Error::<T>::WrongPhase);
		ensure!(!Self::out_of_round(&round, party), Error::<T>::Faulted);
		let mut entry = Reports::<T>::get(id, &who).ok_or(Error::<T>::NotCommitted)?;
		ensure!(entry.report.is_none(), Error::<T>::AlreadyRevealed);
		ensure!(seal(&report.hash(), &salt, &who.encode()) == entry.seal, Error::<T>::SealMismatch);

		let tasks = Self::tasks_of(&round, party);
		ensure!(report.claims.len() == tasks.len(), Error::<T>::WrongClaimCount);
		let metrics = match party {
			Reporter::Validator(_) => round.workers.len(),
			_ => 0,
		};
		ensure!(report.metrics.len() == metrics, Error::<T>::WrongMetricsCount);
		if let Reporter::Worker(slot) = party {
			// A worker's end hash is its own published checkpoint; it re-executes only to give
			// the probes.
			let checkpoints = CheckpointHashes::<T>::get(id, slot).unwrap_or_default();
			for (claim, index) in report.claims.iter().zip(&tasks) {
				let expected = round
					.tasks
					.get(*index)
					.and_then(|task| checkpoints.get((task.segment as usize).saturating_add(1)));
				match (claim, expected) {
					(Claim::Computed { end, .. }, Some(expected)) if end == expected => {},
					_ => return Err(Error::<T>::InconsistentClaim.into()),
				}
			}
		}
		entry.report = Some(report);
		Reports::<T>::insert(id, &who, entry);
		Self::deposit_event(Event::ReportRevealed { order: id, reporter: who });
		Self::progress(id, round)
	}

	pub(crate) fn do_post_checkpoint(
		who: T::AccountId,
		id: OrderId,
		index: u32,
		state: BoundedVec<u8, T::MaxCheckpointBytes>,
	) -> DispatchResult {
		let mut round = Self::current_round(id)?;
		let now = frame_system::Pallet::<T>::block_number();
		match round.phase {
			Phase::Refereeing { until } if now <= until => {},
			_ => return Err(Error::<T>::WrongPhase.into()),
		}
		let slot = Self::worker_slot(&round, &who).ok_or(Error::<T>::NotAWorker)? as u32;
		ensure!(
			round.tasks.iter().any(|task| task.worker == slot
				&& task.segment == index
				&& task.status == TaskStatus::Withheld),
			Error::<T>::NotWithheld
		);
		let committed = CheckpointHashes::<T>::get(id, slot)
			.and_then(|hashes| hashes.get(index as usize).copied())
			.ok_or(Error::<T>::NotWithheld)?;
		ensure!(
			checkpoint_hash_of_bytes(&state) == Some(committed),
			Error::<T>::CheckpointMismatch
		);
		for task in round.tasks.iter_mut().filter(|t| t.worker == slot && t.segment == index) {
			task.status = TaskStatus::Posted;
		}
		Self::deposit_event(Event::CheckpointPosted { order: id, worker: who, index });
		Self::progress(id, round)
	}

	/// The revealed claims of every reporter of the round, by task index.
	pub(crate) fn claims(id: OrderId, round: &RoundOf<T>) -> ClaimTable {
		let mut table = ClaimTable::default();
		let parties = (0..round.workers.len() as u32)
			.map(Reporter::Worker)
			.chain((0..round.validators.len() as u32).map(Reporter::Validator))
			.chain((0..round.referees.len() as u32).map(Reporter::Referee));
		for party in parties {
			let Some(report) = round
				.party(party)
				.and_then(|(account, _)| Reports::<T>::get(id, account))
				.and_then(|e| e.report)
			else {
				continue;
			};
			for (index, claim) in Self::tasks_of(round, party).into_iter().zip(report.claims.iter())
			{
				table.entries.push((party, index, *claim));
			}
			if let Reporter::Validator(i) = party {
				table.metrics.push((i, report.metrics.into_inner()));
			}
		}
		table
	}
}

/// Every revealed claim, as (reporter, task index, claim), and every validator's metrics.
#[derive(Default)]
pub(crate) struct ClaimTable {
	pub entries: Vec<(Reporter, usize, Claim)>,
	pub metrics: Vec<(u32, Vec<decenter_primitives::validation::Metrics>)>,
}

impl ClaimTable {
	/// What `party` claimed on task `index`.
	pub fn claim(&self, party: Reporter, index: usize) -> Option<Claim> {
		self.entries.iter().find(|(p, i, _)| *p == party && *i == index).map(|(_, _, claim)| *claim)
	}
}

//! Moving a round from phase to phase: when everyone acted, or when a window passed (then
//! whoever did not act is faulted).

use crate::*;
use pallet_compute_staking::SlashReason;
use pallet_training_orders::OrderStatus;
use sp_runtime::traits::Saturating;

/// What one step of [`Pallet::step`] did.
pub(crate) enum Step {
	/// The phase cannot end yet.
	Wait,
	/// The round moved to another phase.
	Moved,
	/// The round is over and its storage gone.
	Finished,
}

impl<T: Config> Pallet<T> {
	pub(crate) fn do_advance(id: OrderId) -> DispatchResult {
		let stored = Rounds::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?.phase;
		let round = Self::current_round(id)?;
		if T::Orders::status(id).map_or(true, OrderStatus::is_final) {
			Self::abandon(id, &round);
			return Ok(());
		}
		let synced = round.phase != stored;
		let now = frame_system::Pallet::<T>::block_number();
		let moved = Self::progress_at(id, round, now)?;
		ensure!(moved || synced, Error::<T>::TooEarly);
		Ok(())
	}

	/// Moves the round as far as it goes now and stores it (or removes it when settled); drops
	/// it if the order ended elsewhere.
	pub(crate) fn progress(id: OrderId, round: RoundOf<T>) -> DispatchResult {
		if T::Orders::status(id).map_or(true, OrderStatus::is_final) {
			Self::abandon(id, &round);
			return Ok(());
		}
		let now = frame_system::Pallet::<T>::block_number();
		Self::progress_at(id, round, now).map(|_| ())
	}

	/// As [`Self::progress`]; `Ok(true)` when the phase changed.
	pub(crate) fn progress_at(
		id: OrderId,
		mut round: RoundOf<T>,
		now: BlockNumberFor<T>,
	) -> Result<bool, DispatchError> {
		let mut moved = false;
		loop {
			match Self::step(id, &mut round, now)? {
				Step::Wait => break,
				Step::Moved => moved = true,
				Step::Finished => return Ok(true),
			}
		}
		Rounds::<T>::insert(id, round);
		Ok(moved)
	}

	pub(crate) fn open_reveals(id: OrderId, round: &mut RoundOf<T>) {
		for worker in round.workers.iter_mut().filter(|worker| worker.seal.is_none()) {
			// The orders pallet slashed it at the training deadline already.
			worker.fault = Some(Fault::Undelivered);
		}
		let until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::RevealWindow::get());
		round.phase = Phase::Revealing { until };
		Self::deposit_event(Event::RevealOpened { order: id, until });
	}

	fn step(
		id: OrderId,
		round: &mut RoundOf<T>,
		now: BlockNumberFor<T>,
	) -> Result<Step, DispatchError> {
		let passed = |until: BlockNumberFor<T>| now > until;
		match round.phase {
			Phase::Committing => {
				if T::Orders::status(id) != Some(OrderStatus::Proving) {
					return Ok(Step::Wait);
				}
				Self::open_reveals(id, round);
			},
			Phase::Revealing { until } => {
				let pending = |w: &WorkerProof<T::AccountId>| {
					w.fault.is_none() && w.seal.is_some() && w.commitment.is_none()
				};
				if !passed(until) && round.workers.iter().any(pending) {
					return Ok(Step::Wait);
				}
				for slot in 0..round.workers.len() {
					if round.workers.get(slot).is_some_and(pending) {
						Self::fault(
							id,
							round,
							Reporter::Worker(slot as u32),
							Fault::Unrevealed,
							SlashReason::InvalidReveal,
							None,
						);
					}
				}
				if round.workers.iter().all(|w| w.commitment.is_none() || w.fault.is_some()) {
					Self::settle(id, round)?;
					return Ok(Step::Finished);
				}
				round.phase = Phase::AwaitingValidators;
				Self::queue_draw(id)?;
			},
			Phase::AwaitingValidators | Phase::AwaitingReferees => return Ok(Step::Wait),
			Phase::Reporting { until } => {
				let missing = Self::reporters(round, false)
					.into_iter()
					.filter(|(_, account)| !Reports::<T>::contains_key(id, account))
					.collect::<alloc::vec::Vec<_>>();
				if !passed(until) && !missing.is_empty() {
					return Ok(Step::Wait);
				}
				for (reporter, _) in missing {
					Self::fault(
						id,
						round,
						reporter,
						Fault::Unreported,
						SlashReason::MissedDeadline,
						None,
					);
				}
				let until = now.saturating_add(T::ReportWindow::get());
				round.phase = Phase::RevealingReports { until };
				Self::deposit_event(Event::ReportRevealOpened { order: id, until });
			},
			Phase::RevealingReports { until } => {
				if !passed(until) && Self::unrevealed(id, round, false).next().is_some() {
					return Ok(Step::Wait);
				}
				for reporter in Self::unrevealed(id, round, false).collect::<alloc::vec::Vec<_>>() {
					Self::fault(
						id,
						round,
						reporter,
						Fault::Unreported,
						SlashReason::MissedDeadline,
						None,
					);
				}
				if Self::open_disputes(id, round) {
					round.phase = Phase::AwaitingReferees;
					Self::queue_draw(id)?;
				} else {
					Self::settle(id, round)?;
					return Ok(Step::Finished);
				}
			},
			Phase::Refereeing { until } => {
				let missing = Self::reporters(round, true)
					.into_iter()
					.filter(|(_, account)| !Reports::<T>::contains_key(id, account))
					.collect::<alloc::vec::Vec<_>>();
				let withheld = round.tasks.iter().any(|task| task.status == TaskStatus::Withheld);
				if !passed(until) && (!missing.is_empty() || withheld) {
					return Ok(Step::Wait);
				}
				for (reporter, _) in missing {
					Self::fault(
						id,
						round,
						reporter,
						Fault::Unreported,
						SlashReason::MissedDeadline,
						None,
					);
				}
				Self::fault_withheld(id, round);
				let until = now.saturating_add(T::DisputeWindow::get());
				round.phase = Phase::RevealingVerdicts { until };
				Self::deposit_event(Event::ReportRevealOpened { order: id, until });
			},
			Phase::RevealingVerdicts { until } => {
				if !passed(until) && Self::unrevealed(id, round, true).next().is_some() {
					return Ok(Step::Wait);
				}
				for reporter in Self::unrevealed(id, round, true).collect::<alloc::vec::Vec<_>>() {
					Self::fault(
						id,
						round,
						reporter,
						Fault::Unreported,
						SlashReason::MissedDeadline,
						None,
					);
				}
				Self::settle(id, round)?;
				return Ok(Step::Finished);
			},
		}
		Ok(Step::Moved)
	}

	/// Those with a report due: validators and revealed workers, or the referees.
	pub(crate) fn reporters(
		round: &RoundOf<T>,
		referees: bool,
	) -> alloc::vec::Vec<(Reporter, T::AccountId)> {
		if referees {
			return round
				.referees
				.iter()
				.enumerate()
				.filter(|(_, checker)| checker.fault.is_none())
				.map(|(i, checker)| (Reporter::Referee(i as u32), checker.account.clone()))
				.collect();
		}
		let validators = round
			.validators
			.iter()
			.enumerate()
			.filter(|(_, checker)| checker.fault.is_none())
			.map(|(i, checker)| (Reporter::Validator(i as u32), checker.account.clone()));
		let workers = round
			.workers
			.iter()
			.enumerate()
			.filter(|(_, worker)| worker.fault.is_none() && worker.commitment.is_some())
			.map(|(slot, worker)| (Reporter::Worker(slot as u32), worker.account.clone()));
		validators.chain(workers).collect()
	}

	/// Reporters still in the round whose committed report is not revealed.
	fn unrevealed<'a>(
		id: OrderId,
		round: &'a RoundOf<T>,
		referees: bool,
	) -> impl Iterator<Item = Reporter> + 'a {
		Self::reporters(round, referees).into_iter().filter_map(move |(reporter, account)| {
			match Reports::<T>::get(id, &account) {
				Some(SealedReport { report: None, .. }) => Some(reporter),
				_ => None,
			}
		})
	}

	fn queue_draw(id: OrderId) -> DispatchResult {
		PendingDraws::<T>::try_mutate(|queue| {
			queue.try_push(id).map_err(|_| Error::<T>::TooManyPendingDraws.into())
		})
	}

	/// Drops the round of an order that ended elsewhere (expired), releasing the validators.
	pub(crate) fn abandon(id: OrderId, round: &RoundOf<T>) {
		Self::release_checkers(round);
		Self::clear(id);
		Self::deposit_event(Event::Abandoned { order: id });
	}

	pub(crate) fn release_checkers(round: &RoundOf<T>) {
		for checker in round.validators.iter().chain(round.referees.iter()) {
			let _ = T::Staking::release_capacity(&checker.account, round.reserved);
		}
	}

	pub(crate) fn clear(id: OrderId) {
		Rounds::<T>::remove(id);
		let _ = CheckpointHashes::<T>::clear_prefix(id, T::MaxWorkers::get(), None);
		let reporters = T::MaxWorkers::get()
			.saturating_add(T::ValidatorsPerOrder::get())
			.saturating_add(T::RefereesPerDispute::get());
		let _ = Reports::<T>::clear_prefix(id, reporters, None);
		PendingDraws::<T>::mutate(|queue| queue.retain(|queued| *queued != id));
	}
}

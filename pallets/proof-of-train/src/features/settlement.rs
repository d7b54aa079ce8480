//! Finding disputes in the reports, deciding them by the referees' re-execution, and settling:
//! slashes, payout through the orders pallet, certificates.

use super::reports::ClaimTable;
use crate::*;
use alloc::{collections::BTreeSet, vec::Vec};
use decenter_primitives::{
	spec::Loss,
	validation::{Claim, Metrics},
};
use pallet_certificates::ModelRecord;
use pallet_compute_staking::SlashReason;

impl<T: Config> Pallet<T> {
	/// Marks every (worker, segment) whose checkers disagree with the worker as contested, or
	/// as withheld when a checker could not fetch its start; `true` if there is any.
	pub(crate) fn open_disputes(id: OrderId, round: &mut RoundOf<T>) -> bool {
		let table = Self::claims(id, round);
		let mut marks: Vec<(usize, TaskStatus)> = Vec::new();
		for (index, task) in round.tasks.iter().enumerate() {
			let worker_in = round
				.workers
				.get(task.worker as usize)
				.is_some_and(|w| w.fault.is_none() && w.commitment.is_some());
			let checker_in =
				round.validators.get(task.checker as usize).is_some_and(|v| v.fault.is_none());
			if !worker_in || !checker_in {
				continue;
			}
			let worker = table.claim(Reporter::Worker(task.worker), index);
			match table.claim(Reporter::Validator(task.checker), index) {
				Some(Claim::Unavailable) => marks.push((index, TaskStatus::Withheld)),
				Some(claim) if Some(claim) != worker => marks.push((index, TaskStatus::Contested)),
				_ => {},
			}
		}
		// The whole segment is in dispute, whoever checked it; withheld wins over contested
		// because the referees need the checkpoint first.
		for (index, status) in &marks {
			let Some(marked) = round.tasks.get(*index).copied() else { continue };
			for task in round.tasks.iter_mut().filter(|t| Self::same_segment(t, &marked)) {
				if task.status != TaskStatus::Withheld {
					task.status = *status;
				}
			}
		}
		let segments = Self::disputed_segments(round);
		if segments.is_empty() {
			return false;
		}
		let (withheld, contested): (Vec<u32>, Vec<u32>) =
			segments.iter().map(|i| *i as u32).partition(|i| {
				round.tasks.get(*i as usize).is_some_and(|t| t.status == TaskStatus::Withheld)
			});
		Self::deposit_event(Event::DisputeOpened { order: id, contested, withheld });
		true
	}

	/// The claim more than half of the drawn referees made on the disputed segment whose first
	/// task is `index`.
	fn verdict(round: &RoundOf<T>, table: &ClaimTable, index: usize) -> Option<Claim> {
		let votes: Vec<Claim> = (0..round.referees.len() as u32)
			.filter(|r| round.referees.get(*r as usize).is_some_and(|c| c.fault.is_none()))
			.filter_map(|r| table.claim(Reporter::Referee(r), index))
			.filter(|claim| matches!(claim, Claim::Computed { .. }))
			.collect();
		let majority = round.referees.len() / 2 + 1;
		votes
			.iter()
			.find(|candidate| votes.iter().filter(|vote| vote == candidate).count() >= majority)
			.copied()
	}

	/// Decides every disputed segment, faults whoever was wrong, pays out and certifies.
	pub(crate) fn settle(id: OrderId, round: &mut RoundOf<T>) -> DispatchResult {
		let table = Self::claims(id, round);
		let mut undecided: BTreeSet<u32> = BTreeSet::new();
		for first in Self::disputed_segments(round) {
			let Some(disputed) = round.tasks.get(first).copied() else { continue };
			if disputed.status == TaskStatus::Withheld {
				continue; // The worker was faulted for withholding.
			}
			let Some(truth) = Self::verdict(round, &table, first) else {
				undecided.insert(disputed.worker);
				continue;
			};
			let group: Vec<(usize, SegmentCheck)> = round
				.tasks
				.iter()
				.copied()
				.enumerate()
				.filter(|(_, t)| Self::same_segment(t, &disputed))
				.collect();
			let worker = Reporter::Worker(disputed.worker);
			let worker_right =
				group.iter().all(|(i, _)| table.claim(worker, *i).map_or(true, |c| c == truth));
			let right_checker = group
				.iter()
				.find(|(i, t)| table.claim(Reporter::Validator(t.checker), *i) == Some(truth))
				.and_then(|(_, t)| round.validators.get(t.checker as usize))
				.map(|v| v.account.clone());
			if !worker_right {
				Self::fault(
					id,
					round,
					worker,
					Fault::WrongResult,
					SlashReason::InvalidProof,
					right_checker.clone(),
				);
			}
			let worker_account =
				round.workers.get(disputed.worker as usize).map(|w| w.account.clone());
			for (i, task) in &group {
				let party = Reporter::Validator(task.checker);
				match table.claim(party, *i) {
					Some(claim @ Claim::Computed { .. }) if claim != truth => {
						// A false accuser pays the worker it accused; one that covered for a
						// cheat pays the validator that exposed it.
						let (reason, beneficiary) = if worker_right {
							(SlashReason::FalseAccusation, worker_account.clone())
						} else {
							(SlashReason::WrongReport, right_checker.clone())
						};
						Self::fault(id, round, party, Fault::WrongResult, reason, beneficiary);
					},
					_ => {},
				}
			}
			for r in 0..round.referees.len() as u32 {
				if let Some(claim @ Claim::Computed { .. }) =
					table.claim(Reporter::Referee(r), first)
				{
					if claim != truth {
						Self::fault(
							id,
							round,
							Reporter::Referee(r),
							Fault::WrongResult,
							SlashReason::WrongReport,
							None,
						);
					}
				}
			}
		}
		Self::pay_and_certify(id, round, &table, &undecided)
	}

	/// The validators that re-executed every task they had on the worker in `slot` (unfaulted,
	/// each claim a computed result), and how many unfaulted referees computed one of its
	/// disputed segments.
	fn honest_checks(round: &RoundOf<T>, table: &ClaimTable, slot: u32) -> (Vec<u32>, u32) {
		let validators = (0..round.validators.len() as u32)
			.filter(|v| round.validators.get(*v as usize).is_some_and(|c| c.fault.is_none()))
			.filter(|v| {
				let mut tasks = round
					.tasks
					.iter()
					.enumerate()
					.filter(|(_, t)| t.worker == slot && t.checker == *v)
					.peekable();
				tasks.peek().is_some()
					&& tasks.all(|(i, _)| {
						matches!(
							table.claim(Reporter::Validator(*v), i),
							Some(Claim::Computed { .. })
						)
					})
			})
			.collect();
		let disputed: Vec<usize> = Self::disputed_segments(round)
			.into_iter()
			.filter(|i| round.tasks.get(*i).is_some_and(|t| t.worker == slot))
			.collect();
		let referees = (0..round.referees.len() as u32)
			.filter(|r| round.referees.get(*r as usize).is_some_and(|c| c.fault.is_none()))
			.filter(|r| {
				disputed.iter().any(|i| {
					matches!(table.claim(Reporter::Referee(*r), *i), Some(Claim::Computed { .. }))
				})
			})
			.count() as u32;
		(validators, referees)
	}

	/// Whether `party` claimed `Unavailable` on a checkpoint that the worker then posted on
	/// chain: it did not re-execute that segment (the referees did), so it is not paid. Not a
	/// fault either, since the worker may really have withheld the checkpoint off chain.
	fn refuted_unavailable(round: &RoundOf<T>, table: &ClaimTable, party: Reporter) -> bool {
		let Reporter::Validator(checker) = party else { return false };
		round.tasks.iter().enumerate().any(|(i, task)| {
			task.checker == checker
				&& task.status == TaskStatus::Posted
				&& table.claim(party, i) == Some(Claim::Unavailable)
		})
	}

	fn pay_and_certify(
		id: OrderId,
		round: &mut RoundOf<T>,
		table: &ClaimTable,
		undecided: &BTreeSet<u32>,
	) -> DispatchResult {
		let mut accepted: Vec<u32> = Vec::new();
		// The validators that re-executed each accepted worker: they evaluate it.
		let mut evaluators: Vec<Vec<u32>> = Vec::new();
		for (slot, worker) in round.workers.iter().enumerate() {
			let slot = slot as u32;
			if worker.fault.is_some() || worker.commitment.is_none() || undecided.contains(&slot) {
				continue;
			}
			let (validators, referees) = Self::honest_checks(round, table, slot);
			let checks = (validators.len() as u32).saturating_add(referees);
			if checks < T::MinHonestChecks::get() {
				Self::deposit_event(Event::Unchecked {
					order: id,
					worker: worker.account.clone(),
					checks,
				});
				continue;
			}
			accepted.push(slot);
			evaluators.push(validators);
		}
		let paid: Vec<T::AccountId> = (0..round.validators.len() as u32)
			.map(Reporter::Validator)
			.chain((0..round.referees.len() as u32).map(Reporter::Referee))
			.filter_map(|party| {
				let (account, fault) = round.party(party)?;
				let reported =
					Reports::<T>::get(id, account).is_some_and(|entry| entry.report.is_some());
				let refuted = Self::refuted_unavailable(round, table, party);
				(fault.is_none() && reported && !refuted).then(|| account.clone())
			})
			.collect();
		let accounts = |slots: &[u32]| -> Vec<T::AccountId> {
			slots
				.iter()
				.filter_map(|slot| round.workers.get(*slot as usize).map(|w| w.account.clone()))
				.collect()
		};
		let accepted_accounts = accounts(&accepted);

		let winner = Self::winner(id, round, table, &accepted, &evaluators);
		if accepted.is_empty() {
			T::Orders::fail(id, &paid)?;
		} else {
			T::Orders::complete(id, &accepted_accounts, &paid)?;
		}
		let mut certificates = Vec::new();
		let mut model_hash = None;
		let mut winner_account = None;
		if let Some((slot, metrics)) = winner {
			if let (Some(worker), Some(client)) =
				(round.workers.get(slot as usize), T::Orders::client(id))
			{
				if let Some(commitment) = &worker.commitment {
					let record = ModelRecord {
						order: id,
						model_hash: commitment.final_model,
						pot_root: commitment.checkpoint_root,
						metrics,
					};
					model_hash = Some(commitment.final_model);
					winner_account = Some(worker.account.clone());
					match T::Certificates::issue(&record, &client, &accepted_accounts, &paid) {
						Ok(ids) => certificates = ids,
						Err(error) => {
							Self::deposit_event(Event::CertificatesFailed { order: id, error })
						},
					}
				}
			}
		}
		Self::release_checkers(round);
		Self::clear(id);
		Self::deposit_event(Event::Settled {
			order: id,
			accepted: accepted_accounts,
			paid_validators: paid,
			winner: winner_account,
			model_hash,
			certificates,
		});
		Ok(())
	}

	/// The accepted slot with the best median evaluation (accuracy, then loss, for
	/// classification; loss for regression), and that median. Ties go to the lower slot.
	/// `evaluators[i]` are the validators that re-executed `accepted[i]`.
	fn winner(
		id: OrderId,
		round: &RoundOf<T>,
		table: &ClaimTable,
		accepted: &[u32],
		evaluators: &[Vec<u32>],
	) -> Option<(u32, Metrics)> {
		let regression = T::Orders::spec(id)
			.is_some_and(|spec| spec.training.model.loss == Loss::MeanSquaredError);
		// The validators that re-executed the worker evaluate it; when the referees alone made
		// its quorum, every unfaulted validator's evaluation counts (each evaluated the model).
		let median = |slot: u32, checkers: &[u32]| -> Metrics {
			let evaluates = |validator: &u32| {
				if checkers.is_empty() {
					round.validators.get(*validator as usize).is_some_and(|v| v.fault.is_none())
				} else {
					checkers.contains(validator)
				}
			};
			let evaluations: Vec<Metrics> = table
				.metrics
				.iter()
				.filter(|(validator, _)| evaluates(validator))
				.filter_map(|(_, metrics)| metrics.get(slot as usize).copied())
				.collect();
			let middle = |mut values: Vec<u64>| -> u64 {
				values.sort_unstable();
				values.get(values.len() / 2).copied().unwrap_or_default()
			};
			Metrics {
				loss: middle(evaluations.iter().map(|m| m.loss).collect()),
				accuracy: middle(evaluations.iter().map(|m| u64::from(m.accuracy)).collect())
					as u32,
			}
		};
		let score = |metrics: &Metrics| -> (u64, u64) {
			let lower_loss = u64::MAX - metrics.loss;
			if regression {
				(lower_loss, 0)
			} else {
				(u64::from(metrics.accuracy), lower_loss)
			}
		};
		let checked = accepted.iter().zip(evaluators);
		checked.map(|(slot, checkers)| (*slot, median(*slot, checkers))).fold(
			None,
			|best, (slot, metrics)| match best {
				Some((_, ref kept)) if score(kept) >= score(&metrics) => best,
				_ => Some((slot, metrics)),
			},
		)
	}
}

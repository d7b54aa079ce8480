//! Drawing validators (with their segments) and referees, in `on_initialize` of the block
//! after the phase that calls for them ended.
//!
//! Seed: `BLAKE2b-256("decenter/pot/draw" ‖ entropy ‖ parent hash ‖ order ‖ kind)`, where the
//! entropy chains every revealed salt. No worker knew the salts of the others nor the parent
//! hash when it committed, so none could train only the segments that would be checked.

use crate::*;
use alloc::vec::Vec;
use codec::Encode;
use decenter_primitives::{
	order::{OrderSpec, Workload},
	spec::TrainingSpec,
};
use pallet_compute_staking::Role;
use pallet_training_orders::OrderStatus;
use sp_runtime::traits::Saturating;

impl<T: Config> Pallet<T> {
	pub(crate) fn run_draws(now: BlockNumberFor<T>) -> Weight {
		let mut queue = PendingDraws::<T>::get();
		if queue.is_empty() {
			return T::DbWeight::get().reads(1);
		}
		let count = queue.len().min(T::MaxDrawsPerBlock::get() as usize);
		let batch: Vec<OrderId> = queue.drain(..count).collect();
		let mut retry = Vec::new();
		for id in &batch {
			// An order with no eligible validator waits for one (or for its deadline).
			if !Self::draw(*id, now) {
				retry.push(*id);
			}
		}
		for id in retry {
			// Room is certain: these came out of the queue in this block.
			let _ = queue.try_push(id);
		}
		PendingDraws::<T>::put(queue);
		let most = T::ValidatorsPerOrder::get().max(T::RefereesPerDispute::get());
		T::DbWeight::get().reads_writes(1, 1).saturating_add(
			T::Staking::select_weight(most)
				.saturating_add(T::WeightInfo::draw(T::MaxWorkers::get()))
				.saturating_mul(count as u64),
		)
	}

	/// Draws for `id`; `false` when nobody was eligible and the draw must be retried.
	fn draw(id: OrderId, now: BlockNumberFor<T>) -> bool {
		let Some(mut round) = Rounds::<T>::get(id) else { return true };
		let status = T::Orders::status(id);
		if status.map_or(true, OrderStatus::is_final) {
			Self::abandon(id, &round);
			return true;
		}
		let referees = match round.phase {
			Phase::AwaitingValidators => false,
			Phase::AwaitingReferees => true,
			_ => return true,
		};
		let Some(client) = T::Orders::client(id) else { return true };
		let mut exclude = Vec::from([client]);
		exclude.extend(round.workers.iter().map(|w| w.account.clone()));
		exclude.extend(round.validators.iter().map(|v| v.account.clone()));
		let parent = frame_system::Pallet::<T>::parent_hash();
		let kind: &[u8] = if referees { b"referees" } else { b"validators" };
		let seed = sp_io::hashing::blake2_256(
			&(b"decenter/pot/draw", round.entropy, parent, id, kind).encode(),
		);
		let count =
			if referees { T::RefereesPerDispute::get() } else { T::ValidatorsPerOrder::get() };
		// Every checker of a round reserves the same capacity, the rate its window assumes.
		let capacity = match round.reserved {
			0 => CheckCapacity::<T>::get(),
			reserved => reserved,
		};
		let drawn: Vec<T::AccountId> =
			T::Staking::select(Role::Validator, count, seed, &exclude, capacity)
				.into_iter()
				.filter(|account| T::Staking::lock_capacity(account, capacity).is_ok())
				.collect();
		// Validators: no fewer than the quorum needs, or no worker could be accepted; wait for
		// more to become eligible (or for the order's deadline). Referees: any.
		let enough = if referees { 1 } else { T::MinHonestChecks::get().max(1) };
		if (drawn.len() as u32) < enough {
			for account in &drawn {
				let _ = T::Staking::release_capacity(account, capacity);
			}
			return false;
		}
		let checkers = drawn
			.iter()
			.map(|account| Checker { account: account.clone(), fault: None })
			.collect::<Vec<_>>();
		// The round as it was before the draw: on failure the new checkers are released here
		// and the earlier ones by `abandon`, each exactly once.
		let before = round.clone();
		round.reserved = capacity;
		let result = frame_support::storage::with_storage_layer(|| {
			if referees {
				Self::start_refereeing(id, &mut round, checkers, &drawn, now)
			} else {
				Self::start_reporting(id, &mut round, checkers, &drawn, seed, now)
			}
		});
		match result {
			Ok(()) => Rounds::<T>::insert(id, round),
			Err(_) => {
				for account in &drawn {
					let _ = T::Staking::release_capacity(account, capacity);
				}
				Self::abandon(id, &before);
			},
		}
		true
	}

	fn start_reporting(
		id: OrderId,
		round: &mut RoundOf<T>,
		checkers: Vec<Checker<T::AccountId>>,
		drawn: &[T::AccountId],
		seed: Hash256,
		now: BlockNumberFor<T>,
	) -> DispatchResult {
		let spec = T::Orders::spec(id).ok_or(Error::<T>::UnknownOrder)?;
		round.validators = BoundedVec::truncate_from(checkers);
		let divergences = Self::divergences(id, round, &spec);
		let checkers = round.validators.len() as u32;
		let mut tasks = Vec::new();
		for checker in 0..checkers {
			for (slot, worker) in round.workers.iter().enumerate() {
				let (Some(commitment), None) = (&worker.commitment, worker.fault) else { continue };
				let Some(training) = spec.variant(slot as u32) else { continue };
				let mut picked = sample_segments(
					&(seed, checker, slot as u32),
					commitment.checkpoints,
					Self::samples_of(checker, checkers),
				);
				// Where this replica first differs from another, one of the two is wrong: every
				// checker re-executes that segment of it, in place of a sampled segment dropped
				// at random (the rest stay a uniform sample; `MaxTasks` still holds). Segment 0
				// is re-executed from the order's own initialization, not the worker's `c_0`:
				// one checker per worker, drawn, also takes it, after the divergences, so a run
				// trained from another initialization ends elsewhere than it claims.
				let mut forced = divergences.get(slot).cloned().unwrap_or_default();
				if checker == uniform(&(seed, slot as u32, b"initialization"), 0, checkers)
					&& !forced.contains(&0)
				{
					forced.push(0);
				}
				for (turn, segment) in forced.iter().enumerate() {
					if *segment >= commitment.checkpoints || picked.contains(segment) {
						continue;
					}
					let droppable: Vec<usize> =
						(0..picked.len()).filter(|i| !forced.contains(&picked[*i])).collect();
					let pick = (seed, checker, slot as u32, turn as u32);
					let Some(drop) =
						droppable.get(uniform(&pick, 0, droppable.len() as u32) as usize)
					else {
						break;
					};
					picked.remove(*drop);
					picked.push(*segment);
				}
				picked.sort_unstable();
				for segment in picked {
					tasks.push(SegmentCheck {
						worker: slot as u32,
						segment,
						probe_step: probe_step(&training, &(seed, slot as u32, segment), segment),
						checker,
						status: TaskStatus::Open,
					});
				}
			}
		}
		round.tasks = BoundedVec::try_from(tasks).map_err(|_| Error::<T>::UnknownOrder)?;
		T::Orders::begin_validation(id, drawn.to_vec())?;
		let capacity = T::Orders::capacity(id).ok_or(Error::<T>::UnknownOrder)?;
		let until = now.saturating_add(Self::reporting_window(round, &spec, capacity));
		round.phase = Phase::Reporting { until };
		Self::deposit_event(Event::ValidatorsDrawn {
			order: id,
			validators: drawn.to_vec(),
			tasks: round.tasks.len() as u32,
			until,
		});
		Ok(())
	}

	/// Segments of every worker that checker `checker` of the `checkers` drawn samples. A
	/// worker gets `V × S` samples however many validators were drawn: fewer than `V` share
	/// them (the first take one more when they do not divide evenly), so that a short draw
	/// never lowers the detection odds.
	pub(crate) fn samples_of(checker: u32, checkers: u32) -> u32 {
		let total = T::ValidatorsPerOrder::get().saturating_mul(T::SegmentsPerValidator::get());
		let checkers = checkers.max(1);
		let extra = total.checked_rem(checkers).is_some_and(|left| checker < left);
		total.checked_div(checkers).unwrap_or(total).saturating_add(u32::from(extra))
	}

	/// For replicas (one spec trained by several workers, so runs equal bit for bit), per
	/// worker slot and ascending: for every other revealed, unfaulted replica it differs from,
	/// the segment ending at the first checkpoint where the two differ (segment 0 when their
	/// initial checkpoints differ). Empty for a replica that agrees with all the others, for
	/// the others, and for sweeps.
	pub(crate) fn divergences(id: OrderId, round: &RoundOf<T>, spec: &OrderSpec) -> Vec<Vec<u32>> {
		let slots = round.workers.len();
		if !matches!(spec.workload, Workload::Replicas(_)) {
			return alloc::vec![Vec::new(); slots];
		}
		let runs: Vec<Option<CheckpointList>> = (0..slots as u32)
			.map(|slot| {
				let revealed = round
					.workers
					.get(slot as usize)
					.is_some_and(|w| w.fault.is_none() && w.commitment.is_some());
				revealed.then(|| CheckpointHashes::<T>::get(id, slot)).flatten()
			})
			.collect();
		runs.iter()
			.map(|run| {
				let Some(run) = run else { return Vec::new() };
				let mut segments: Vec<u32> = runs
					.iter()
					.flatten()
					.filter_map(|other| {
						let longest = run.len().max(other.len());
						(0..longest).find(|i| run.get(*i) != other.get(*i))
					})
					.map(|index| (index as u32).saturating_sub(1))
					.collect();
				segments.sort_unstable();
				segments.dedup();
				segments
			})
			.collect()
	}

	fn start_refereeing(
		id: OrderId,
		round: &mut RoundOf<T>,
		checkers: Vec<Checker<T::AccountId>>,
		drawn: &[T::AccountId],
		now: BlockNumberFor<T>,
	) -> DispatchResult {
		round.referees = BoundedVec::truncate_from(checkers);
		T::Orders::add_validators(id, drawn.to_vec())?;
		let spec = T::Orders::spec(id).ok_or(Error::<T>::UnknownOrder)?;
		let until = now.saturating_add(Self::refereeing_window(round, &spec));
		round.phase = Phase::Refereeing { until };
		Self::deposit_event(Event::RefereesDrawn { order: id, referees: drawn.to_vec(), until });
		Ok(())
	}
}

/// A uniform number below `bound` (> 0) from `BLAKE2b-256(seed ‖ counter)`; the modulo bias of
/// a 64-bit draw below 2³² is under 2⁻³², far below what could steer a check.
fn uniform(seed: &impl Encode, counter: u32, bound: u32) -> u32 {
	let hash = sp_io::hashing::blake2_256(&(seed, counter).encode());
	let mut head = [0u8; 8];
	head.copy_from_slice(&hash[..8]);
	(u64::from_le_bytes(head) % u64::from(bound.max(1))) as u32
}

/// `count` distinct segments of `0..segments`, ascending (all of them when there are fewer).
pub(crate) fn sample_segments(seed: &impl Encode, segments: u32, count: u32) -> Vec<u32> {
	if count >= segments {
		return (0..segments).collect();
	}
	let mut picked = Vec::with_capacity(count as usize);
	let mut counter = 0u32;
	// Each draw hits a new segment with probability ≥ 1 − count/segments; the bound on
	// attempts only matters for pathological seeds, which then take the lowest free segments.
	while (picked.len() as u32) < count && counter < count.saturating_mul(64) {
		let segment = uniform(seed, counter, segments);
		if !picked.contains(&segment) {
			picked.push(segment);
		}
		counter = counter.saturating_add(1);
	}
	let mut next = 0;
	while (picked.len() as u32) < count && next < segments {
		if !picked.contains(&next) {
			picked.push(next);
		}
		next += 1;
	}
	picked.sort_unstable();
	picked
}

/// The probe step of `segment`: strictly inside it when it spans two steps or more (a state
/// nobody published), else its last step.
pub(crate) fn probe_step(spec: &TrainingSpec, seed: &impl Encode, segment: u32) -> u32 {
	let start = spec.checkpoint_step(segment);
	let end = spec.checkpoint_step(segment.saturating_add(1));
	let width = end.saturating_sub(start);
	if width < 2 {
		return end;
	}
	start.saturating_add(1).saturating_add(uniform(seed, 0, width - 1))
}

//! Report and dispute windows that follow from the work due in them. A validator re-executes
//! its sampled segments of every worker and evaluates every worker's model; a worker
//! re-executes each of its sampled segments to the probe step; a referee re-executes every
//! disputed segment. A checker is drawn only with `CheckCapacity` GFLOP/s free and reserves
//! that much while assigned; a worker is timed at the capacity its order asked for. Each
//! commit window leaves `CheckSlack` times the compute time at those rates, and the fetch time
//! at `CheckerBandwidth`, on top of `ReportWindow` or `DisputeWindow` for getting the
//! commitment included. The orders pallet adds the worst case of an order's spec to its
//! shortest validation window, so that no order expires while its checkers are still inside
//! their windows.

use crate::*;
use decenter_primitives::{order::OrderSpec, spec::blocks_for};
use sp_runtime::{traits::Saturating, SaturatedConversion};

/// A billion flops: capacities are in GFLOP/s.
const GIGA: u128 = 1_000_000_000;

/// What one checker must do: flops to compute and bytes to fetch.
#[derive(Clone, Copy, Default)]
struct Work {
	flops: u128,
	bytes: u128,
}

impl Work {
	/// More than any window can hold: what a spec whose cost overflows would take.
	const UNBOUNDED: Work = Work { flops: u128::MAX, bytes: u128::MAX };

	fn and(self, other: Work) -> Work {
		Work {
			flops: self.flops.saturating_add(other.flops),
			bytes: self.bytes.saturating_add(other.bytes),
		}
	}

	fn times(self, count: u32) -> Work {
		Work {
			flops: self.flops.saturating_mul(count.into()),
			bytes: self.bytes.saturating_mul(count.into()),
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Blocks `work` takes a checker that reserved `capacity` GFLOP/s: `CheckSlack` times the
	/// compute time, and the fetch time.
	fn work_blocks(work: Work, capacity: ComputeUnits) -> u128 {
		let block_ms = T::ExpectedBlockTime::get();
		let flops = work.flops.saturating_mul(T::CheckSlack::get().into());
		let compute = blocks_for(flops, u128::from(capacity).saturating_mul(GIGA), block_ms);
		let fetch = blocks_for(work.bytes, T::CheckerBandwidth::get().into(), block_ms);
		compute.saturating_add(fetch)
	}

	/// What a checker fetches before any segment: the training data and uploaded weights
	/// (segment 0 starts from them), and for a validator the validation set.
	fn inputs(spec: &OrderSpec, validator: bool) -> Work {
		let validation = if validator { spec.validation.artifact.size } else { 0 };
		Work { flops: 0, bytes: u128::from(spec.input_bytes()).saturating_add(validation.into()) }
	}

	/// Re-executing segment `segment` of worker `slot` from a fetched checkpoint.
	fn segment_work(spec: &OrderSpec, slot: u32, segment: u32) -> Work {
		spec.variant(slot)
			.and_then(|training| {
				let flops = training.segment_flops(segment)?;
				Some(Work { flops, bytes: training.trained_work_bytes().into() })
			})
			.unwrap_or(Work::UNBOUNDED)
	}

	/// A worker's own claim on `task`: re-executing from its own checkpoint to the probe step.
	fn probe_work(spec: &OrderSpec, task: &SegmentCheck) -> Work {
		spec.variant(task.worker)
			.and_then(|training| {
				let steps = task.probe_step.saturating_sub(training.checkpoint_step(task.segment));
				let flops = training.step_flops()?.checked_mul(steps.into())?;
				Some(Work { flops, bytes: 0 })
			})
			.unwrap_or(Work::UNBOUNDED)
	}

	/// Fetching worker `slot`'s model and running the validation set through it.
	fn evaluation_work(spec: &OrderSpec, slot: u32) -> Work {
		spec.variant(slot)
			.and_then(|training| {
				let flops = training.evaluation_flops(spec.validation.records)?;
				Some(Work { flops, bytes: training.trained_work_bytes().into() })
			})
			.unwrap_or(Work::UNBOUNDED)
	}

	/// The report-commit window of `round`, whose validators were just drawn with their
	/// tasks: `ReportWindow` and the work of the busiest validator (at the capacity it
	/// reserved) or worker (at `capacity`, its order's), whichever takes longer.
	pub(crate) fn reporting_window(
		round: &RoundOf<T>,
		spec: &OrderSpec,
		capacity: ComputeUnits,
	) -> BlockNumberFor<T> {
		let evaluations = (0..round.workers.len() as u32)
			.filter(|slot| {
				round
					.workers
					.get(*slot as usize)
					.is_some_and(|w| w.fault.is_none() && w.commitment.is_some())
			})
			.fold(Self::inputs(spec, true), |work, slot| {
				work.and(Self::evaluation_work(spec, slot))
			});
		let busiest = (0..round.validators.len() as u32)
			.map(|checker| {
				let work = round
					.tasks
					.iter()
					.filter(|task| task.checker == checker)
					.fold(evaluations, |work, task| {
						work.and(Self::segment_work(spec, task.worker, task.segment))
					});
				Self::work_blocks(work, round.reserved)
			})
			.max()
			.unwrap_or(0);
		// A segment's probe step is the same for all its checkers: one re-execution each.
		let busiest_worker = (0..round.workers.len() as u32)
			.map(|slot| {
				let work = Self::distinct_segments(round, slot)
					.fold(Work::default(), |work, task| work.and(Self::probe_work(spec, task)));
				Self::work_blocks(work, capacity)
			})
			.max()
			.unwrap_or(0);
		T::ReportWindow::get().saturating_add(busiest.max(busiest_worker).saturated_into())
	}

	/// The distinct segments of worker `slot` in `round`'s tasks, one task each.
	fn distinct_segments(round: &RoundOf<T>, slot: u32) -> impl Iterator<Item = &SegmentCheck> {
		round.tasks.iter().enumerate().filter_map(move |(i, task)| {
			(task.worker == slot && Self::first_of_its_segment(round, i, task)).then_some(task)
		})
	}

	/// The referee-commit window of `round`, whose referees were just drawn: `DisputeWindow`
	/// and re-executing every disputed segment.
	pub(crate) fn refereeing_window(round: &RoundOf<T>, spec: &OrderSpec) -> BlockNumberFor<T> {
		let work = Self::disputed_segments(round)
			.into_iter()
			.filter_map(|index| round.tasks.get(index))
			.fold(Self::inputs(spec, false), |work, task| {
				work.and(Self::segment_work(spec, task.worker, task.segment))
			});
		let blocks = Self::work_blocks(work, round.reserved);
		T::DisputeWindow::get().saturating_add(blocks.saturated_into())
	}

	/// The most blocks the checkers' work on an order of `spec` trained at `capacity` can add
	/// to the game: the longer of a validator's longest segments of every worker (`S` of
	/// each, or more when only the quorum's `MinHonestChecks` validators were drawn) and every
	/// model, and a worker's re-execution to the probe of each of its sampled segments (`V × S`
	/// at most, a whole longest segment each); then the referees' re-execution of every
	/// segment a dispute can name (the same segments). `None` when the spec's cost overflows.
	pub fn worst_case_work_blocks(
		spec: &OrderSpec,
		capacity: ComputeUnits,
	) -> Option<BlockNumberFor<T>> {
		let samples = Self::samples_of(0, T::MinHonestChecks::get());
		// Every worker gets `V × S` samples however many validators share them.
		let disputable =
			T::ValidatorsPerOrder::get().saturating_mul(T::SegmentsPerValidator::get());
		let mut validator = Self::inputs(spec, true);
		let mut referee = Self::inputs(spec, false);
		let mut worker = 0u128;
		for slot in 0..spec.worker_count() {
			let training = spec.variant(slot)?;
			let segments = training.checkpoint_count();
			let longest = Work {
				flops: training.longest_segment_flops()?,
				bytes: training.trained_work_bytes().into(),
			};
			let evaluation = Work {
				flops: training.evaluation_flops(spec.validation.records)?,
				bytes: training.trained_work_bytes().into(),
			};
			validator = validator.and(longest.times(samples.min(segments))).and(evaluation);
			referee = referee.and(longest.times(disputable.min(segments)));
			// The worker re-executes each sampled segment once, to its probe.
			let probes = Work { flops: longest.flops, bytes: 0 }.times(disputable.min(segments));
			worker = worker.max(Self::work_blocks(probes, capacity));
		}
		let reserved = CheckCapacity::<T>::get();
		let reporting = Self::work_blocks(validator, reserved).max(worker);
		let blocks = reporting.saturating_add(Self::work_blocks(referee, reserved));
		Some(blocks.saturated_into())
	}
}

impl<T: Config> pallet_training_orders::ValidationWork<BlockNumberFor<T>> for Pallet<T> {
	fn validation_work_blocks(
		spec: &OrderSpec,
		capacity: ComputeUnits,
	) -> Option<BlockNumberFor<T>> {
		Self::worst_case_work_blocks(spec, capacity)
	}

	fn min_capacity() -> ComputeUnits {
		CheckCapacity::<T>::get()
	}
}

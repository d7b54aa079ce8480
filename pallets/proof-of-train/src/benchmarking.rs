//! Benchmarks of every call at its worst case, of drawing validators for one order, and of
//! settling a fully disputed order (faults, payout, certificates).
//!
//! The setup drives real orders through the orders and staking pallets, so the runtime under
//! benchmark must use them as `Orders` and `Staking`.

use super::*;
use alloc::{boxed::Box, vec, vec::Vec};
use codec::Encode;
use decenter_primitives::{
	merkle,
	order::{DatasetCommitment, LabelLayout, OrderSpec, Workload},
	proof::{checkpoint_bytes, checkpoint_hash, checkpoint_hash_of_parts, seal},
	spec::{
		Activation, ArtifactCommitment, Fixed9, Initialization, Loss, ModelSpec, Optimizer,
		Schedule, TrainingSpec,
	},
	validation::{Claim, Metrics},
};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Hooks};
use frame_system::RawOrigin;
use pallet_training_orders::{BenchmarkHelper as _, OrderStatus};
use sp_runtime::traits::{Bounded, One, Saturating};

type Orders<T> = pallet_training_orders::Pallet<T>;
type Staking<T> = pallet_compute_staking::Pallet<T>;

fn dataset() -> DatasetCommitment {
	DatasetCommitment {
		artifact: ArtifactCommitment {
			root: [7; 32],
			size: 1 << 20,
			location: BoundedVec::truncate_from(b"http://127.0.0.1:8700/d".to_vec()),
		},
		records: 10_000,
		features: 64,
		label: LabelLayout::Class { classes: 10 },
	}
}

/// `workers` replicas of a run with `checkpoints` checkpoints, two steps apart.
fn spec(workers: u32, checkpoints: u32) -> OrderSpec {
	OrderSpec {
		training: TrainingSpec {
			model: ModelSpec {
				inputs: 64,
				hidden: BoundedVec::truncate_from(vec![32]),
				outputs: 10,
				activation: Activation::Relu,
				loss: Loss::SoftmaxCrossEntropy,
			},
			optimizer: Optimizer::Sgd,
			learning_rate: Fixed9(100_000_000),
			schedule: Schedule::Constant,
			batch_size: 32,
			steps: checkpoints.saturating_mul(2),
			seed: 1,
			checkpoint_interval: 2,
			initialization: Initialization::Seeded,
		},
		dataset: dataset(),
		validation: dataset(),
		workload: Workload::Replicas(workers),
	}
}

const FINAL_MODEL: Hash256 = [9; 32];
const FINAL_STATE: Hash256 = [7; 32];

/// The checkpoint hashes of the run of every slot (`first` is `c_0`'s hash; the last is the
/// checkpoint of [`FINAL_MODEL`] and [`FINAL_STATE`] at the spec's last step, `2 × count`).
fn checkpoints(count: u32, first: Hash256) -> CheckpointList {
	let hashes = (0..=count)
		.map(|k| match k {
			0 => first,
			k if k == count => checkpoint_hash_of_parts(
				u64::from(count.saturating_mul(2)),
				&FINAL_MODEL,
				&FINAL_STATE,
			),
			k => sp_io::hashing::blake2_256(&(b"c", k).encode()),
		})
		.collect::<Vec<_>>();
	BoundedVec::truncate_from(hashes)
}

fn commitment(list: &CheckpointList) -> PotCommitment {
	PotCommitment {
		checkpoint_root: merkle::root(list),
		checkpoints: list.len().saturating_sub(1) as u32,
		final_model: FINAL_MODEL,
		final_state: FINAL_STATE,
		loss_trace: [8; 32],
	}
}

fn salt() -> Hash256 {
	[5; 32]
}

fn sealed<T: Config>(value: &Hash256, who: &T::AccountId) -> Hash256 {
	seal(value, &salt(), &who.encode())
}

/// An order of `workers` replicas with `count` checkpoints in `Training`, its `validators`
/// validators registered. Returns the id and the workers in slot order.
fn training<T>(workers: u32, count: u32, validators: u32) -> (OrderId, Vec<T::AccountId>)
where
	T: Config + pallet_training_orders::Config + pallet_compute_staking::Config,
{
	frame_system::Pallet::<T>::set_block_number(One::one());
	for i in 0..workers {
		<T as pallet_training_orders::Config>::BenchmarkHelper::register_worker(
			&account("worker", i, 1),
			10,
		);
	}
	for i in 0..validators {
		let who: T::AccountId = account("validator", i, 2);
		let bond = Staking::<T>::required_bond(10);
		<T as pallet_compute_staking::Config>::Currency::set_balance(
			&who,
			bond.saturating_mul(4u32.into()),
		);
		let registered = Staking::<T>::register_validator(
			RawOrigin::Signed(who).into(),
			10,
			BoundedVec::truncate_from(b"gpu".to_vec()),
			BoundedVec::truncate_from(b"http://v".to_vec()),
			bond,
		);
		assert!(registered.is_ok(), "validator registration failed: {registered:?}");
	}
	let client: T::AccountId = account("client", 0, 0);
	<T as pallet_training_orders::Config>::Currency::set_balance(
		&client,
		<pallet_training_orders::BalanceOf<T> as Bounded>::max_value() / 4u32.into(),
	);
	let id = pallet_training_orders::NextOrderId::<T>::get();
	let start = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
	let created = Orders::<T>::create_order(
		RawOrigin::Signed(client).into(),
		Box::new(spec(workers, count)),
		10,
		Some(start),
		start.saturating_add(1_000u32.into()),
		start
			.saturating_add(1_000u32.into())
			.saturating_add(<T as pallet_training_orders::Config>::MaxValidationWindow::get()),
		<T as pallet_training_orders::Config>::MinBudget::get().saturating_mul(1_000u32.into()),
	);
	assert!(created.is_ok(), "order creation failed: {created:?}");
	frame_system::Pallet::<T>::set_block_number(start);
	Orders::<T>::on_initialize(start);
	let slots = T::Orders::workers(id);
	for worker in &slots {
		assert!(
			Orders::<T>::confirm_assignment(RawOrigin::Signed(worker.clone()).into(), id).is_ok()
		);
	}
	assert_eq!(T::Orders::status(id), Some(OrderStatus::Training));
	(id, slots)
}

fn commit<T: Config>(id: OrderId, who: &T::AccountId, list: &CheckpointList) {
	let sealed = sealed::<T>(&commitment(list).hash(), who);
	assert!(Pallet::<T>::do_commit_proof(who.clone(), id, sealed).is_ok());
}

fn reveal<T: Config>(id: OrderId, who: &T::AccountId, list: &CheckpointList) {
	let result =
		Pallet::<T>::do_reveal_proof(who.clone(), id, commitment(list), salt(), list.clone());
	assert!(result.is_ok(), "reveal failed: {result:?}");
}

fn next_block<T: Config>() -> BlockNumberFor<T> {
	let next = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
	frame_system::Pallet::<T>::set_block_number(next);
	next
}

/// An order whose proofs are all revealed and whose validators are drawn (`Reporting`).
fn reporting<T>(
	workers: u32,
	count: u32,
	first: Hash256,
) -> (OrderId, Vec<T::AccountId>, CheckpointList)
where
	T: Config + pallet_training_orders::Config + pallet_compute_staking::Config,
{
	let validators = T::ValidatorsPerOrder::get().saturating_add(T::RefereesPerDispute::get());
	let (id, slots) = training::<T>(workers, count, validators);
	let list = checkpoints(count, first);
	for worker in &slots {
		commit::<T>(id, worker, &list);
	}
	for worker in &slots {
		reveal::<T>(id, worker, &list);
	}
	let now = next_block::<T>();
	Pallet::<T>::run_draws(now);
	assert!(matches!(Rounds::<T>::get(id).map(|r| r.phase), Some(Phase::Reporting { .. })));
	(id, slots, list)
}

/// How a benchmark reporter answers.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
	Honest,
	Accuse,
	Unavailable,
}

/// The report of `who` in the current phase.
fn report<T: Config>(
	id: OrderId,
	who: &T::AccountId,
	list: &CheckpointList,
	answer: Answer,
) -> Report {
	let Some(round) = Rounds::<T>::get(id) else { return Report::default() };
	let Some(party) = Pallet::<T>::reporter_of(&round, who) else { return Report::default() };
	let claims = Pallet::<T>::tasks_of(&round, party)
		.into_iter()
		.filter_map(|i| round.tasks.get(i).copied())
		.map(|task| match answer {
			Answer::Honest => Claim::Computed {
				end: list.get(task.segment as usize + 1).copied().unwrap_or_default(),
				probe: sp_io::hashing::blake2_256(&(task.worker, task.probe_step).encode()),
			},
			Answer::Accuse => Claim::Computed { end: [0xee; 32], probe: [0xee; 32] },
			Answer::Unavailable => Claim::Unavailable,
		})
		.collect::<Vec<_>>();
	let metrics = match party {
		Reporter::Validator(_) => round.workers.iter().map(|_| Metrics::default()).collect(),
		_ => Vec::new(),
	};
	Report {
		claims: BoundedVec::truncate_from(claims),
		metrics: BoundedVec::truncate_from(metrics),
	}
}

/// Every reporter of the phase commits; every one but `skip` reveals.
fn report_all<T: Config>(
	id: OrderId,
	list: &CheckpointList,
	answers: impl Fn(Reporter) -> Answer,
	keep_last_reveal: bool,
) -> Option<(T::AccountId, Report)> {
	let round = Rounds::<T>::get(id)?;
	let refereeing = matches!(round.phase, Phase::Refereeing { .. });
	let reports: Vec<(T::AccountId, Report)> = Pallet::<T>::reporters(&round, refereeing)
		.into_iter()
		.map(|(party, who)| {
			let report = report::<T>(id, &who, list, answers(party));
			(who, report)
		})
		.collect();
	for (who, report) in &reports {
		let sealed = sealed::<T>(&report.hash(), who);
		assert!(Pallet::<T>::do_commit_report(who.clone(), id, sealed).is_ok());
	}
	let mut last = None;
	for (i, (who, report)) in reports.into_iter().enumerate() {
		if keep_last_reveal && i == 0 {
			last = Some((who, report));
			continue;
		}
		let result = Pallet::<T>::do_reveal_report(who.clone(), id, report, salt());
		assert!(result.is_ok(), "reveal of a report failed: {result:?}");
	}
	last
}

#[benchmarks(where T: pallet_training_orders::Config + pallet_compute_staking::Config)]
mod benchmarks {
	use super::*;

	/// Worst case: the last of `MaxWorkers` commits, which opens the reveals.
	#[benchmark]
	fn commit_proof() {
		let (id, slots) = training::<T>(<T as Config>::MaxWorkers::get(), 4, 0);
		let list = checkpoints(4, [1; 32]);
		let (last, others) = slots.split_last().expect("workers");
		for worker in others {
			commit::<T>(id, worker, &list);
		}
		let sealed = sealed::<T>(&commitment(&list).hash(), last);

		#[extrinsic_call]
		_(RawOrigin::Signed(last.clone()), id, sealed);

		assert!(matches!(Rounds::<T>::get(id).map(|r| r.phase), Some(Phase::Revealing { .. })));
	}

	/// Worst case: the last reveal, with `c` checkpoints, which queues the validator draw.
	#[benchmark]
	fn reveal_proof(c: Linear<1, MAX_CHECKPOINTS>) {
		let (id, slots) = training::<T>(<T as Config>::MaxWorkers::get(), c, 0);
		let list = checkpoints(c, [1; 32]);
		for worker in &slots {
			commit::<T>(id, worker, &list);
		}
		let (last, others) = slots.split_last().expect("workers");
		for worker in others {
			reveal::<T>(id, worker, &list);
		}

		#[extrinsic_call]
		_(RawOrigin::Signed(last.clone()), id, commitment(&list), salt(), list.clone());

		assert_eq!(PendingDraws::<T>::get().into_inner(), vec![id]);
	}

	/// Drawing the validators and sampling the segments of an order with `w` workers.
	#[benchmark]
	fn draw(w: Linear<1, { <T as Config>::MaxWorkers::get() }>) {
		let validators = T::ValidatorsPerOrder::get();
		let (id, slots) = training::<T>(w, MAX_CHECKPOINTS, validators);
		let list = checkpoints(MAX_CHECKPOINTS, [1; 32]);
		for worker in &slots {
			commit::<T>(id, worker, &list);
		}
		for worker in &slots {
			reveal::<T>(id, worker, &list);
		}
		let now = next_block::<T>();

		#[block]
		{
			Pallet::<T>::run_draws(now);
		}

		assert!(matches!(Rounds::<T>::get(id).map(|r| r.phase), Some(Phase::Reporting { .. })));
	}

	/// Worst case: the last commit of the reports, which opens their reveal.
	#[benchmark]
	fn commit_report() {
		let (id, _, list) = reporting::<T>(<T as Config>::MaxWorkers::get(), 4, [1; 32]);
		let round = Rounds::<T>::get(id).expect("round");
		let reporters = Pallet::<T>::reporters(&round, false);
		let (last, others) = reporters.split_last().expect("reporters");
		for (_, who) in others {
			let sealed_report = report::<T>(id, who, &list, Answer::Honest);
			let sealed = sealed::<T>(&sealed_report.hash(), who);
			assert!(Pallet::<T>::do_commit_report(who.clone(), id, sealed).is_ok());
		}
		let who = last.1.clone();
		let sealed = sealed::<T>(&report::<T>(id, &who, &list, Answer::Honest).hash(), &who);

		#[extrinsic_call]
		_(RawOrigin::Signed(who), id, sealed);

		assert!(matches!(
			Rounds::<T>::get(id).map(|r| r.phase),
			Some(Phase::RevealingReports { .. })
		));
	}

	/// A validator's reveal with the most claims (`MaxWorkers × S`), not the last one (the last
	/// one's settlement is `settle`).
	#[benchmark]
	fn reveal_report() {
		let (id, _, list) = reporting::<T>(<T as Config>::MaxWorkers::get(), 4, [1; 32]);
		let round = Rounds::<T>::get(id).expect("round");
		let validator = round.validators.first().expect("validators").account.clone();
		let revealed = report::<T>(id, &validator, &list, Answer::Honest);
		for (_, who) in Pallet::<T>::reporters(&round, false) {
			let sealed_report = report::<T>(id, &who, &list, Answer::Honest);
			let sealed = sealed::<T>(&sealed_report.hash(), &who);
			assert!(Pallet::<T>::do_commit_report(who.clone(), id, sealed).is_ok());
		}

		#[extrinsic_call]
		_(RawOrigin::Signed(validator.clone()), id, revealed, salt());

		assert!(Reports::<T>::get(id, &validator).is_some_and(|entry| entry.report.is_some()));
	}

	/// Posting a withheld checkpoint of `b` bytes.
	#[benchmark]
	fn post_checkpoint(b: Linear<0, { T::MaxCheckpointBytes::get() }>) {
		// The costliest bytes to check: as many (empty) tensors as fit in `b` (16 bytes of
		// header, 8 a tensor), so that parsing loops most while hashing all `b` bytes.
		let empty: Vec<&[f32]> = vec![&[]; (b as usize).saturating_sub(16) / 8];
		let state = checkpoint_bytes(0, &empty, &[]);
		let (id, slots, list) = reporting::<T>(1, 1, checkpoint_hash(0, &empty, &[]));
		let asking =
			Rounds::<T>::get(id).and_then(|r| r.validators.first().map(|v| v.account.clone()));
		let answers = |party: Reporter| match party {
			Reporter::Validator(0) => Answer::Unavailable,
			_ => Answer::Honest,
		};
		report_all::<T>(id, &list, answers, false);
		assert!(asking.is_some());
		let now = next_block::<T>();
		Pallet::<T>::run_draws(now);
		assert!(matches!(Rounds::<T>::get(id).map(|r| r.phase), Some(Phase::Refereeing { .. })));
		let worker = slots.first().expect("worker").clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(worker), id, 0, BoundedVec::truncate_from(state));

		assert!(Rounds::<T>::get(id)
			.is_some_and(|r| r.tasks.iter().all(|t| t.status != TaskStatus::Withheld)));
	}

	/// Ending the reveal window with `w` workers that did not reveal (each slashed).
	#[benchmark]
	fn advance(w: Linear<1, { <T as Config>::MaxWorkers::get().saturating_sub(1) }>) {
		let (id, slots) = training::<T>(<T as Config>::MaxWorkers::get(), 4, 0);
		let list = checkpoints(4, [1; 32]);
		for worker in &slots {
			commit::<T>(id, worker, &list);
		}
		for worker in slots.iter().skip(w as usize) {
			reveal::<T>(id, worker, &list);
		}
		if let Some(Phase::Revealing { until }) = Rounds::<T>::get(id).map(|r| r.phase) {
			frame_system::Pallet::<T>::set_block_number(until.saturating_add(One::one()));
		}
		let caller: T::AccountId = whitelisted_caller();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);

		assert!(matches!(Rounds::<T>::get(id).map(|r| r.phase), Some(Phase::AwaitingValidators)));
	}

	/// The last referee's reveal of a dispute over `t` tasks, and the settlement it triggers:
	/// a validator falsely accused every segment of `MaxWorkers` workers; it is slashed, every
	/// worker is paid and certified.
	#[benchmark]
	fn settle(t: Linear<1, { T::MaxTasks::get() }>) {
		let (id, _, list) = reporting::<T>(<T as Config>::MaxWorkers::get(), 4, [1; 32]);
		Rounds::<T>::mutate(id, |round| {
			if let Some(round) = round {
				let kept = round.tasks.iter().copied().take(t as usize).collect::<Vec<_>>();
				round.tasks = BoundedVec::truncate_from(kept);
			}
		});
		let answers = |party: Reporter| match party {
			Reporter::Validator(0) => Answer::Accuse,
			_ => Answer::Honest,
		};
		report_all::<T>(id, &list, answers, false);
		let now = next_block::<T>();
		Pallet::<T>::run_draws(now);
		let (referee, verdict) =
			report_all::<T>(id, &list, |_| Answer::Honest, true).expect("a referee");

		#[block]
		{
			let result = Pallet::<T>::do_reveal_report(referee, id, verdict, salt());
			assert!(result.is_ok(), "settlement failed: {result:?}");
		}

		assert_eq!(T::Orders::status(id), Some(OrderStatus::Completed));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

//! The whole game on a mock runtime: an honest order ends in certificates with the escrow paid
//! out exactly, and every adversary is caught, slashed, and the honest parties paid.
//!
//! Training is simulated with the shared hashing rules: the honest state after step `s` hashes
//! as `checkpoint_hash(s, [[1, s]], [])`; a forged one as `checkpoint_hash(s, [[9, s]], [])`;
//! a run trained honestly from another initialization as `checkpoint_hash(s, [[5, s]], [])`;
//! re-executing from any other state gives a hash of that state and the step. Segment 0 is
//! re-executed from the order's own initialization, as `decenter validator` does.

use crate::{mock::*, *};
use codec::Encode;
use decenter_primitives::{
	merkle,
	order::{OrderSpec, Workload},
	proof::{
		checkpoint_bytes, checkpoint_hash, model_hash, optimizer_state_hash, seal, PotCommitment,
	},
	validation::{Claim, Metrics, Report},
};
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::InspectHold, Currency},
};
use pallet_training_orders::{OrderStatus, Orders};

const CLIENT: AccountId = 30;
const BUDGET: Balance = 10_000;
const SLASH: Balance = BOND * FAULT_SLASH_PERCENT as u64 / 100;

fn honest_state(step: u32) -> Hash256 {
	checkpoint_hash(step as u64, &[&[1.0, step as f32]], &[])
}

/// The state after `step` of a run trained honestly from an initialization the order did not
/// name.
fn other_init_state(step: u32) -> Hash256 {
	checkpoint_hash(step as u64, &[&[5.0, step as f32]], &[])
}

fn rerun_from(start: &Hash256, step: u32) -> Hash256 {
	sp_io::hashing::blake2_256(&(start, step).encode())
}

/// A worker's run: honest up to `trained` steps, forged after; or, with `other_init`, trained
/// honestly from another initialization.
#[derive(Clone)]
struct Run {
	spec: decenter_primitives::spec::TrainingSpec,
	trained: u32,
	other_init: bool,
}

impl Run {
	fn honest(id: OrderId) -> Self {
		let spec = Orders::<Test>::get(id).unwrap().spec.training;
		Self { trained: spec.steps, spec, other_init: false }
	}

	fn forged_after(id: OrderId, trained: u32) -> Self {
		Self { trained, ..Self::honest(id) }
	}

	fn from_another_initialization(id: OrderId) -> Self {
		Self { other_init: true, ..Self::honest(id) }
	}

	/// The first parameter of the simulated state after `step`.
	fn tag(&self, step: u32) -> f32 {
		match (self.other_init, step <= self.trained) {
			(true, _) => 5.0,
			(false, true) => 1.0,
			(false, false) => 9.0,
		}
	}

	fn state(&self, step: u32) -> Hash256 {
		checkpoint_hash(step as u64, &[&[self.tag(step), step as f32]], &[])
	}

	fn checkpoints(&self) -> Vec<Hash256> {
		(0..=self.spec.checkpoint_count())
			.map(|i| self.state(self.spec.checkpoint_step(i)))
			.collect()
	}

	fn commitment(&self) -> PotCommitment {
		let checkpoints = self.checkpoints();
		let steps = self.spec.steps;
		PotCommitment {
			checkpoint_root: merkle::root(&checkpoints),
			checkpoints: self.spec.checkpoint_count(),
			final_model: model_hash(&[&[self.tag(steps), steps as f32]]),
			final_state: optimizer_state_hash(&[]),
			loss_trace: [3; 32],
		}
	}

	/// What the worker itself reports on `task`: its published end, its own probe.
	fn own_claim(&self, task: &SegmentCheck) -> Claim {
		Claim::Computed {
			end: self.checkpoints()[task.segment as usize + 1],
			probe: self.state(task.probe_step),
		}
	}

	/// What an honest re-execution of `task` yields: from this run's checkpoint, or for
	/// segment 0 from the order's own initialization.
	fn reexecute(&self, task: &SegmentCheck) -> Claim {
		let start_step = self.spec.checkpoint_step(task.segment);
		let start = if task.segment == 0 {
			honest_state(0)
		} else {
			self.checkpoints()[task.segment as usize]
		};
		let end_step = self.spec.checkpoint_step(task.segment + 1);
		if start == honest_state(start_step) {
			Claim::Computed { end: honest_state(end_step), probe: honest_state(task.probe_step) }
		} else if start == other_init_state(start_step) {
			Claim::Computed {
				end: other_init_state(end_step),
				probe: other_init_state(task.probe_step),
			}
		} else {
			Claim::Computed {
				end: rerun_from(&start, end_step),
				probe: rerun_from(&start, task.probe_step),
			}
		}
	}
}

/// How a validator or referee behaves.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Checker {
	/// Re-executes.
	Honest,
	/// Copies the worker's published end hash as both answers, without re-executing.
	Lazy,
	/// Reports made-up hashes.
	FalseAccuser,
	/// Reports exactly what the worker claims.
	Colluding,
	/// Says it could not fetch the checkpoint.
	CannotFetch,
	/// Never reports.
	Silent,
}

fn salt(who: AccountId) -> Hash256 {
	[who as u8; 32]
}

fn sealed(value: &Hash256, who: AccountId) -> Hash256 {
	seal(value, &salt(who), &who.encode())
}

struct Game {
	id: OrderId,
	runs: Vec<(AccountId, Run)>,
}

impl Game {
	/// Registers `workers` workers (1, 2, …) and `validators` validators (10, 11, …), creates an
	/// order and brings it to `Training`; `runs` gives each slot's run (honest when `None`).
	fn start(workload: Workload, steps: u32, interval: u32, workers: u32, validators: u32) -> Self {
		Self::start_spec(order_spec(workload, steps, interval), workers, validators)
	}

	/// [`Self::start`] for any spec.
	fn start_spec(spec: OrderSpec, workers: u32, validators: u32) -> Self {
		for who in 1..=workers as u64 {
			register(who, false);
		}
		for who in 10..10 + validators as u64 {
			register(who, true);
		}
		assert_ok!(TrainingOrders::create_order(
			RuntimeOrigin::signed(CLIENT),
			Box::new(spec),
			10,
			Some(2),
			100,
			300,
			BUDGET
		));
		let id = 0;
		run_to(2);
		let order = Orders::<Test>::get(id).unwrap();
		for slot in &order.workers {
			assert_ok!(TrainingOrders::confirm_assignment(RuntimeOrigin::signed(slot.account), id));
		}
		assert_eq!(Orders::<Test>::get(id).unwrap().status, OrderStatus::Training);
		let runs = order.workers.iter().map(|slot| (slot.account, Run::honest(id))).collect();
		Self { id, runs }
	}

	fn set_run(&mut self, slot: usize, run: Run) {
		self.runs[slot].1 = run;
	}

	fn commit_all(&self) {
		for (who, run) in &self.runs {
			assert_ok!(ProofOfTrain::commit_proof(
				RuntimeOrigin::signed(*who),
				self.id,
				sealed(&run.commitment().hash(), *who)
			));
		}
	}

	fn reveal(&self, slot: usize) -> DispatchResult {
		let (who, run) = &self.runs[slot];
		ProofOfTrain::reveal_proof(
			RuntimeOrigin::signed(*who),
			self.id,
			run.commitment(),
			salt(*who),
			BoundedVec::truncate_from(run.checkpoints()),
		)
	}

	/// Commits and reveals every proof, then moves to the block where validators are drawn.
	fn prove(&self) {
		self.commit_all();
		for slot in 0..self.runs.len() {
			assert_ok!(self.reveal(slot));
		}
		self.next_block();
	}

	fn next_block(&self) {
		run_to(System::block_number() + 1);
	}

	fn round(&self) -> RoundOf<Test> {
		Rounds::<Test>::get(self.id).expect("round in progress")
	}

	fn validators(&self) -> Vec<AccountId> {
		self.round().validators.iter().map(|v| v.account).collect()
	}

	fn referees(&self) -> Vec<AccountId> {
		self.round().referees.iter().map(|r| r.account).collect()
	}

	fn claim(&self, behaviour: Checker, task: &SegmentCheck) -> Claim {
		let run = &self.runs[task.worker as usize].1;
		match behaviour {
			Checker::Honest | Checker::Silent => run.reexecute(task),
			Checker::Lazy => {
				let end = run.checkpoints()[task.segment as usize + 1];
				Claim::Computed { end, probe: end }
			},
			Checker::FalseAccuser => Claim::Computed { end: [0xee; 32], probe: [0xee; 32] },
			Checker::Colluding => run.own_claim(task),
			Checker::CannotFetch => Claim::Unavailable,
		}
	}

	fn report_of(&self, who: AccountId, behaviour: Checker) -> Report {
		let round = self.round();
		let party = ProofOfTrain::reporter_of(&round, &who).unwrap();
		let tasks = ProofOfTrain::tasks_of(&round, party);
		let claims = tasks
			.iter()
			.map(|i| {
				let task = round.tasks[*i];
				match party {
					Reporter::Worker(_) => self.runs[task.worker as usize].1.own_claim(&task),
					_ => self.claim(behaviour, &task),
				}
			})
			.collect::<Vec<_>>();
		let metrics = match party {
			Reporter::Validator(_) => (0..round.workers.len())
				.map(|slot| Metrics {
					loss: 500_000_000 - slot as u64,
					accuracy: 900_000 + slot as u32,
				})
				.collect(),
			_ => vec![],
		};
		Report {
			claims: BoundedVec::truncate_from(claims),
			metrics: BoundedVec::truncate_from(metrics),
		}
	}

	/// Every reporter of the current phase commits and then reveals, behaving as told
	/// (`Honest` for anyone not listed; workers report their own claims).
	fn report(&self, behaviours: &[(AccountId, Checker)]) {
		let round = self.round();
		let refereeing = matches!(round.phase, Phase::Refereeing { .. });
		let reporters: Vec<AccountId> =
			ProofOfTrain::reporters(&round, refereeing).into_iter().map(|(_, a)| a).collect();
		let behaviour = |who: AccountId| {
			behaviours.iter().find(|(a, _)| *a == who).map_or(Checker::Honest, |(_, b)| *b)
		};
		let reports: Vec<(AccountId, Report)> = reporters
			.iter()
			.filter(|who| behaviour(**who) != Checker::Silent)
			.map(|who| (*who, self.report_of(*who, behaviour(*who))))
			.collect();
		for (who, report) in &reports {
			assert_ok!(ProofOfTrain::commit_report(
				RuntimeOrigin::signed(*who),
				self.id,
				sealed(&report.hash(), *who)
			));
		}
		// Someone silent (or a checkpoint not posted) holds the phase open until its window ends.
		if let Phase::Reporting { until } | Phase::Refereeing { until } = self.round().phase {
			run_to(until + 1);
			assert_ok!(ProofOfTrain::advance(RuntimeOrigin::signed(CLIENT), self.id));
		}
		for (who, report) in &reports {
			assert_ok!(ProofOfTrain::reveal_report(
				RuntimeOrigin::signed(*who),
				self.id,
				report.clone(),
				salt(*who)
			));
		}
	}

	fn status(&self) -> OrderStatus {
		Orders::<Test>::get(self.id).unwrap().status
	}

	/// The segments some validator could not fetch, ascending.
	fn withheld_segments(&self) -> Vec<u32> {
		let mut withheld: Vec<u32> = self
			.round()
			.tasks
			.iter()
			.filter(|t| t.status == TaskStatus::Withheld)
			.map(|t| t.segment)
			.collect();
		withheld.sort();
		withheld.dedup();
		withheld
	}

	/// The canonical bytes of slot 0's checkpoint at the start of `segment`. In this
	/// simulation the honest state's bytes are `[[1, step]]` with no optimizer state; `first`
	/// replaces the 1.
	fn checkpoint(
		&self,
		segment: u32,
		first: f32,
	) -> BoundedVec<u8, <Test as Config>::MaxCheckpointBytes> {
		let step = self.runs[0].1.spec.checkpoint_step(segment);
		BoundedVec::truncate_from(checkpoint_bytes(step as u64, &[&[first, step as f32]], &[]))
	}
}

fn free(who: AccountId) -> Balance {
	Balances::free_balance(who)
}

fn bonded(who: AccountId) -> Balance {
	Balances::total_balance_on_hold(&who)
}

fn certificates() -> u32 {
	pallet_certificates::NextCertificateId::<Test>::get()
}

/// The balances after a single worker's cheat was proven by `prover` and confirmed by the
/// referees: the cheat lost `SLASH` of its bond and all its pay; the validator pool went in
/// equal parts to the three validators and three referees, and the slash to the prover; the
/// client paid only that pool; nothing was certified.
fn assert_caught(
	cheat: AccountId,
	prover: AccountId,
	validators: &[AccountId],
	referees: &[AccountId],
) {
	assert_eq!(faults(), vec![(cheat, Fault::WrongResult)]);
	assert_eq!(bonded(cheat), BOND - SLASH);
	assert_eq!(free(cheat), START_BALANCE - BOND);
	assert_eq!(free(prover), START_BALANCE - BOND + 250 + SLASH);
	for checker in validators.iter().chain(referees).filter(|checker| **checker != prover) {
		assert_eq!(free(*checker), START_BALANCE - BOND + 250);
	}
	assert_eq!(free(CLIENT), START_BALANCE - 1_500);
	assert_eq!(certificates(), 0);
}

/// Faults recorded in events, as (who, fault).
fn faults() -> Vec<(AccountId, Fault)> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::ProofOfTrain(Event::Faulted { who, fault, .. }) => Some((who, fault)),
			_ => None,
		})
		.collect()
}

#[test]
fn honest_order_completes_pays_exactly_and_mints_certificates() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 8, 2, 1, 3);
		let worker = game.runs[0].0;
		let treasury = free(TREASURY);
		game.prove();
		let validators = game.validators();
		assert_eq!(validators.len(), 3);
		let round = game.round();
		// 4 segments, each validator checks all 4 (S = 4), probes strictly inside.
		assert_eq!(round.tasks.len(), 12);
		for task in &round.tasks {
			let start = task.segment * 2;
			assert!(task.probe_step > start && task.probe_step <= start + 2);
		}
		assert_eq!(Orders::<Test>::get(game.id).unwrap().status, OrderStatus::Validating);

		game.report(&[]);

		assert_eq!(game.status(), OrderStatus::Completed);
		assert!(Rounds::<Test>::get(game.id).is_none());
		assert!(faults().is_empty());
		// Escrow: 80 % to the worker, 15 % split over the validators, 5 % fee; deposit back.
		assert_eq!(free(worker), START_BALANCE - BOND + 8_000);
		for v in &validators {
			assert_eq!(free(*v), START_BALANCE - BOND + 500);
			assert_eq!(bonded(*v), BOND);
		}
		assert_eq!(free(TREASURY), treasury + 500);
		assert_eq!(free(CLIENT), START_BALANCE - BUDGET);
		assert_eq!(bonded(CLIENT), 0);
		// Model certificate to the client, one for the worker, one per validator.
		assert_eq!(certificates(), 5);
		let model = game.runs[0].1.commitment().final_model;
		assert_eq!(
			pallet_certificates::Pallet::<Test>::certificates_for_model(&model),
			vec![0, 1, 2, 3, 4]
		);
		assert_eq!(pallet_certificates::Pallet::<Test>::certificates_of(&CLIENT), vec![0]);
		let record = pallet_certificates::Issued::<Test>::get(0).unwrap();
		assert_eq!(record.record.order, game.id);
		assert_eq!(record.record.pot_root, game.runs[0].1.commitment().checkpoint_root);
		assert_eq!(record.record.metrics, Metrics { loss: 500_000_000, accuracy: 900_000 });
		// Validators can leave again: their assignment ended.
		for v in &validators {
			assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(*v), BOND));
		}
	});
}

#[test]
fn replicas_are_all_paid_and_certified() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(2), 4, 2, 2, 3);
		game.prove();
		assert_eq!(game.round().tasks.len(), 3 * 2 * 2);
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
		for (who, _) in &game.runs {
			assert_eq!(free(*who), START_BALANCE - BOND + 4_000);
		}
		assert_eq!(certificates(), 1 + 2 + 3);
	});
}

#[test]
fn worker_that_skips_training_is_caught_and_slashed_to_the_validator_that_proved_it() {
	new_test_ext().execute_with(|| {
		let mut game = Game::start(Workload::Replicas(1), 4, 2, 1, 6);
		let cheat = game.runs[0].0;
		game.set_run(0, Run::forged_after(game.id, 0));
		game.prove();
		let validators = game.validators();
		game.report(&[]);
		// Every segment was contested; referees are drawn in the next block.
		assert!(matches!(game.round().phase, Phase::AwaitingReferees));
		game.next_block();
		let referees = game.referees();
		assert_eq!(referees.len(), 3);
		// Both segments disputed: 2 × 2 steps of 1 MFLOP, × 4, at 5 GFLOP/s, 1 block; the data
		// and two checkpoints (2.2 MB at 1 GB/s), 1 block.
		let Phase::Refereeing { until } = game.round().phase else { panic!("not refereeing") };
		assert_eq!(until - System::block_number(), WINDOW + 1 + 1);
		for referee in &referees {
			assert_eq!(locked(*referee), CHECK_CAPACITY);
		}
		game.report(&[]);

		assert_eq!(game.status(), OrderStatus::Failed);
		for checker in validators.iter().chain(&referees) {
			assert_eq!(locked(*checker), 0);
		}
		// The first validator proved the cheat.
		assert_caught(cheat, validators[0], &validators, &referees);
	});
}

/// A worker trains honestly, but from weights the order did not name (a model with a backdoor,
/// say), and publishes that run's `c_0`: every segment replays from the worker's own
/// checkpoints, and with one replica there is nobody to differ from. The checker drawn to
/// re-execute segment 0 starts from the order's initialization instead, and proves it.
#[test]
fn attack_train_from_another_initialization() {
	new_test_ext().execute_with(|| {
		// 100 segments, 4 sampled per checker: chance alone would leave segment 0 unchecked.
		let mut game = Game::start(Workload::Replicas(1), 200, 2, 1, 6);
		let cheat = game.runs[0].0;
		game.set_run(0, Run::from_another_initialization(game.id));
		game.prove();
		let round = game.round();
		let checkers: Vec<u32> =
			round.tasks.iter().filter(|t| t.segment == 0).map(|t| t.checker).collect();
		assert_eq!(checkers.len(), 1, "one checker re-executes segment 0");
		assert_eq!(round.tasks.iter().filter(|t| t.checker == checkers[0]).count(), 4);
		let validators = game.validators();
		game.report(&[]);
		assert!(matches!(game.round().phase, Phase::AwaitingReferees));
		game.next_block();
		let referees = game.referees();
		game.report(&[]);

		assert_eq!(game.status(), OrderStatus::Failed);
		assert_caught(cheat, validators[checkers[0] as usize], &validators, &referees);
	});
}

/// A worker names as its final model another model than the one its checked run ended with
/// (one with a backdoor, say), hoping the certificate names it.
#[test]
fn attack_certify_a_model_the_checked_run_did_not_end_with() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 3);
		let (cheat, run) = game.runs[0].clone();
		let mut other = run.commitment();
		other.final_model = model_hash(&[&[7.0, 4.0]]);
		assert_ok!(ProofOfTrain::commit_proof(
			RuntimeOrigin::signed(cheat),
			game.id,
			sealed(&other.hash(), cheat)
		));
		assert_noop!(
			ProofOfTrain::reveal_proof(
				RuntimeOrigin::signed(cheat),
				game.id,
				other,
				salt(cheat),
				BoundedVec::truncate_from(run.checkpoints())
			),
			Error::<Test>::FinalModelNotLastCheckpoint
		);
		// The sealed commitment can never be revealed: the window ends with the worker faulted.
		run_to(System::block_number() + WINDOW + 1);
		assert_ok!(ProofOfTrain::advance(RuntimeOrigin::signed(CLIENT), game.id));
		assert_eq!(faults(), vec![(cheat, Fault::Unrevealed)]);
		assert_eq!(game.status(), OrderStatus::Failed);
		assert_eq!(bonded(cheat), BOND - SLASH);
		assert_eq!(free(CLIENT), START_BALANCE);
		assert_eq!(certificates(), 0);
	});
}

/// An order with 75,010 parameters, 400 steps and a checkpoint every 100: four segments of
/// 1.44 GFLOP each, and a 200-record validation set.
fn heavy_spec() -> OrderSpec {
	let mut spec = order_spec(Workload::Replicas(1), 400, 100);
	spec.training.model.hidden = BoundedVec::truncate_from(vec![1_000]);
	spec
}

fn locked(who: AccountId) -> u32 {
	pallet_compute_staking::Participants::<Test>::get(who).map_or(0, |p| p.locked_capacity)
}

/// A client orders segments long enough that honest validators cannot re-execute them within
/// a fixed report window, so that they are faulted (and slashed) for being slow. The window
/// follows the work instead, and the capacity it assumes is reserved.
#[test]
fn attack_sink_honest_validators_with_more_work_than_a_fixed_window() {
	new_test_ext().execute_with(|| {
		let game = Game::start_spec(heavy_spec(), 1, 3);
		game.prove();
		let drawn_at = System::block_number();
		let Phase::Reporting { until } = game.round().phase else { panic!("not reporting") };
		// Each validator re-executes all 4 segments (5.76 GFLOP) and evaluates the model on 200
		// records (0.03 GFLOP): 4 × 5.79 GFLOP at the 5 GFLOP/s it reserved is 4.6 s, 5 blocks;
		// fetching the data, 4 checkpoints and the model (9.75 MB at 1 GB/s), 1 block. The
		// worker re-executes each of its 4 segments once, to the probe, at the order's
		// 10 GFLOP/s: at most 4 × 400 steps × 14.4 MFLOP, 3 blocks.
		assert_eq!(until - drawn_at, WINDOW + 5 + 1);
		let validators = game.validators();
		for validator in &validators {
			assert_eq!(locked(*validator), CHECK_CAPACITY);
		}
		// Validators that took the whole window (four times the compute at the reserved rate)
		// commit in its last block and are not faulted.
		run_to(until);
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
		assert!(faults().is_empty());
		for validator in &validators {
			assert_eq!(free(*validator), START_BALANCE - BOND + 500);
			assert_eq!(locked(*validator), 0);
		}
	});
}

/// The report window also covers the worker's own report, timed at its order's capacity: each
/// segment it was sampled on, re-executed once to the probe step.
#[test]
fn a_workers_own_probes_are_timed_at_its_orders_capacity() {
	new_test_ext().execute_with(|| {
		let mut spec = heavy_spec();
		spec.training.steps = 1_200; // 12 segments of 100 steps
		let game = Game::start_spec(spec.clone(), 1, 3);
		game.prove();
		let mut round = game.round();
		// The costliest sample: 12 distinct segments, each probed at its last step.
		for (i, task) in round.tasks.iter_mut().enumerate() {
			task.segment = i as u32;
			task.probe_step = (i as u32 + 1) * 100;
		}
		// 12 × 1.44 GFLOP × 4 at 5 GFLOP/s: 13.8 s, 14 blocks (a validator's 4 segments: 6).
		assert_eq!(ProofOfTrain::reporting_window(&round, &spec, CHECK_CAPACITY), WINDOW + 14);
		// At twice the capacity, half the time: 6.9 s, 7 blocks.
		assert_eq!(ProofOfTrain::reporting_window(&round, &spec, 2 * CHECK_CAPACITY), WINDOW + 7);
		// The same segment sampled by several checkers is re-executed once.
		for task in round.tasks.iter_mut() {
			task.segment = 0;
			task.probe_step = 100;
		}
		assert_eq!(ProofOfTrain::reporting_window(&round, &spec, CHECK_CAPACITY), WINDOW + 6);
	});
}

/// An order may not ask its workers for less capacity than a checker reserves: its workers
/// would hold the checkers up.
#[test]
fn orders_slower_than_their_checkers_are_refused() {
	new_test_ext().execute_with(|| {
		let spec = order_spec(Workload::Replicas(1), 4, 2);
		assert_noop!(
			TrainingOrders::create_order(
				RuntimeOrigin::signed(CLIENT),
				Box::new(spec.clone()),
				CHECK_CAPACITY - 1,
				Some(2),
				100,
				300,
				BUDGET
			),
			pallet_training_orders::Error::<Test>::CapacityBelowCheckers
		);
		assert!(TrainingOrders::quote(&spec, CHECK_CAPACITY - 1).is_err());
		// Work whose checking cannot fit `MaxValidationWindow` (1,000 blocks here) is refused
		// before anyone signs: 4 segments of 12,800 steps of 75k parameters, about 590 blocks
		// for the validators and as many for the referees.
		let mut heavy = heavy_spec();
		heavy.training.steps = 51_200;
		heavy.training.checkpoint_interval = 12_800;
		assert_eq!(
			TrainingOrders::quote(&heavy, 10),
			Err(pallet_training_orders::Error::<Test>::CheckingTooLong.into())
		);
	});
}

/// A validator without `CheckCapacity` free is never drawn; one that is drawn holds that much
/// until the round ends, so it is not drawn for more rounds than it can check at that rate.
#[test]
fn validators_reserve_the_capacity_their_window_assumes() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 3);
		let small = 20;
		assert_ok!(ComputeStaking::register_validator(
			RuntimeOrigin::signed(small),
			CHECK_CAPACITY - 1,
			BoundedVec::truncate_from(b"cpu".to_vec()),
			BoundedVec::truncate_from(b"http://s".to_vec()),
			BOND
		));
		game.prove();
		let validators = game.validators();
		assert_eq!(validators, vec![10, 11, 12], "the validator below CheckCapacity was drawn");
		assert_eq!(game.round().reserved, CHECK_CAPACITY);
		for validator in &validators {
			assert_eq!(locked(*validator), CHECK_CAPACITY);
		}
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
		for validator in &validators {
			assert_eq!(locked(*validator), 0);
		}
	});
}

/// The shortest validation window covers the heaviest game the spec allows, so that an order
/// cannot expire, refunding its client, while its checkers are inside their windows.
#[test]
fn the_shortest_validation_window_covers_the_checkers_work() {
	new_test_ext().execute_with(|| {
		let spec = heavy_spec();
		let quote = TrainingOrders::quote(&spec, 10).unwrap();
		// Reports: validators 6 blocks (above), the worker at most 3. Referees, every segment
		// disputed: 4 × 5.76 GFLOP at 5 GFLOP/s, 5 blocks, and 7.8 MB to fetch, 1.
		let fixed = 5 * WINDOW + 2 * 2 + 8; // the mock's `MinValidationWindow`
		assert_eq!(quote.min_validation_window, fixed + 6 + 6);
		let create = |validation: u64| {
			TrainingOrders::create_order(
				RuntimeOrigin::signed(CLIENT),
				Box::new(spec.clone()),
				10,
				Some(2),
				100,
				100 + validation,
				BUDGET,
			)
		};
		assert_noop!(
			create(quote.min_validation_window - 1),
			pallet_training_orders::Error::<Test>::ValidationWindowTooShort
		);
		assert_ok!(create(quote.min_validation_window));
	});
}

#[test]
fn replica_that_fakes_a_segment_no_sample_would_hit_is_caught_where_the_replicas_diverge() {
	new_test_ext().execute_with(|| {
		// 20 segments, 4 sampled per checker and worker: the last segment alone is faked. The
		// replicas' checkpoints diverge there, so every checker re-executes it for both.
		let mut game = Game::start(Workload::Replicas(2), 40, 2, 2, 6);
		let (honest, cheat) = (game.runs[0].0, game.runs[1].0);
		game.set_run(1, Run::forged_after(game.id, 38));
		game.prove();
		let round = game.round();
		for checker in 0..round.validators.len() as u32 {
			for worker in 0..2 {
				let mine: Vec<u32> = round
					.tasks
					.iter()
					.filter(|t| t.checker == checker && t.worker == worker)
					.map(|t| t.segment)
					.collect();
				assert_eq!(mine.len(), 4, "{mine:?}");
				assert!(mine.contains(&19), "checker {checker} skipped the divergence: {mine:?}");
			}
		}
		game.report(&[]);
		game.next_block();
		game.report(&[]);
		assert_eq!(faults(), vec![(cheat, Fault::WrongResult)]);
		assert_eq!(bonded(cheat), BOND - SLASH);
		assert_eq!(game.status(), OrderStatus::Completed);
		assert_eq!(bonded(honest), BOND);
		assert_eq!(free(honest), START_BALANCE - BOND + 4_000);
	});
}

#[test]
fn each_replica_is_checked_where_it_first_differs_from_another() {
	new_test_ext().execute_with(|| {
		let mut game = Game::start(Workload::Replicas(3), 40, 2, 3, 6);
		game.commit_all();
		for slot in 0..3 {
			assert_ok!(game.reveal(slot));
		}
		let spec = Orders::<Test>::get(game.id).unwrap().spec;
		let divergences = |game: &Game| ProofOfTrain::divergences(game.id, &game.round(), &spec);
		assert_eq!(
			divergences(&game),
			vec![Vec::<u32>::new(); 3],
			"agreeing replicas force nothing"
		);
		let store = |game: &mut Game, slot: usize, trained: Option<u32>| {
			let id = game.id;
			let run = trained.map_or_else(|| Run::honest(id), |t| Run::forged_after(id, t));
			CheckpointHashes::<Test>::insert(
				id,
				slot as u32,
				BoundedVec::truncate_from(run.checkpoints()),
			);
			game.set_run(slot, run);
		};
		// Slot 1 forges from step 6 (c_3, the end of segment 2), slot 2 from step 30 (c_15,
		// the end of segment 14). Slot 2's own forgery is forced although slot 1 diverges from
		// everyone earlier: each pair's first difference is checked.
		store(&mut game, 1, Some(5));
		store(&mut game, 2, Some(29));
		assert_eq!(divergences(&game), vec![vec![2, 14], vec![2], vec![2, 14]]);
		// Slot 2 alone forging.
		store(&mut game, 1, None);
		assert_eq!(divergences(&game), vec![vec![14], vec![14], vec![14]]);
		// Different initial checkpoints: segment 0.
		let mut forged = game.runs[2].1.checkpoints();
		forged[0] = [0xaa; 32];
		CheckpointHashes::<Test>::insert(game.id, 2, BoundedVec::truncate_from(forged));
		assert_eq!(divergences(&game), vec![vec![0], vec![0], vec![0]]);
		// A sweep's variants are different runs: never compared.
		let variant = |lr: u32| decenter_primitives::order::Variant {
			optimizer: decenter_primitives::spec::Optimizer::Sgd,
			learning_rate: decenter_primitives::spec::Fixed9(lr),
			schedule: decenter_primitives::spec::Schedule::Constant,
			batch_size: 32,
			seed: 1,
		};
		let variants = BoundedVec::truncate_from(vec![variant(100_000_000), variant(10_000_000)]);
		let sweep = order_spec(Workload::Sweep(variants), 40, 2);
		assert_eq!(
			ProofOfTrain::divergences(game.id, &game.round(), &sweep),
			vec![Vec::<u32>::new(); 3]
		);
	});
}

#[test]
fn worker_that_trains_fewer_steps_than_specified_is_caught() {
	new_test_ext().execute_with(|| {
		// Trains 5 of 8 steps and forges the rest, claiming the full count.
		let mut game = Game::start(Workload::Replicas(1), 8, 2, 1, 6);
		let cheat = game.runs[0].0;
		game.set_run(0, Run::forged_after(game.id, 5));
		game.prove();
		game.report(&[]);
		game.next_block();
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Failed);
		assert_eq!(faults(), vec![(cheat, Fault::WrongResult)]);
		assert_eq!(bonded(cheat), BOND - SLASH);
	});
}

#[test]
fn worker_that_admits_fewer_checkpoints_cannot_reveal_and_is_faulted() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 8, 2, 1, 3);
		let (cheat, run) = game.runs[0].clone();
		let mut short = run.commitment();
		short.checkpoints -= 1;
		let checkpoints = run.checkpoints()[..4].to_vec();
		short.checkpoint_root = merkle::root(&checkpoints);
		assert_ok!(ProofOfTrain::commit_proof(
			RuntimeOrigin::signed(cheat),
			game.id,
			sealed(&short.hash(), cheat)
		));
		assert_noop!(
			ProofOfTrain::reveal_proof(
				RuntimeOrigin::signed(cheat),
				game.id,
				short,
				salt(cheat),
				BoundedVec::truncate_from(checkpoints)
			),
			Error::<Test>::WrongCheckpointCount
		);
		assert_noop!(
			ProofOfTrain::advance(RuntimeOrigin::signed(CLIENT), game.id),
			Error::<Test>::TooEarly
		);
		run_to(System::block_number() + WINDOW + 1);
		assert_ok!(ProofOfTrain::advance(RuntimeOrigin::signed(CLIENT), game.id));
		assert_eq!(faults(), vec![(cheat, Fault::Unrevealed)]);
		assert_eq!(game.status(), OrderStatus::Failed);
		assert_eq!(bonded(cheat), BOND - SLASH);
		assert_eq!(free(CLIENT), START_BALANCE);
	});
}

#[test]
fn replica_that_copies_another_cannot_reveal_it_and_is_slashed() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(2), 4, 2, 2, 3);
		let (honest, run) = game.runs[0].clone();
		let copier = game.runs[1].0;
		assert_ok!(ProofOfTrain::commit_proof(
			RuntimeOrigin::signed(honest),
			game.id,
			sealed(&run.commitment().hash(), honest)
		));
		// The copier has nothing to seal yet: commits are closed before any reveal.
		assert_ok!(ProofOfTrain::commit_proof(RuntimeOrigin::signed(copier), game.id, [0; 32]));
		assert_noop!(
			ProofOfTrain::reveal_proof(
				RuntimeOrigin::signed(honest),
				game.id,
				run.commitment(),
				salt(copier),
				BoundedVec::truncate_from(run.checkpoints())
			),
			Error::<Test>::SealMismatch
		);
		assert_ok!(game.reveal(0));
		// Replaying the honest reveal (its commitment and salt) does not match the copier's seal.
		assert_noop!(
			ProofOfTrain::reveal_proof(
				RuntimeOrigin::signed(copier),
				game.id,
				run.commitment(),
				salt(honest),
				BoundedVec::truncate_from(run.checkpoints())
			),
			Error::<Test>::SealMismatch
		);
		run_to(System::block_number() + WINDOW + 1);
		assert_ok!(ProofOfTrain::advance(RuntimeOrigin::signed(CLIENT), game.id));
		assert_eq!(faults(), vec![(copier, Fault::Unrevealed)]);
		game.next_block();
		let validators = game.validators();
		// Only the honest replica is checked.
		assert!(game.round().tasks.iter().all(|t| t.worker == 0));
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
		assert_eq!(free(honest), START_BALANCE - BOND + 4_000);
		assert_eq!(bonded(copier), BOND - SLASH);
		assert_eq!(free(copier), START_BALANCE - BOND);
		for v in &validators {
			assert_eq!(free(*v), START_BALANCE - BOND + 500);
		}
		// The copier's 4 000 stays with the client.
		assert_eq!(free(CLIENT), START_BALANCE - 4_000 - 1_500 - 500);
	});
}

#[test]
fn lazy_validator_is_caught_by_the_probe_and_pays_the_worker() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 6);
		let worker = game.runs[0].0;
		game.prove();
		let validators = game.validators();
		let lazy = validators[1];
		game.report(&[(lazy, Checker::Lazy)]);
		game.next_block();
		let referees = game.referees();
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
		assert_eq!(faults(), vec![(lazy, Fault::WrongResult)]);
		assert_eq!(free(worker), START_BALANCE - BOND + 8_000 + SLASH);
		assert_eq!(bonded(lazy), BOND - SLASH);
		// The pool is shared by the two honest validators and three referees.
		assert_eq!(free(lazy), START_BALANCE - BOND);
		for v in [validators[0], validators[2]].iter().chain(&referees) {
			assert_eq!(free(*v), START_BALANCE - BOND + 300);
		}
		assert_eq!(certificates(), 1 + 1 + 5);
	});
}

#[test]
fn false_accuser_loses_its_slash_to_the_accused() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 6);
		let worker = game.runs[0].0;
		game.prove();
		let accuser = game.validators()[0];
		game.report(&[(accuser, Checker::FalseAccuser)]);
		game.next_block();
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
		assert_eq!(faults(), vec![(accuser, Fault::WrongResult)]);
		assert_eq!(free(worker), START_BALANCE - BOND + 8_000 + SLASH);
		assert_eq!(bonded(accuser), BOND - SLASH);
		assert_eq!(free(accuser), START_BALANCE - BOND);
	});
}

#[test]
fn worker_and_validator_colluding_against_an_honest_validator_are_both_slashed() {
	new_test_ext().execute_with(|| {
		let mut game = Game::start(Workload::Replicas(1), 4, 2, 1, 6);
		let cheat = game.runs[0].0;
		game.set_run(0, Run::forged_after(game.id, 0));
		game.prove();
		let validators = game.validators();
		// The first two cover for the worker; the third is honest.
		game.report(&[(validators[0], Checker::Colluding), (validators[1], Checker::Colluding)]);
		game.next_block();
		let referees = game.referees();
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Failed);
		let mut caught = faults();
		caught.sort();
		let mut expected = vec![
			(cheat, Fault::WrongResult),
			(validators[0], Fault::WrongResult),
			(validators[1], Fault::WrongResult),
		];
		expected.sort();
		assert_eq!(caught, expected);
		// The honest validator gets every slash and a quarter of the pool (with 3 referees).
		let honest = validators[2];
		assert_eq!(free(honest), START_BALANCE - BOND + 375 + 3 * SLASH);
		for r in &referees {
			assert_eq!(free(*r), START_BALANCE - BOND + 375);
		}
		for colluder in [validators[0], validators[1], cheat] {
			assert_eq!(bonded(colluder), BOND - SLASH);
			assert_eq!(free(colluder), START_BALANCE - BOND);
		}
		assert_eq!(free(CLIENT), START_BALANCE - 1_500);
	});
}

#[test]
fn worker_that_withholds_a_checkpoint_is_slashed_to_the_validator() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 6);
		let worker = game.runs[0].0;
		game.prove();
		let asking = game.validators()[0];
		game.report(&[(asking, Checker::CannotFetch)]);
		game.next_block();
		// The worker stays silent; referees cannot fetch either.
		let referees = game.referees();
		let silent: Vec<_> = referees.iter().map(|r| (*r, Checker::CannotFetch)).collect();
		game.report(&silent);
		assert_eq!(game.status(), OrderStatus::Failed);
		assert_eq!(faults(), vec![(worker, Fault::Withheld)]);
		assert_eq!(bonded(worker), BOND - SLASH);
		assert_eq!(free(asking), START_BALANCE - BOND + 250 + SLASH);
	});
}

#[test]
fn withheld_checkpoint_posted_on_chain_lets_referees_decide() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 6);
		let worker = game.runs[0].0;
		game.prove();
		let asking = game.validators()[0];
		let other = game.validators()[1];
		game.report(&[(asking, Checker::CannotFetch)]);
		game.next_block();
		let withheld = game.withheld_segments();
		assert_eq!(withheld, vec![0, 1]);
		let bytes = |segment: u32, first: f32| game.checkpoint(segment, first);
		assert_noop!(
			ProofOfTrain::post_checkpoint(RuntimeOrigin::signed(worker), game.id, 0, bytes(0, 2.0)),
			Error::<Test>::CheckpointMismatch
		);
		assert_noop!(
			ProofOfTrain::post_checkpoint(RuntimeOrigin::signed(worker), game.id, 7, bytes(0, 1.0)),
			Error::<Test>::NotWithheld
		);
		for segment in withheld {
			assert_ok!(ProofOfTrain::post_checkpoint(
				RuntimeOrigin::signed(worker),
				game.id,
				segment,
				bytes(segment, 1.0)
			));
		}
		assert_noop!(
			ProofOfTrain::post_checkpoint(RuntimeOrigin::signed(worker), game.id, 0, bytes(0, 1.0)),
			Error::<Test>::NotWithheld
		);
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
		assert!(faults().is_empty());
		assert_eq!(free(worker), START_BALANCE - BOND + 8_000);
		// Asking was not a fault, but the referees re-executed that segment, not the asker: it
		// is not paid, the two other validators and three referees share the pool.
		assert_eq!(free(asking), START_BALANCE - BOND);
		assert_eq!(bonded(asking), BOND);
		assert_eq!(free(other), START_BALANCE - BOND + 300);
	});
}

#[test]
fn silent_validator_is_faulted_and_the_others_settle() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 3);
		let worker = game.runs[0].0;
		game.prove();
		let validators = game.validators();
		game.report(&[(validators[2], Checker::Silent)]);
		assert_eq!(game.status(), OrderStatus::Completed);
		assert_eq!(faults(), vec![(validators[2], Fault::Unreported)]);
		assert_eq!(free(worker), START_BALANCE - BOND + 8_000);
		assert_eq!(free(validators[0]), START_BALANCE - BOND + 750);
		assert_eq!(bonded(validators[2]), BOND - SLASH);
	});
}

#[test]
fn a_worker_without_a_quorum_of_honest_checks_is_neither_paid_nor_certified() {
	new_test_ext().execute_with(|| {
		// Two of three validators stay silent: one honest re-execution is below the quorum of
		// two, so the work is not accepted on its word, whoever caused it.
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 3);
		let worker = game.runs[0].0;
		game.prove();
		let validators = game.validators();
		game.report(&[(validators[1], Checker::Silent), (validators[2], Checker::Silent)]);
		assert_eq!(game.status(), OrderStatus::Failed);
		System::assert_has_event(Event::Unchecked { order: game.id, worker, checks: 1 }.into());
		// The worker keeps its bond but is not paid; the client gets all but the honest
		// validator's pay back; nothing is certified.
		assert_eq!((free(worker), bonded(worker)), (START_BALANCE - BOND, BOND));
		assert_eq!(free(validators[0]), START_BALANCE - BOND + 1_500);
		assert_eq!(free(CLIENT), START_BALANCE - 1_500);
		assert_eq!(certificates(), 0);
	});
}

/// Fewer validators than `V` drawn (but the quorum): each samples more segments, so every
/// worker still gets `V × S` samples and the detection odds of the docs' table hold.
#[test]
fn a_short_draw_keeps_every_workers_sample_count() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(2), 40, 2, 2, 2);
		game.prove();
		let round = game.round();
		assert_eq!(round.validators.len(), 2);
		let v_times_s: u32 = <<Test as Config>::ValidatorsPerOrder as Get<u32>>::get()
			* <<Test as Config>::SegmentsPerValidator as Get<u32>>::get();
		for slot in 0..2 {
			for checker in 0..2 {
				let count =
					round.tasks.iter().filter(|t| t.worker == slot && t.checker == checker).count()
						as u32;
				assert_eq!(count, v_times_s / 2);
			}
		}
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
	});
	// Uneven shares: the first checkers take one more.
	assert_eq!(
		(0..5).map(|c| ProofOfTrain::samples_of(c, 5)).collect::<Vec<_>>(),
		vec![3, 3, 2, 2, 2]
	);
}

#[test]
fn validators_claiming_unavailable_cannot_deny_an_honest_worker_its_quorum() {
	new_test_ext().execute_with(|| {
		// Every drawn validator says it could not fetch; the worker posts the checkpoints and
		// the referees' re-executions make its quorum.
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 6);
		let worker = game.runs[0].0;
		game.prove();
		let validators = game.validators();
		let claims: Vec<_> = validators.iter().map(|v| (*v, Checker::CannotFetch)).collect();
		game.report(&claims);
		game.next_block();
		for segment in game.withheld_segments() {
			assert_ok!(ProofOfTrain::post_checkpoint(
				RuntimeOrigin::signed(worker),
				game.id,
				segment,
				game.checkpoint(segment, 1.0)
			));
		}
		let referees = game.referees();
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
		assert!(faults().is_empty());
		assert_eq!(free(worker), START_BALANCE - BOND + 8_000);
		// The validators that re-executed nothing are not paid; the referees share the pool.
		for v in &validators {
			assert_eq!(free(*v), START_BALANCE - BOND);
		}
		for r in &referees {
			assert_eq!(free(*r), START_BALANCE - BOND + 500);
		}
		assert_eq!(certificates(), 1 + 1 + 3);
	});
}

#[test]
fn silent_parties_cannot_stall_the_game_the_offchain_worker_advances_it() {
	use codec::Decode;
	use frame_support::{pallet_prelude::Authorize, traits::Hooks};
	use sp_core::offchain::{testing::TestTransactionPoolExt, TransactionPoolExt};
	use sp_runtime::transaction_validity::TransactionSource;
	let mut ext = new_test_ext();
	let (pool, pool_state) = TestTransactionPoolExt::new();
	ext.register_extension(TransactionPoolExt::new(pool));
	ext.execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 3);
		let worker = game.runs[0].0;
		game.prove();
		let validators = game.validators();
		let call = Call::<Test>::advance_lapsed { order: game.id };
		let submitted = |now| {
			pool_state.write().transactions.clear();
			ProofOfTrain::offchain_worker(now);
			pool_state
				.read()
				.transactions
				.iter()
				.map(|xt| {
					frame_system::mocking::MockUncheckedExtrinsic::<Test>::decode(&mut &xt[..])
						.expect("a transaction")
						.function
				})
				.collect::<Vec<_>>()
		};
		// Nobody reports. Within the window nothing is due and the call is refused.
		let Phase::Reporting { until } = game.round().phase else { panic!("not reporting") };
		assert!(submitted(until).is_empty());
		assert!(call.authorize(TransactionSource::External).unwrap().is_err());
		assert_noop!(
			ProofOfTrain::advance_lapsed(RuntimeOrigin::signed(CLIENT), game.id),
			sp_runtime::DispatchError::BadOrigin
		);
		// Once each window passes, the off-chain worker submits the advance and nobody else
		// calls anything; the round ends.
		for _ in 0..5 {
			let until = match game.round().phase {
				Phase::Revealing { until }
				| Phase::Reporting { until }
				| Phase::RevealingReports { until }
				| Phase::Refereeing { until }
				| Phase::RevealingVerdicts { until } => until,
				other => panic!("unexpected phase {other:?}"),
			};
			run_to(until + 1);
			assert_eq!(submitted(until + 1), vec![RuntimeCall::ProofOfTrain(call.clone())]);
			assert!(call.authorize(TransactionSource::External).unwrap().is_ok());
			assert_ok!(ProofOfTrain::advance_lapsed(
				frame_system::RawOrigin::Authorized.into(),
				game.id
			));
			if !Rounds::<Test>::contains_key(game.id) {
				break;
			}
		}
		assert!(!Rounds::<Test>::contains_key(game.id));
		assert_eq!(game.status(), OrderStatus::Failed);
		let mut silent = faults();
		silent.sort();
		let mut expected: Vec<_> =
			validators.into_iter().chain([worker]).map(|who| (who, Fault::Unreported)).collect();
		expected.sort();
		assert_eq!(silent, expected);
		// Nobody checked anything, so nobody is paid and the client gets its budget back.
		assert_eq!(free(CLIENT), START_BALANCE);
		assert!(call.authorize(TransactionSource::External).unwrap().is_err());
	});
}

#[test]
fn sweep_certifies_the_variant_with_the_best_median_accuracy() {
	new_test_ext().execute_with(|| {
		use decenter_primitives::{
			order::Variant,
			spec::{Fixed9, Optimizer, Schedule},
		};
		let variant = |lr: u32| Variant {
			optimizer: Optimizer::Sgd,
			learning_rate: Fixed9(lr),
			schedule: Schedule::Constant,
			batch_size: 32,
			seed: 1,
		};
		let variants = BoundedVec::truncate_from(vec![variant(100_000_000), variant(10_000_000)]);
		let game = Game::start(Workload::Sweep(variants), 4, 2, 2, 3);
		game.prove();
		game.report(&[]);
		assert_eq!(game.status(), OrderStatus::Completed);
		// The mock evaluations give slot 1 the higher accuracy.
		let settled = System::events().into_iter().find_map(|r| match r.event {
			RuntimeEvent::ProofOfTrain(Event::Settled { winner, .. }) => Some(winner),
			_ => None,
		});
		assert_eq!(settled, Some(Some(game.runs[1].0)));
		let record = pallet_certificates::Issued::<Test>::get(0).unwrap().record;
		assert_eq!(record.metrics, Metrics { loss: 499_999_999, accuracy: 900_001 });
	});
}

#[test]
fn calls_reject_bad_input_with_named_errors() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 3);
		let (worker, run) = game.runs[0].clone();
		assert_noop!(
			ProofOfTrain::commit_proof(RuntimeOrigin::signed(CLIENT), game.id, [0; 32]),
			Error::<Test>::NotAWorker
		);
		assert_noop!(
			ProofOfTrain::commit_proof(RuntimeOrigin::signed(worker), 77, [0; 32]),
			Error::<Test>::WrongPhase
		);
		assert_noop!(
			ProofOfTrain::advance(RuntimeOrigin::signed(CLIENT), 77),
			Error::<Test>::UnknownOrder
		);
		game.commit_all();
		assert_noop!(
			ProofOfTrain::commit_proof(RuntimeOrigin::signed(worker), game.id, [0; 32]),
			Error::<Test>::WrongPhase
		);
		let mut wrong_root = run.checkpoints();
		wrong_root[1] = [0; 32];
		assert_noop!(
			ProofOfTrain::reveal_proof(
				RuntimeOrigin::signed(worker),
				game.id,
				run.commitment(),
				salt(worker),
				BoundedVec::truncate_from(wrong_root)
			),
			Error::<Test>::CheckpointRootMismatch
		);
		assert_ok!(game.reveal(0));
		assert_noop!(game.reveal(0), Error::<Test>::WrongPhase);
		game.next_block();
		let validator = game.validators()[0];
		assert_noop!(
			ProofOfTrain::reveal_report(
				RuntimeOrigin::signed(validator),
				game.id,
				Report::default(),
				salt(validator)
			),
			Error::<Test>::WrongPhase
		);
		assert_noop!(
			ProofOfTrain::commit_report(RuntimeOrigin::signed(CLIENT), game.id, [0; 32]),
			Error::<Test>::NotAReporter
		);
		// A report with the wrong number of claims is refused at reveal; the validator may
		// reveal a correct one only if that is what it sealed, so it is faulted at the deadline.
		let short = Report::default();
		assert_ok!(ProofOfTrain::commit_report(
			RuntimeOrigin::signed(validator),
			game.id,
			sealed(&short.hash(), validator)
		));
		assert_noop!(
			ProofOfTrain::commit_report(RuntimeOrigin::signed(validator), game.id, [0; 32]),
			Error::<Test>::AlreadyCommitted
		);
		// A worker's claim must repeat its own checkpoint as the end hash.
		let round = game.round();
		let mut lying = game.report_of(worker, Checker::Honest);
		lying.claims[0] = Claim::Computed { end: [1; 32], probe: [1; 32] };
		assert_ok!(ProofOfTrain::commit_report(
			RuntimeOrigin::signed(worker),
			game.id,
			sealed(&lying.hash(), worker)
		));
		for v in game.validators().into_iter().skip(1) {
			let report = game.report_of(v, Checker::Honest);
			assert_ok!(ProofOfTrain::commit_report(
				RuntimeOrigin::signed(v),
				game.id,
				sealed(&report.hash(), v)
			));
		}
		assert!(matches!(game.round().phase, Phase::RevealingReports { .. }));
		assert_noop!(
			ProofOfTrain::reveal_report(
				RuntimeOrigin::signed(validator),
				game.id,
				short,
				salt(validator)
			),
			Error::<Test>::WrongClaimCount
		);
		assert_noop!(
			ProofOfTrain::reveal_report(
				RuntimeOrigin::signed(worker),
				game.id,
				lying,
				salt(worker)
			),
			Error::<Test>::InconsistentClaim
		);
		assert_noop!(
			ProofOfTrain::reveal_report(
				RuntimeOrigin::signed(worker),
				game.id,
				game.report_of(worker, Checker::Honest),
				salt(worker)
			),
			Error::<Test>::SealMismatch
		);
		let _ = round;
	});
}

#[test]
fn expired_order_drops_its_round_and_releases_validators() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 3);
		game.prove();
		let validators = game.validators();
		// Nobody reports until the order's validation deadline; the client expires it.
		run_to(301);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(CLIENT), game.id));
		assert_eq!(game.status(), OrderStatus::Expired);
		assert_ok!(ProofOfTrain::advance(RuntimeOrigin::signed(CLIENT), game.id));
		assert!(Rounds::<Test>::get(game.id).is_none());
		for v in validators {
			assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(v), BOND));
		}
	});
}

#[test]
fn no_validator_available_waits_in_the_queue() {
	new_test_ext().execute_with(|| {
		let game = Game::start(Workload::Replicas(1), 4, 2, 1, 0);
		game.prove();
		assert!(matches!(game.round().phase, Phase::AwaitingValidators));
		assert_eq!(PendingDraws::<Test>::get().into_inner(), vec![game.id]);
		register(10, true);
		game.next_block();
		// One validator is below the quorum: the draw waits rather than start a check that no
		// worker could pass, and the lone validator is not held.
		assert!(matches!(game.round().phase, Phase::AwaitingValidators));
		assert_eq!(PendingDraws::<Test>::get().into_inner(), vec![game.id]);
		assert_eq!(pallet_compute_staking::Participants::<Test>::get(10).unwrap().assignments, 0);
		register(11, true);
		game.next_block();
		let mut drawn = game.validators();
		drawn.sort();
		assert_eq!(drawn, vec![10, 11]);
		assert!(PendingDraws::<Test>::get().is_empty());
	});
}

#[test]
fn segment_sampling_is_distinct_and_covers_small_runs() {
	use crate::features::sample_segments;
	assert_eq!(sample_segments(&1u8, 3, 4), vec![0, 1, 2]);
	for seed in 0..200u32 {
		let picked = sample_segments(&seed, 100, 4);
		assert_eq!(picked.len(), 4);
		assert!(picked.windows(2).all(|w| w[0] < w[1]));
		assert!(picked.iter().all(|s| *s < 100));
	}
	// Every segment is drawn about equally often.
	let mut counts = [0u32; 10];
	for seed in 0..2_000u32 {
		for s in sample_segments(&seed, 10, 2) {
			counts[s as usize] += 1;
		}
	}
	assert!(counts.iter().all(|c| (340..=460).contains(c)), "{counts:?}");
}

#[test]
fn balances_are_conserved_through_a_disputed_order() {
	new_test_ext().execute_with(|| {
		let total = Balances::total_issuance();
		let mut game = Game::start(Workload::Replicas(1), 4, 2, 1, 6);
		game.set_run(0, Run::forged_after(game.id, 0));
		game.prove();
		game.report(&[]);
		game.next_block();
		game.report(&[]);
		assert_eq!(Balances::total_issuance(), total);
		let _ = <Balances as Currency<AccountId>>::total_issuance();
	});
}

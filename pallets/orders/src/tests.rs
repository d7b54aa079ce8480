//! Tests of every call, transition and error, the payout interface, and conservation of funds.

use crate::{mock::*, *};
use decenter_primitives::{
	order::{Variant, Workload},
	spec::{Fixed9, Loss, Optimizer, Schedule},
};
use frame_support::{
	assert_noop, assert_ok,
	traits::{
		fungible::{Inspect, InspectHold},
		Hooks,
	},
};
use pallet_compute_staking::{ParticipantStatus, Role};

const CLIENT: AccountId = 1;
const CAPACITY: u32 = 10;

fn escrow(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::Escrow.into(), &who)
}

fn deposit_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::Deposit.into(), &who)
}

fn free(who: AccountId) -> Balance {
	Balances::balance(&who)
}

fn register_workers(accounts: &[AccountId]) {
	for &who in accounts {
		assert_ok!(ComputeStaking::register_worker(
			RuntimeOrigin::signed(who),
			100,
			BoundedVec::truncate_from(b"gpu".to_vec()),
			BoundedVec::truncate_from(b"http://w".to_vec()),
			WORKER_BOND,
		));
	}
}

/// Creates an order of `replicas` starting next block, training deadline 20, validation 40.
fn create(replicas: u32, budget: Balance) -> OrderId {
	let id = NextOrderId::<Test>::get();
	assert_ok!(TrainingOrders::create_order(
		RuntimeOrigin::signed(CLIENT),
		Box::new(order_spec(replicas)),
		CAPACITY,
		None,
		20,
		40,
		budget
	));
	id
}

fn order(id: OrderId) -> OrderOf<Test> {
	Orders::<Test>::get(id).expect("order exists")
}

fn has_event(event: Event<Test>) -> bool {
	System::events()
		.iter()
		.any(|record| record.event == RuntimeEvent::TrainingOrders(event.clone()))
}

/// An order of two replicas, assigned at block 2 to two of workers 10..=12, confirmed by both.
fn training_order(budget: Balance) -> (OrderId, Vec<AccountId>) {
	register_workers(&[10, 11, 12]);
	let id = create(2, budget);
	run_to(2);
	let workers = TrainingOrders::workers(id);
	for w in &workers {
		assert_ok!(TrainingOrders::confirm_assignment(RuntimeOrigin::signed(*w), id));
	}
	assert_eq!(order(id).status, OrderStatus::Training);
	(id, workers)
}

#[test]
fn create_order_holds_budget_and_deposit() {
	new_test_ext().execute_with(|| {
		let id = create(2, 5_000);
		assert_eq!((escrow(CLIENT), deposit_held(CLIENT)), (5_000, DEPOSIT));
		assert_eq!(free(CLIENT), 100_000 - 5_000 - DEPOSIT - FEE);
		assert_eq!(free(TREASURY), 1 + FEE);
		let o = order(id);
		assert_eq!(
			(o.status, o.budget, o.capacity, o.timetable.start_at),
			(OrderStatus::Open, 5_000, CAPACITY, 2)
		);
		assert_eq!(OpenOrders::<Test>::get().to_vec(), vec![id]);
		assert_eq!(ClientOrders::<Test>::get(CLIENT).to_vec(), vec![id]);
		assert_eq!(StartQueue::<Test>::get(2).to_vec(), vec![id]);
		assert_eq!(NextOrderId::<Test>::get(), id + 1);
		assert!(has_event(Event::OrderCreated {
			order: id,
			client: CLIENT,
			budget: 5_000,
			fee: FEE,
			workers: 2,
			start_at: 2
		}));
	});
}

fn create_with(spec: decenter_primitives::order::OrderSpec) -> DispatchResult {
	TrainingOrders::create_order(
		RuntimeOrigin::signed(CLIENT),
		Box::new(spec),
		CAPACITY,
		None,
		20,
		40,
		5_000,
	)
}

#[test]
fn create_order_rejects_bad_specs() {
	new_test_ext().execute_with(|| {
		let mut spec = order_spec(1);
		spec.training.steps = 0;
		assert_noop!(create_with(spec), Error::<Test>::ZeroSteps);
		let mut spec = order_spec(1);
		spec.training.batch_size = 0;
		assert_noop!(create_with(spec), Error::<Test>::InvalidTrainingSpec);
		let mut spec = order_spec(1);
		spec.training.batch_size = 2_000;
		assert_noop!(create_with(spec), Error::<Test>::BatchLargerThanDataset);
		let mut spec = order_spec(1);
		spec.dataset.records = 0;
		assert_noop!(create_with(spec), Error::<Test>::EmptyDataset);
		let mut spec = order_spec(1);
		spec.validation.features = 63;
		assert_noop!(create_with(spec), Error::<Test>::FeatureMismatch);
		let mut spec = order_spec(1);
		spec.training.model.loss = Loss::MeanSquaredError;
		assert_noop!(create_with(spec), Error::<Test>::LabelMismatch);
		assert_noop!(create_with(order_spec(0)), Error::<Test>::BadWorkerCount);
		assert_noop!(create_with(order_spec(9)), Error::<Test>::BadWorkerCount);
		let mut spec = order_spec(1);
		spec.workload = Workload::Sweep(BoundedVec::new());
		assert_noop!(create_with(spec), Error::<Test>::BadWorkerCount);
		let mut spec = order_spec(1);
		spec.workload = Workload::Sweep(BoundedVec::truncate_from(vec![Variant {
			optimizer: Optimizer::Momentum { momentum: Fixed9(1_000_000_000) },
			learning_rate: Fixed9(1),
			schedule: Schedule::Constant,
			batch_size: 8,
			seed: 2,
		}]));
		assert_noop!(create_with(spec), Error::<Test>::InvalidTrainingSpec);
	});
}

#[test]
fn create_order_rejects_bad_money_and_times() {
	new_test_ext().execute_with(|| {
		let call = |capacity, start, training, validation, budget| {
			TrainingOrders::create_order(
				RuntimeOrigin::signed(CLIENT),
				Box::new(order_spec(1)),
				capacity,
				start,
				training,
				validation,
				budget,
			)
		};
		assert_noop!(call(0, None, 20, 40, 5_000), Error::<Test>::CapacityZero);
		assert_noop!(call(CAPACITY, None, 20, 40, MIN_BUDGET - 1), Error::<Test>::BudgetTooSmall);
		assert_noop!(call(CAPACITY, Some(1), 20, 40, 5_000), Error::<Test>::StartInPast);
		assert_noop!(call(CAPACITY, Some(5), 5, 40, 5_000), Error::<Test>::DeadlineBeforeStart);
		assert_noop!(call(CAPACITY, None, 20, 20, 5_000), Error::<Test>::ValidationBeforeTraining);
		assert_noop!(call(CAPACITY, None, 20, 40, 100_000), Error::<Test>::InsufficientBalance);
		assert_noop!(
			TrainingOrders::create_order(
				RuntimeOrigin::none(),
				Box::new(order_spec(1)),
				1,
				None,
				20,
				40,
				5_000
			),
			sp_runtime::DispatchError::BadOrigin
		);
	});
}

/// Creates an order of one replica for `CLIENT` with the given capacity and timetable.
fn create_timed(
	capacity: u32,
	start_at: Option<u64>,
	training_deadline: u64,
	validation_deadline: u64,
) -> DispatchResult {
	TrainingOrders::create_order(
		RuntimeOrigin::signed(CLIENT),
		Box::new(order_spec(1)),
		capacity,
		start_at,
		training_deadline,
		validation_deadline,
		5_000,
	)
}

#[test]
fn attack_fill_the_market_with_refundable_orders() {
	new_test_ext().execute_with(|| {
		// An attacker creating and cancelling orders to hold market slots pays the fee every
		// time; only the budget and deposit come back.
		for round in 1..=5u64 {
			// A new start block each time: cancelled orders keep their start slot's entry.
			run_to(round);
			let id = NextOrderId::<Test>::get();
			assert_ok!(create_timed(CAPACITY, None, 40, 60));
			assert_ok!(TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), id));
			assert_eq!(free(CLIENT), 100_000 - round * FEE);
			assert_eq!(free(TREASURY), 1 + round * FEE);
		}
		// Expiring an unserved order (as the client, to keep the reward) keeps the fee too.
		let id = NextOrderId::<Test>::get();
		assert_ok!(create_timed(CAPACITY, None, 40, 60));
		run_to(41);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(CLIENT), id));
		assert_eq!(free(CLIENT), 100_000 - 6 * FEE);
		// A client that cannot pay the fee on top of budget and deposit is refused whole.
		assert_noop!(
			TrainingOrders::create_order(
				RuntimeOrigin::signed(2),
				Box::new(order_spec(1)),
				CAPACITY,
				None,
				80,
				100,
				100_000 - DEPOSIT - FEE,
			),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn attack_take_bonds_with_an_impossible_deadline() {
	new_test_ext().execute_with(|| {
		// A training window shorter than fetching, `ComputeSlack` × the compute time and
		// delivering take would let a client have an honest worker slashed for missing it.
		let mut spec = order_spec(1);
		spec.training.steps = 200_000;
		spec.training.batch_size = 128;
		spec.training.checkpoint_interval = 10_000;
		let needed = TrainingOrders::min_training_window(&spec, CAPACITY).unwrap();
		// 6 × 2,410 parameters × 128 × 200,000 steps ≈ 370 GFLOP: 37.0 s at 10 GFLOP/s, so 38
		// one-second blocks, 4 times, and the confirmation window twice (fetching included).
		let window = TrainingOrders::confirm_window_of(&spec);
		assert_eq!(needed, window + u64::from(COMPUTE_SLACK) * 38 + CONFIRM_WINDOW);
		let create_spec = |deadline: u64| {
			TrainingOrders::create_order(
				RuntimeOrigin::signed(CLIENT),
				Box::new(spec.clone()),
				CAPACITY,
				Some(2),
				deadline,
				deadline + 20,
				5_000,
			)
		};
		assert_noop!(create_spec(2 + needed - 1), Error::<Test>::TrainingWindowTooShort);
		assert_ok!(create_spec(2 + needed));
		// The same work at ten times the capacity needs a tenth of the compute blocks.
		let faster = TrainingOrders::min_training_window(&spec, CAPACITY * 10).unwrap();
		assert_eq!(faster, window + u64::from(COMPUTE_SLACK) * 4 + CONFIRM_WINDOW);
	});
}

#[test]
fn attack_client_stops_serving_and_the_worker_declines_without_loss() {
	new_test_ext().execute_with(|| {
		// The worker drawn cannot fetch the inputs; declining costs it nothing, blames nobody,
		// and the order is drawn again without it.
		register_workers(&[10, 11]);
		let needed = TrainingOrders::min_training_window(&order_spec(1), CAPACITY).unwrap();
		let id = NextOrderId::<Test>::get();
		let deadline = 2 + 2 * RETRY + needed;
		assert_ok!(create_timed(CAPACITY, Some(2), deadline, deadline + MIN_VALIDATION_WINDOW));
		run_to(2);
		let drawn = TrainingOrders::workers(id)[0];
		let (treasury, client) = (free(TREASURY), free(CLIENT));
		let declined = TrainingOrders::decline_assignment(RuntimeOrigin::signed(drawn), id);
		assert_eq!(declined.map(|info| info.pays_fee), Ok(frame_support::dispatch::Pays::No));
		assert!(has_event(Event::AssignmentDeclined { order: id, worker: drawn }));
		assert!(has_event(Event::AssignmentDeferred { order: id, retry_at: Some(2 + RETRY) }));
		let declined = order(id);
		assert_eq!(declined.status, OrderStatus::Open);
		assert!(declined.workers.is_empty() && declined.assigned_at.is_none());
		assert_eq!(declined.declined.to_vec(), vec![drawn]);
		assert_eq!(ComputeStaking::stake(&drawn), WORKER_BOND);
		assert_eq!(ComputeStaking::free_capacity(&drawn), Some(100));
		assert_eq!(pallet_compute_staking::Reputations::<Test>::get(drawn).faults, 0);
		assert!(!WorkerOrders::<Test>::contains_key(drawn, id));
		assert!(OpenOrders::<Test>::get().contains(&id));
		assert_eq!((free(TREASURY), free(CLIENT)), (treasury, client));
		assert_eq!(escrow(CLIENT), 5_000);
		// The retry draws the other worker, never the one that declined.
		run_to(2 + RETRY);
		let other = if drawn == 10 { 11 } else { 10 };
		assert_eq!(TrainingOrders::workers(id), vec![other]);
		assert_eq!(order(id).status, OrderStatus::Assigned);
		// If it declines too, nobody is left: the order lapses unserved and is refunded.
		assert_ok!(TrainingOrders::decline_assignment(RuntimeOrigin::signed(other), id));
		run_to(2 + 2 * RETRY);
		assert_eq!(order(id).status, OrderStatus::Open);
		run_to(deadline);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(CLIENT), id));
		assert_eq!(free(CLIENT), 100_000 - FEE);
		for w in [10, 11] {
			assert_eq!(ComputeStaking::stake(&w), WORKER_BOND);
		}
	});
}

#[test]
fn only_an_assigned_unconfirmed_worker_declines_within_the_window() {
	new_test_ext().execute_with(|| {
		register_workers(&[10, 11, 12]);
		let id = create(2, 5_000);
		assert_noop!(
			TrainingOrders::decline_assignment(RuntimeOrigin::signed(10), id),
			Error::<Test>::WrongState
		);
		run_to(2);
		let workers = TrainingOrders::workers(id);
		let outsider = [10, 11, 12].into_iter().find(|w| !workers.contains(w)).unwrap();
		assert_noop!(
			TrainingOrders::decline_assignment(RuntimeOrigin::signed(outsider), id),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			TrainingOrders::decline_assignment(RuntimeOrigin::signed(CLIENT), id),
			Error::<Test>::NotAssigned
		);
		assert_ok!(TrainingOrders::confirm_assignment(RuntimeOrigin::signed(workers[0]), id));
		assert_noop!(
			TrainingOrders::decline_assignment(RuntimeOrigin::signed(workers[0]), id),
			Error::<Test>::AlreadyConfirmed
		);
		run_to(3 + TrainingOrders::confirm_window_of(&order_spec(2)));
		assert_noop!(
			TrainingOrders::decline_assignment(RuntimeOrigin::signed(workers[1]), id),
			Error::<Test>::ConfirmWindowOver
		);
		assert_noop!(
			TrainingOrders::decline_assignment(RuntimeOrigin::signed(1), 99),
			Error::<Test>::UnknownOrder
		);
	});
}

#[test]
fn after_max_workers_declines_the_next_ends_the_order_with_a_refund() {
	new_test_ext().execute_with(|| {
		register_workers(&[10]);
		let id = create(1, 5_000);
		run_to(2);
		Orders::<Test>::mutate(id, |o| {
			let o = o.as_mut().unwrap();
			o.declined = BoundedVec::truncate_from((20..28).collect());
		});
		assert_ok!(TrainingOrders::decline_assignment(RuntimeOrigin::signed(10), id));
		assert_eq!(order(id).status, OrderStatus::Expired);
		assert!(has_event(Event::OrderExpired {
			order: id,
			refunded: 5_000,
			reward: 0,
			caller: None
		}));
		assert_eq!(free(CLIENT), 100_000 - FEE);
		assert_eq!((escrow(CLIENT), deposit_held(CLIENT)), (0, 0));
		assert_eq!(ComputeStaking::stake(&10), WORKER_BOND);
		assert_eq!(ComputeStaking::free_capacity(&10), Some(100));
		assert!(!OpenOrders::<Test>::get().contains(&id));
	});
}

#[test]
fn a_late_retry_never_assigns_a_window_too_short_for_the_work() {
	new_test_ext().execute_with(|| {
		// Room for one retry only: the second would start too late to finish.
		let needed = TrainingOrders::min_training_window(&order_spec(1), CAPACITY).unwrap();
		let id = NextOrderId::<Test>::get();
		assert_ok!(create_timed(CAPACITY, Some(2), 2 + RETRY + needed, 2 + RETRY + needed + 20));
		run_to(2);
		assert!(has_event(Event::AssignmentDeferred { order: id, retry_at: Some(2 + RETRY) }));
		run_to(2 + RETRY);
		assert!(has_event(Event::AssignmentDeferred { order: id, retry_at: None }));
		// A worker arriving now is not drawn into an order it could not finish.
		register_workers(&[10]);
		run_to(2 + 2 * RETRY);
		assert_eq!(order(id).status, OrderStatus::Open);
		assert_eq!(ComputeStaking::free_capacity(&10), Some(100));
	});
}

#[test]
fn quote_matches_what_create_order_requires() {
	new_test_ext().execute_with(|| {
		let quote = TrainingOrders::quote(&order_spec(2), CAPACITY).unwrap();
		assert_eq!((quote.fee, quote.deposit, quote.min_budget), (FEE, DEPOSIT, MIN_BUDGET));
		assert_eq!(quote.confirm_window, TrainingOrders::confirm_window_of(&order_spec(2)));
		assert_eq!(
			(quote.min_validation_window, quote.max_validation_window, quote.max_training_window),
			(MIN_VALIDATION_WINDOW, MAX_VALIDATION_WINDOW, MAX_TRAINING_WINDOW)
		);
		// Every bound the quote gives is accepted, and one block less is not.
		let start = 1 + quote.max_start_delay;
		let deadline = start + quote.min_training_window;
		let call = |training: u64, validation: u64| {
			TrainingOrders::create_order(
				RuntimeOrigin::signed(CLIENT),
				Box::new(order_spec(2)),
				CAPACITY,
				Some(start),
				training,
				validation,
				quote.min_budget,
			)
		};
		assert_noop!(
			call(deadline - 1, deadline - 1 + quote.min_validation_window),
			Error::<Test>::TrainingWindowTooShort
		);
		assert_noop!(
			call(deadline, deadline + quote.min_validation_window - 1),
			Error::<Test>::ValidationWindowTooShort
		);
		assert_ok!(call(deadline, deadline + quote.min_validation_window));
		// What `create_order` would refuse, the quote refuses with the same error.
		assert_eq!(
			TrainingOrders::quote(&order_spec(2), 0),
			Err(Error::<Test>::CapacityZero.into())
		);
		assert_eq!(
			TrainingOrders::quote(&order_spec(9), CAPACITY),
			Err(Error::<Test>::BadWorkerCount.into())
		);
		let mut endless = order_spec(1);
		endless.training.steps = 250_000_000;
		endless.training.checkpoint_interval = 1_000_000;
		assert_eq!(
			TrainingOrders::quote(&endless, 1),
			Err(Error::<Test>::TrainingWindowTooShort.into())
		);
	});
}

#[test]
fn attack_client_takes_the_bond_of_a_worker_that_missed_its_deadline() {
	new_test_ext().execute_with(|| {
		// The client sets the deadlines, so a missed one must not pay it: the slash goes to
		// the treasury and the client only gets its own budget back.
		let (id, workers) = training_order(5_000);
		let treasury = free(TREASURY);
		run_to(21);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(CLIENT), id));
		assert_eq!(free(CLIENT), 100_000 - FEE);
		assert_eq!(free(TREASURY), treasury + 2 * (WORKER_BOND / 10));
		for w in &workers {
			assert_eq!(ComputeStaking::stake(w), WORKER_BOND - WORKER_BOND / 10);
		}
	});
}

#[test]
fn attack_order_more_capacity_than_anyone_can_declare() {
	new_test_ext().execute_with(|| {
		// Such an order could never be served and would hold an open slot until it expires.
		let max = <<Test as pallet_compute_staking::Config>::MaxCapacity as Get<u32>>::get();
		assert_noop!(create_timed(max + 1, None, 20, 40), Error::<Test>::CapacityTooLarge);
		assert_ok!(create_timed(max, None, 20, 40));
	});
}

#[test]
fn attack_hold_the_market_with_far_away_deadlines() {
	new_test_ext().execute_with(|| {
		// Start, training and validation windows are bounded: an order cannot sit in the
		// market (or lock workers) for an unbounded time.
		let start = 1 + MAX_START_DELAY;
		assert_noop!(
			create_timed(CAPACITY, Some(start + 1), start + 20, start + 40),
			Error::<Test>::StartTooLate
		);
		assert_noop!(
			create_timed(
				CAPACITY,
				Some(2),
				2 + MAX_TRAINING_WINDOW + 1,
				2 + MAX_TRAINING_WINDOW + 20
			),
			Error::<Test>::TrainingWindowTooLong
		);
		assert_noop!(
			create_timed(CAPACITY, None, 20, 20 + MAX_VALIDATION_WINDOW + 1),
			Error::<Test>::ValidationWindowTooLong
		);
		// Each bound itself is allowed.
		assert_ok!(create_timed(CAPACITY, Some(start), start + 20, start + 40));
		assert_ok!(create_timed(
			CAPACITY,
			Some(3),
			3 + MAX_TRAINING_WINDOW,
			3 + MAX_TRAINING_WINDOW + MAX_VALIDATION_WINDOW
		));
	});
}

#[test]
fn attack_validation_deadline_before_the_proof_game_ends() {
	new_test_ext().execute_with(|| {
		// A validation window shorter than the proof game would let the order expire, with a
		// full refund, while the workers' proofs are still being checked.
		assert_noop!(
			create_timed(CAPACITY, None, 20, 20 + MIN_VALIDATION_WINDOW - 1),
			Error::<Test>::ValidationWindowTooShort
		);
		assert_ok!(create_timed(CAPACITY, None, 20, 20 + MIN_VALIDATION_WINDOW));
	});
}

#[test]
fn attack_cancel_after_first_replica_delivers() {
	new_test_ext().execute_with(|| {
		// Cancelling once a replica delivered would pay only elapsed time for finished work.
		let (id, workers) = training_order(10_000);
		run_to(5);
		assert_ok!(TrainingOrders::mark_delivered(id, &workers[0]));
		let client = free(CLIENT);
		assert_noop!(
			TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), id),
			Error::<Test>::WorkDelivered
		);
		assert_eq!((free(CLIENT), escrow(CLIENT)), (client, 10_000));
		assert_eq!(order(id).status, OrderStatus::Training);
		// Once the other delivers, the order is checked and paid as usual.
		assert_ok!(TrainingOrders::mark_delivered(id, &workers[1]));
		assert_ok!(TrainingOrders::begin_validation(id, vec![20]));
		assert_ok!(TrainingOrders::complete(id, &workers, &[20]));
		assert_eq!(free(CLIENT), 100_000 - FEE - 10_000);
	});
}

#[test]
fn finished_orders_leave_storage_after_the_retention() {
	new_test_ext().execute_with(|| {
		// Three orders finish in block 1; at most two leave per block.
		let ids: Vec<OrderId> = (0..3u64)
			.map(|i| {
				let id = NextOrderId::<Test>::get();
				assert_ok!(create_timed(CAPACITY, Some(2 + i), 30, 50));
				assert_ok!(TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), id));
				id
			})
			.collect();
		let live = create(1, 5_000);
		run_to(RETENTION);
		assert!(ids.iter().all(|id| Orders::<Test>::contains_key(id)));
		run_to(1 + RETENTION);
		assert!(!Orders::<Test>::contains_key(ids[0]) && !Orders::<Test>::contains_key(ids[1]));
		assert!(Orders::<Test>::contains_key(ids[2]));
		run_to(2 + RETENTION);
		assert!(ids.iter().all(|id| !Orders::<Test>::contains_key(id)));
		assert_eq!(PruneQueueEnds::<Test>::get(), (3, 3));
		assert_eq!(PruneQueue::<Test>::iter().count(), 0);
		// An unfinished order is never pruned, and a pruned order is simply unknown.
		assert!(Orders::<Test>::contains_key(live));
		assert_noop!(
			TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), ids[0]),
			Error::<Test>::UnknownOrder
		);
	});
}

#[test]
fn create_order_bounds() {
	new_test_ext().execute_with(|| {
		// Two starts per block.
		create(1, 1_000);
		create(1, 1_000);
		assert_noop!(create_with(order_spec(1)), Error::<Test>::StartBlockFull);
		// Three unfinished orders per client.
		assert_ok!(TrainingOrders::create_order(
			RuntimeOrigin::signed(CLIENT),
			Box::new(order_spec(1)),
			1,
			Some(3),
			20,
			40,
			1_000
		));
		assert_noop!(
			TrainingOrders::create_order(
				RuntimeOrigin::signed(CLIENT),
				Box::new(order_spec(1)),
				1,
				Some(4),
				20,
				40,
				1_000
			),
			Error::<Test>::TooManyOrders
		);
		// Four open orders in all.
		assert_ok!(TrainingOrders::create_order(
			RuntimeOrigin::signed(2),
			Box::new(order_spec(1)),
			1,
			Some(4),
			20,
			40,
			1_000
		));
		assert_noop!(
			TrainingOrders::create_order(
				RuntimeOrigin::signed(3),
				Box::new(order_spec(1)),
				1,
				Some(4),
				20,
				40,
				1_000
			),
			Error::<Test>::TooManyOpenOrders
		);
	});
}

#[test]
fn workers_are_assigned_at_the_start_block_never_the_client() {
	new_test_ext().execute_with(|| {
		// The client is a worker too, with the largest stake.
		register_workers(&[10, 11]);
		assert_ok!(ComputeStaking::register_worker(
			RuntimeOrigin::signed(CLIENT),
			100,
			BoundedVec::truncate_from(b"gpu".to_vec()),
			BoundedVec::truncate_from(b"http://c".to_vec()),
			50_000,
		));
		let id = create(2, 5_000);
		assert_eq!(order(id).status, OrderStatus::Open);
		run_to(2);
		let o = order(id);
		assert_eq!(o.status, OrderStatus::Assigned);
		assert_eq!(o.assigned_at, Some(2));
		let mut workers = TrainingOrders::workers(id);
		workers.sort();
		assert_eq!(workers, vec![10, 11]);
		for w in [10, 11] {
			assert_eq!(ComputeStaking::free_capacity(&w), Some(100 - CAPACITY));
			assert!(WorkerOrders::<Test>::contains_key(w, id));
		}
		assert!(OpenOrders::<Test>::get().is_empty());
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::TrainingOrders(Event::WorkersAssigned { order, .. }) if order == id
		)));
	});
}

#[test]
fn assignment_is_deferred_until_enough_workers() {
	new_test_ext().execute_with(|| {
		register_workers(&[10]);
		let id = create(2, 5_000);
		run_to(2);
		assert_eq!(order(id).status, OrderStatus::Open);
		assert!(has_event(Event::AssignmentDeferred { order: id, retry_at: Some(2 + RETRY) }));
		// Nothing stays locked from the failed attempt.
		assert_eq!(ComputeStaking::free_capacity(&10), Some(100));
		register_workers(&[11]);
		run_to(2 + RETRY);
		assert_eq!(order(id).status, OrderStatus::Assigned);
	});
}

#[test]
fn chilled_and_busy_workers_are_not_assigned() {
	new_test_ext().execute_with(|| {
		register_workers(&[10, 11]);
		assert_ok!(ComputeStaking::chill(RuntimeOrigin::signed(10)));
		assert_ok!(ComputeStaking::lock_capacity(&11, 95));
		let id = create(1, 5_000);
		run_to(2);
		assert_eq!(order(id).status, OrderStatus::Open);
	});
}

#[test]
fn no_retry_after_the_training_deadline() {
	new_test_ext().execute_with(|| {
		// The training window is exactly what the work needs: a retry would leave too little.
		let needed = TrainingOrders::min_training_window(&order_spec(1), CAPACITY).unwrap();
		let id = NextOrderId::<Test>::get();
		assert_ok!(TrainingOrders::create_order(
			RuntimeOrigin::signed(CLIENT),
			Box::new(order_spec(1)),
			CAPACITY,
			Some(2),
			2 + needed,
			2 + needed + 20,
			5_000
		));
		run_to(2);
		assert!(has_event(Event::AssignmentDeferred { order: id, retry_at: None }));
	});
}

#[test]
fn confirm_assignment_starts_training() {
	new_test_ext().execute_with(|| {
		register_workers(&[10, 11]);
		let id = create(2, 5_000);
		assert_noop!(
			TrainingOrders::confirm_assignment(RuntimeOrigin::signed(10), id),
			Error::<Test>::WrongState
		);
		run_to(2);
		assert_noop!(
			TrainingOrders::confirm_assignment(RuntimeOrigin::signed(12), id),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			TrainingOrders::confirm_assignment(RuntimeOrigin::signed(10), 99),
			Error::<Test>::UnknownOrder
		);
		assert_ok!(TrainingOrders::confirm_assignment(RuntimeOrigin::signed(10), id));
		assert!(has_event(Event::AssignmentConfirmed { order: id, worker: 10 }));
		assert_noop!(
			TrainingOrders::confirm_assignment(RuntimeOrigin::signed(10), id),
			Error::<Test>::AlreadyConfirmed
		);
		assert_eq!(order(id).status, OrderStatus::Assigned);
		assert_ok!(TrainingOrders::confirm_assignment(RuntimeOrigin::signed(11), id));
		assert_eq!(order(id).status, OrderStatus::Training);
		assert_eq!(order(id).training_started_at, Some(2));
		assert!(has_event(Event::TrainingStarted { order: id }));
	});
}

#[test]
fn confirm_window_closes() {
	new_test_ext().execute_with(|| {
		register_workers(&[10]);
		let id = create(1, 5_000);
		// The window is `ConfirmWindow` plus the time the inputs take to fetch.
		let window = TrainingOrders::confirm_window_of(&order_spec(1));
		assert!(window > CONFIRM_WINDOW);
		run_to(2 + window + 1);
		assert_noop!(
			TrainingOrders::confirm_assignment(RuntimeOrigin::signed(10), id),
			Error::<Test>::ConfirmWindowOver
		);
	});
}

#[test]
fn cancel_before_training_refunds_everything() {
	new_test_ext().execute_with(|| {
		register_workers(&[10, 11]);
		let open = create(1, 5_000);
		assert_noop!(
			TrainingOrders::cancel_order(RuntimeOrigin::signed(2), open),
			Error::<Test>::NotClient
		);
		assert_noop!(
			TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), 99),
			Error::<Test>::UnknownOrder
		);
		assert_ok!(TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), open));
		assert!(has_event(Event::OrderCancelled { order: open, paid: 0, refunded: 5_000 }));
		// The fee is not refunded.
		assert_eq!((escrow(CLIENT), deposit_held(CLIENT), free(CLIENT)), (0, 0, 100_000 - FEE));
		assert_eq!(order(open).status, OrderStatus::Cancelled);
		assert!(
			ClientOrders::<Test>::get(CLIENT).is_empty() && OpenOrders::<Test>::get().is_empty()
		);
		// The stale queue entry is skipped at the start block.
		let assigned = create(2, 5_000);
		run_to(2);
		assert_eq!(order(assigned).status, OrderStatus::Assigned);
		assert_ok!(TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), assigned));
		assert_eq!(free(CLIENT), 100_000 - 2 * FEE);
		for w in [10, 11] {
			assert_eq!(ComputeStaking::free_capacity(&w), Some(100));
			assert!(!WorkerOrders::<Test>::contains_key(w, assigned));
		}
		assert_noop!(
			TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), assigned),
			Error::<Test>::WrongState
		);
	});
}

#[test]
fn cancel_during_training_pays_for_time() {
	new_test_ext().execute_with(|| {
		let (id, workers) = training_order(10_000);
		// Training started at 2, deadline 20: at block 11 half the window has passed.
		run_to(11);
		let before: Vec<_> = workers.iter().map(|w| free(*w)).collect();
		assert_ok!(TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), id));
		// Worker pool 8_000; half of it, 2_000 per worker.
		for (w, b) in workers.iter().zip(before) {
			assert_eq!(free(*w), b + 2_000);
		}
		assert!(has_event(Event::OrderCancelled { order: id, paid: 4_000, refunded: 6_000 }));
		assert_eq!(free(CLIENT), 100_000 - FEE - 4_000);
		assert_eq!(escrow(CLIENT), 0);
	});
}

#[test]
fn top_up() {
	new_test_ext().execute_with(|| {
		let id = create(1, 5_000);
		assert_ok!(TrainingOrders::top_up(RuntimeOrigin::signed(CLIENT), id, 500));
		assert_eq!((order(id).budget, escrow(CLIENT)), (5_500, 5_500));
		assert!(has_event(Event::ToppedUp { order: id, amount: 500 }));
		assert_noop!(
			TrainingOrders::top_up(RuntimeOrigin::signed(CLIENT), id, 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			TrainingOrders::top_up(RuntimeOrigin::signed(2), id, 5),
			Error::<Test>::NotClient
		);
		assert_noop!(
			TrainingOrders::top_up(RuntimeOrigin::signed(CLIENT), 99, 5),
			Error::<Test>::UnknownOrder
		);
		assert_noop!(
			TrainingOrders::top_up(RuntimeOrigin::signed(CLIENT), id, 1_000_000),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), id));
		assert_noop!(
			TrainingOrders::top_up(RuntimeOrigin::signed(CLIENT), id, 5),
			Error::<Test>::WrongState
		);
	});
}

#[test]
fn an_unserved_order_expires_with_a_refund() {
	new_test_ext().execute_with(|| {
		let id = create(1, 5_000);
		// Nobody served it by the last start that leaves the work room before the deadline.
		let latest_start = TrainingOrders::latest_start(&order(id));
		assert!(latest_start < 20);
		run_to(latest_start);
		assert_noop!(
			TrainingOrders::expire_order(RuntimeOrigin::signed(7), id),
			Error::<Test>::NotExpired
		);
		run_to(latest_start + 1);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(7), id));
		assert!(has_event(Event::OrderExpired {
			order: id,
			refunded: 5_000,
			reward: REWARD,
			caller: Some(7)
		}));
		assert_eq!(free(CLIENT), 100_000 - FEE - REWARD);
		assert_eq!(free(7), 100_000 + REWARD);
		assert_eq!(order(id).status, OrderStatus::Expired);
		assert_noop!(
			TrainingOrders::expire_order(RuntimeOrigin::signed(7), id),
			Error::<Test>::WrongState
		);
		assert_noop!(
			TrainingOrders::expire_order(RuntimeOrigin::signed(7), 99),
			Error::<Test>::UnknownOrder
		);
	});
}

/// The calls of the transactions the off-chain worker put in the pool.
fn pooled_calls(transactions: &[Vec<u8>]) -> Vec<RuntimeCall> {
	use codec::Decode;
	transactions
		.iter()
		.map(|bytes| {
			frame_system::mocking::MockUncheckedExtrinsic::<Test>::decode(&mut &bytes[..])
				.expect("a transaction")
				.function
		})
		.collect()
}

#[test]
fn lapsed_orders_expire_without_a_caller() {
	use frame_support::pallet_prelude::Authorize;
	use sp_core::offchain::{testing::TestTransactionPoolExt, TransactionPoolExt};
	use sp_runtime::transaction_validity::TransactionSource;
	let mut ext = new_test_ext();
	let (pool, pool_state) = TestTransactionPoolExt::new();
	ext.register_extension(TransactionPoolExt::new(pool));
	ext.execute_with(|| {
		register_workers(&[10]);
		let unserved = create(2, 5_000); // needs two workers; only one registered
		let served = create(1, 5_000);
		run_to(2);
		assert_ok!(TrainingOrders::confirm_assignment(RuntimeOrigin::signed(10), served));
		// Nothing is due yet: the off-chain worker submits nothing, and the call is refused.
		assert_eq!(TrainingOrders::latest_start(&order(unserved)), 5);
		TrainingOrders::offchain_worker(5);
		assert!(pooled_calls(&pool_state.read().transactions).is_empty());
		let call = Call::<Test>::expire_lapsed { order: unserved };
		assert!(call.authorize(TransactionSource::External).unwrap().is_err());
		assert_noop!(
			TrainingOrders::expire_lapsed(RuntimeOrigin::signed(7), unserved),
			sp_runtime::DispatchError::BadOrigin
		);

		// Past the training deadline both are due: one transaction each, nobody signing.
		run_to(21);
		TrainingOrders::offchain_worker(21);
		let calls = pooled_calls(&pool_state.read().transactions);
		assert_eq!(
			calls,
			vec![
				RuntimeCall::TrainingOrders(Call::expire_lapsed { order: unserved }),
				RuntimeCall::TrainingOrders(Call::expire_lapsed { order: served }),
			]
		);
		// Valid while due; dispatched with the authorized origin the pipeline gives it.
		assert!(call.authorize(TransactionSource::External).unwrap().is_ok());
		for order in [unserved, served] {
			assert_ok!(TrainingOrders::expire_lapsed(
				frame_system::RawOrigin::Authorized.into(),
				order
			));
			assert_eq!(order_status(order), OrderStatus::Expired);
		}
		// Nobody was rewarded: the client got its whole deposit back, and the worker that did
		// not deliver was slashed to the treasury as with `expire_order`.
		assert!(has_event(Event::OrderExpired {
			order: unserved,
			refunded: 5_000,
			reward: 0,
			caller: None
		}));
		assert_eq!(free(CLIENT), 100_000 - 2 * FEE);
		assert_eq!(ComputeStaking::stake(&10), WORKER_BOND - WORKER_BOND / 10);
		// Once expired, the transaction is no longer valid: it cannot be replayed.
		assert!(call.authorize(TransactionSource::External).unwrap().is_err());
		assert_noop!(
			TrainingOrders::expire_lapsed(frame_system::RawOrigin::Authorized.into(), unserved),
			Error::<Test>::WrongState
		);
	});
}

fn order_status(id: OrderId) -> OrderStatus {
	order(id).status
}

#[test]
fn the_client_expiring_its_own_order_gets_the_whole_deposit() {
	new_test_ext().execute_with(|| {
		let id = create(1, 5_000);
		run_to(21);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(CLIENT), id));
		assert_eq!(free(CLIENT), 100_000 - FEE);
	});
}

#[test]
fn a_worker_that_never_confirms_is_slashed() {
	new_test_ext().execute_with(|| {
		register_workers(&[10, 11]);
		let id = create(2, 5_000);
		run_to(2);
		let workers = TrainingOrders::workers(id);
		assert_ok!(TrainingOrders::confirm_assignment(RuntimeOrigin::signed(workers[0]), id));
		let window = TrainingOrders::confirm_window_of(&order_spec(2));
		run_to(2 + window);
		assert_noop!(
			TrainingOrders::expire_order(RuntimeOrigin::signed(7), id),
			Error::<Test>::NotExpired
		);
		run_to(3 + window);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(7), id));
		// 10% of the lazy worker's bond goes to the treasury; the confirmed one keeps its bond.
		assert!(has_event(Event::DeadlineMissed {
			order: id,
			worker: workers[1],
			slashed: WORKER_BOND / 10
		}));
		assert_eq!(free(CLIENT), 100_000 - FEE - REWARD);
		assert_eq!(free(TREASURY), 1 + FEE + WORKER_BOND / 10);
		assert_eq!(ComputeStaking::stake(&workers[0]), WORKER_BOND);
		assert_eq!(ComputeStaking::stake(&workers[1]), WORKER_BOND - WORKER_BOND / 10);
		assert_eq!(pallet_compute_staking::Reputations::<Test>::get(workers[1]).faults, 1);
		// Capacity is released for both.
		for w in &workers {
			assert_eq!(ComputeStaking::free_capacity(w), Some(100));
		}
	});
}

#[test]
fn workers_that_do_not_deliver_are_slashed_at_the_training_deadline() {
	new_test_ext().execute_with(|| {
		let (id, workers) = training_order(5_000);
		run_to(20);
		assert_noop!(
			TrainingOrders::expire_order(RuntimeOrigin::signed(7), id),
			Error::<Test>::NotExpired
		);
		run_to(21);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(7), id));
		for w in &workers {
			assert!(has_event(Event::DeadlineMissed {
				order: id,
				worker: *w,
				slashed: WORKER_BOND / 10
			}));
		}
		assert_eq!(order(id).status, OrderStatus::Expired);
		assert_eq!(free(CLIENT), 100_000 - FEE - REWARD);
		assert_eq!(free(TREASURY), 1 + FEE + 2 * WORKER_BOND / 10);
	});
}

#[test]
fn partial_delivery_moves_on_to_proving() {
	new_test_ext().execute_with(|| {
		let (id, workers) = training_order(5_000);
		assert_ok!(TrainingOrders::mark_delivered(id, &workers[0]));
		run_to(21);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(7), id));
		assert_eq!(order(id).status, OrderStatus::Proving);
		assert!(has_event(Event::DeadlineMissed {
			order: id,
			worker: workers[1],
			slashed: WORKER_BOND / 10
		}));
		assert_eq!(ComputeStaking::stake(&workers[0]), WORKER_BOND);
	});
}

#[test]
fn unsettled_validation_expires_with_a_refund() {
	new_test_ext().execute_with(|| {
		let (id, workers) = training_order(5_000);
		for w in &workers {
			assert_ok!(TrainingOrders::mark_delivered(id, w));
		}
		assert_ok!(TrainingOrders::begin_validation(id, vec![20, 21]));
		run_to(40);
		assert_noop!(
			TrainingOrders::expire_order(RuntimeOrigin::signed(7), id),
			Error::<Test>::NotExpired
		);
		run_to(41);
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(7), id));
		assert_eq!(free(CLIENT), 100_000 - FEE - REWARD);
	});
}

#[test]
fn honest_order_pays_out_exactly() {
	new_test_ext().execute_with(|| {
		let (id, workers) = training_order(10_000);
		assert_noop!(TrainingOrders::begin_validation(id, vec![20]), Error::<Test>::WrongState);
		assert_ok!(TrainingOrders::mark_delivered(id, &workers[0]));
		assert_noop!(
			TrainingOrders::mark_delivered(id, &workers[0]),
			Error::<Test>::AlreadyDelivered
		);
		assert_noop!(TrainingOrders::mark_delivered(id, &25), Error::<Test>::NotAssigned);
		assert_ok!(TrainingOrders::mark_delivered(id, &workers[1]));
		assert_eq!(order(id).status, OrderStatus::Proving);
		assert!(has_event(Event::ProvingStarted { order: id }));
		assert_noop!(
			TrainingOrders::cancel_order(RuntimeOrigin::signed(CLIENT), id),
			Error::<Test>::WrongState
		);
		assert_noop!(TrainingOrders::complete(id, &workers, &[20]), Error::<Test>::WrongState);
		assert_noop!(
			TrainingOrders::begin_validation(id, vec![20, 21, 22, 23, 24]),
			Error::<Test>::TooManyValidators
		);
		assert_ok!(TrainingOrders::begin_validation(id, vec![20, 21]));
		assert_eq!(order(id).status, OrderStatus::Validating);
		assert!(TrainingOrders::can_fetch(id, &20) && TrainingOrders::can_fetch(id, &workers[0]));

		let before: Vec<_> = workers.iter().chain(&[20, 21]).map(|w| free(*w)).collect();
		assert_ok!(TrainingOrders::complete(id, &workers, &[20, 21]));
		// Workers 80% (4_000 each), validators 15% (750 each), treasury 5%.
		let after: Vec<_> = workers.iter().chain(&[20, 21]).map(|w| free(*w)).collect();
		let gained: Vec<_> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
		assert_eq!(gained, vec![4_000, 4_000, 750, 750]);
		assert_eq!(free(TREASURY), 1 + FEE + 500);
		assert_eq!(free(CLIENT), 100_000 - FEE - 10_000);
		assert_eq!((escrow(CLIENT), deposit_held(CLIENT)), (0, 0));
		assert!(has_event(Event::OrderCompleted {
			order: id,
			workers_paid: 8_000,
			validators_paid: 1_500,
			fee: 500,
			refunded: 0
		}));
		assert_eq!(order(id).status, OrderStatus::Completed);
		for w in &workers {
			assert_eq!(ComputeStaking::free_capacity(w), Some(100));
			assert_eq!(pallet_compute_staking::Reputations::<Test>::get(w).completed_jobs, 1);
		}
		// A completed order's artifacts stay reachable for its parties only.
		assert!(TrainingOrders::can_fetch(id, &CLIENT) && !TrainingOrders::can_fetch(id, &7));
	});
}

#[test]
fn a_rejected_worker_share_goes_back_to_the_client() {
	new_test_ext().execute_with(|| {
		let (id, workers) = training_order(10_000);
		for w in &workers {
			assert_ok!(TrainingOrders::mark_delivered(id, w));
		}
		assert_ok!(TrainingOrders::begin_validation(id, vec![20]));
		assert_ok!(TrainingOrders::complete(id, &workers[..1], &[20]));
		assert!(has_event(Event::OrderCompleted {
			order: id,
			workers_paid: 4_000,
			validators_paid: 1_500,
			fee: 500,
			refunded: 4_000
		}));
		assert_eq!(free(CLIENT), 100_000 - FEE - 6_000);
		// Only the accepted worker's trained model is the client's to fetch.
		let paid: Vec<bool> = order(id).workers.iter().map(|slot| slot.paid).collect();
		assert_eq!(paid, vec![true, false]);
	});
}

#[test]
fn failed_work_pays_validators_and_refunds_the_client() {
	new_test_ext().execute_with(|| {
		let (id, workers) = training_order(10_000);
		assert_noop!(TrainingOrders::fail(id, &[20]), Error::<Test>::WrongState);
		for w in &workers {
			assert_ok!(TrainingOrders::mark_delivered(id, w));
		}
		assert_ok!(TrainingOrders::fail(id, &[20, 21, 22]));
		assert!(has_event(Event::OrderFailed {
			order: id,
			validators_paid: 1_500,
			refunded: 8_500
		}));
		assert_eq!(free(CLIENT), 100_000 - FEE - 1_500);
		assert_eq!(order(id).status, OrderStatus::Failed);
		assert!(!TrainingOrders::can_fetch(id, &CLIENT));
	});
}

#[test]
fn sweep_assigns_one_worker_per_variant() {
	new_test_ext().execute_with(|| {
		register_workers(&[10, 11, 12]);
		let variant = |lr, seed| Variant {
			optimizer: Optimizer::Sgd,
			learning_rate: Fixed9(lr),
			schedule: Schedule::Constant,
			batch_size: 16,
			seed,
		};
		let mut spec = order_spec(1);
		spec.workload = Workload::Sweep(BoundedVec::truncate_from(vec![
			variant(10_000_000, 1),
			variant(50_000_000, 2),
			variant(100_000_000, 3),
		]));
		let id = NextOrderId::<Test>::get();
		assert_ok!(create_with(spec));
		run_to(2);
		assert_eq!(TrainingOrders::workers(id).len(), 3);
		let o = order(id);
		assert_eq!(o.spec.variant(1).unwrap().learning_rate, Fixed9(50_000_000));
	});
}

#[test]
fn interface_reads() {
	new_test_ext().execute_with(|| {
		let id = create(1, 5_000);
		assert_eq!(TrainingOrders::status(id), Some(OrderStatus::Open));
		assert_eq!(TrainingOrders::client(id), Some(CLIENT));
		assert_eq!(TrainingOrders::spec(id), Some(order_spec(1)));
		assert_eq!(TrainingOrders::timetable(id).map(|t| t.training_deadline), Some(20));
		assert!(TrainingOrders::workers(id).is_empty());
		assert_eq!(TrainingOrders::status(99), None);
	});
}

#[test]
fn slashed_worker_gets_chilled_when_its_bond_falls_short() {
	new_test_ext().execute_with(|| {
		// Bond exactly what 100 units need (200): a 10% slash leaves it short.
		assert_ok!(ComputeStaking::register_worker(
			RuntimeOrigin::signed(10),
			100,
			BoundedVec::truncate_from(b"gpu".to_vec()),
			BoundedVec::truncate_from(b"http://w".to_vec()),
			200,
		));
		let id = create(1, 5_000);
		run_to(3 + TrainingOrders::confirm_window_of(&order_spec(1)));
		assert_ok!(TrainingOrders::expire_order(RuntimeOrigin::signed(7), id));
		let p = pallet_compute_staking::Participants::<Test>::get(10).unwrap();
		assert_eq!(p.status, ParticipantStatus::Chilled);
		assert!(!ComputeStaking::is_active(&10, Role::Worker));
	});
}

mod conservation {
	use super::*;
	use proptest::prelude::*;

	#[derive(Clone, Debug)]
	enum Action {
		Create { client: AccountId, replicas: u32, budget: Balance, start_in: u64 },
		Cancel { client: AccountId, order: OrderId },
		TopUp { client: AccountId, order: OrderId, amount: Balance },
		Confirm { worker: AccountId, order: OrderId },
		Decline { worker: AccountId, order: OrderId },
		Expire { caller: AccountId, order: OrderId },
		Deliver { worker: AccountId, order: OrderId },
		Validate { order: OrderId },
		Complete { order: OrderId, accept_first: bool },
		Fail { order: OrderId },
		Advance { blocks: u64 },
	}

	fn action() -> impl Strategy<Value = Action> {
		let order = 0..6u64;
		let worker = 10..14u64;
		prop_oneof![
			(1..4u64, 1..4u32, 900..20_000u64, 1..6u64).prop_map(
				|(client, replicas, budget, start_in)| Action::Create {
					client,
					replicas,
					budget,
					start_in
				}
			),
			(1..4u64, order.clone()).prop_map(|(client, order)| Action::Cancel { client, order }),
			(1..4u64, order.clone(), 0..3_000u64)
				.prop_map(|(client, order, amount)| Action::TopUp { client, order, amount }),
			(worker.clone(), order.clone())
				.prop_map(|(worker, order)| Action::Confirm { worker, order }),
			(worker.clone(), order.clone())
				.prop_map(|(worker, order)| Action::Decline { worker, order }),
			(1..30u64, order.clone()).prop_map(|(caller, order)| Action::Expire { caller, order }),
			(worker, order.clone()).prop_map(|(worker, order)| Action::Deliver { worker, order }),
			order.clone().prop_map(|order| Action::Validate { order }),
			(order.clone(), any::<bool>())
				.prop_map(|(order, accept_first)| Action::Complete { order, accept_first }),
			order.prop_map(|order| Action::Fail { order }),
			(1..8u64).prop_map(|blocks| Action::Advance { blocks }),
		]
	}

	fn apply(action: Action) {
		let signed = RuntimeOrigin::signed;
		// Calls may fail; a failed call changes nothing, which the invariants check.
		let _ = match action {
			Action::Create { client, replicas, budget, start_in } => TrainingOrders::create_order(
				signed(client),
				Box::new(order_spec(replicas)),
				CAPACITY,
				Some(System::block_number() + start_in),
				System::block_number() + start_in + 15,
				System::block_number() + start_in + 30,
				budget,
			),
			Action::Cancel { client, order } => TrainingOrders::cancel_order(signed(client), order),
			Action::TopUp { client, order, amount } => {
				TrainingOrders::top_up(signed(client), order, amount)
			},
			Action::Confirm { worker, order } => {
				TrainingOrders::confirm_assignment(signed(worker), order)
			},
			Action::Decline { worker, order } => {
				TrainingOrders::decline_assignment(signed(worker), order)
					.map(|_| ())
					.map_err(|e| e.error)
			},
			Action::Expire { caller, order } => TrainingOrders::expire_order(signed(caller), order),
			Action::Deliver { worker, order } => TrainingOrders::mark_delivered(order, &worker),
			Action::Validate { order } => TrainingOrders::begin_validation(order, vec![20, 21]),
			Action::Complete { order, accept_first } => {
				let workers = TrainingOrders::workers(order);
				let accepted =
					if accept_first { &workers[..workers.len().min(1)] } else { &workers[..] };
				TrainingOrders::complete(order, accepted, &[20, 21])
			},
			Action::Fail { order } => TrainingOrders::fail(order, &[20]),
			Action::Advance { blocks } => {
				run_to(System::block_number() + blocks);
				Ok(())
			},
		};
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(200))]

		#[test]
		fn funds_are_conserved(actions in proptest::collection::vec(action(), 1..50)) {
			new_test_ext().execute_with(|| {
				register_workers(&[10, 11, 12, 13]);
				let issuance = Balances::total_issuance();
				let accounts: Vec<AccountId> = (1..=30).chain([TREASURY]).collect();
				for action in actions {
					apply(action);
					prop_assert_eq!(Balances::total_issuance(), issuance);
					let total: Balance = accounts.iter().map(|who| Balances::total_balance(who)).sum();
					prop_assert_eq!(total, issuance);
					for client in 1..4u64 {
						let live: Vec<OrderOf<Test>> = Orders::<Test>::iter_values()
							.filter(|o| o.client == client && !o.status.is_final())
							.collect();
						prop_assert_eq!(escrow(client), live.iter().map(|o| o.budget).sum::<Balance>());
						prop_assert_eq!(deposit_held(client), live.iter().map(|o| o.deposit).sum::<Balance>());
					}
					for w in 10..14u64 {
						let locked = Orders::<Test>::iter()
							.filter(|(_, o)| !o.status.is_final() && o.workers.iter().any(|s| s.account == w))
							.count() as u32 * CAPACITY;
						let free_capacity = ComputeStaking::free_capacity(&w).unwrap_or(100);
						prop_assert_eq!(100 - free_capacity, locked);
					}
				}
				Ok(())
			})?;
		}
	}
}

//! Benchmarks of every call at its worst case, and of assigning the workers of one order.

use super::*;
use alloc::vec;
use decenter_primitives::{
	order::{DatasetCommitment, LabelLayout, Variant, Workload, MAX_SWEEP_VARIANTS},
	spec::{
		Activation, ArtifactCommitment, Fixed9, Initialization, Loss, ModelSpec, Optimizer,
		Schedule, TrainingSpec, MAX_HIDDEN_LAYERS, MAX_LOCATION_LEN,
	},
};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Hooks};
use frame_system::RawOrigin;
use sp_runtime::traits::{Bounded, One, Saturating};

fn assert_last_event<T: Config>(event: Event<T>) {
	frame_system::Pallet::<T>::assert_last_event(<T as Config>::RuntimeEvent::from(event).into());
}

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

fn dataset() -> DatasetCommitment {
	DatasetCommitment {
		artifact: ArtifactCommitment {
			root: [7; 32],
			size: 1 << 30,
			location: BoundedVec::truncate_from(vec![b'x'; MAX_LOCATION_LEN as usize]),
		},
		records: 1_000_000,
		features: 64,
		label: LabelLayout::Class { classes: 10 },
	}
}

/// The costliest spec to check: the deepest model and `workers` sweep variants (at least one).
fn spec(workers: u32) -> OrderSpec {
	let variant = |i: u32| Variant {
		optimizer: Optimizer::Adam {
			beta1: Fixed9(900_000_000),
			beta2: Fixed9(999_000_000),
			epsilon: Fixed9(10),
		},
		learning_rate: Fixed9(1_000_000),
		schedule: Schedule::Constant,
		batch_size: 128,
		seed: i.into(),
	};
	OrderSpec {
		training: TrainingSpec {
			model: ModelSpec {
				inputs: 64,
				hidden: BoundedVec::truncate_from(vec![64; MAX_HIDDEN_LAYERS as usize]),
				outputs: 10,
				activation: Activation::Relu,
				loss: Loss::SoftmaxCrossEntropy,
			},
			optimizer: Optimizer::Sgd,
			learning_rate: Fixed9(100_000_000),
			schedule: Schedule::Constant,
			batch_size: 128,
			steps: 10_000,
			seed: 1,
			checkpoint_interval: 100,
			initialization: Initialization::Seeded,
		},
		dataset: dataset(),
		validation: dataset(),
		workload: Workload::Sweep(BoundedVec::truncate_from(
			(0..workers.clamp(1, MAX_SWEEP_VARIANTS)).map(variant).collect(),
		)),
	}
}

/// Creates an order of `workers` workers that starts at the next block, with every worker
/// registered (and the client not a worker). Returns its id and the block it starts at.
fn create<T: Config>(client: &T::AccountId, workers: u32) -> (OrderId, BlockNumberFor<T>) {
	let capacity = 10;
	for i in 0..workers {
		T::BenchmarkHelper::register_worker(&account("worker", i, 1), capacity);
	}
	let id = NextOrderId::<T>::get();
	let now = frame_system::Pallet::<T>::block_number();
	let start = now.saturating_add(One::one());
	let training = training_window::<T>(&spec(workers), capacity);
	let result = Pallet::<T>::do_create_order(
		client.clone(),
		spec(workers),
		capacity,
		Some(start),
		start.saturating_add(training),
		start.saturating_add(training).saturating_add(T::MaxValidationWindow::get()),
		T::MinBudget::get().saturating_mul(1_000u32.into()),
	);
	assert!(result.is_ok(), "order creation in benchmark setup failed: {result:?}");
	(id, start)
}

/// The shortest training window the chain accepts for `spec` at `capacity`.
fn training_window<T: Config>(spec: &OrderSpec, capacity: u32) -> BlockNumberFor<T> {
	let quote = Pallet::<T>::quote(spec, capacity);
	assert!(quote.is_ok(), "the benchmark spec cannot be ordered: {quote:?}");
	quote.map(|q| q.min_training_window).unwrap_or_default()
}

/// An order of `workers` workers in `Training`, started at the block after creation.
fn training<T: Config>(client: &T::AccountId, workers: u32) -> OrderId {
	let (id, start) = create::<T>(client, workers);
	frame_system::Pallet::<T>::set_block_number(start);
	Pallet::<T>::on_initialize(start);
	for worker in Pallet::<T>::workers(id) {
		assert!(Pallet::<T>::do_confirm_assignment(worker, id).is_ok());
	}
	assert_eq!(Orders::<T>::get(id).map(|o| o.status), Some(OrderStatus::Training));
	id
}

/// An index of order ids one entry short of its bound.
fn one_short_of_full<S: Get<u32>>() -> BoundedVec<OrderId, S> {
	BoundedVec::truncate_from((0..S::get().saturating_sub(1)).map(u64::from).collect())
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Worst case: a full sweep to validate, and every index one short of full.
	#[benchmark]
	fn create_order() {
		// The call runs at block 1 at the earliest; start after it.
		frame_system::Pallet::<T>::set_block_number(One::one());
		let client = funded::<T>("client", 0);
		// The indexes the call appends to, one short of full (only their length matters).
		ClientOrders::<T>::insert(&client, one_short_of_full::<T::MaxOrdersPerAccount>());
		OpenOrders::<T>::put(one_short_of_full::<T::MaxOpenOrders>());
		NextOrderId::<T>::put(u64::from(T::MaxOpenOrders::get()));
		let now = frame_system::Pallet::<T>::block_number();
		let start = now.saturating_add(One::one());
		let budget = T::MinBudget::get();
		let id = NextOrderId::<T>::get();

		let training = training_window::<T>(&spec(T::MaxWorkers::get()), 10);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(client.clone()),
			Box::new(spec(T::MaxWorkers::get())),
			10,
			Some(start),
			start.saturating_add(training),
			start.saturating_add(training).saturating_add(T::MaxValidationWindow::get()),
			budget,
		);

		assert_last_event::<T>(Event::OrderCreated {
			order: id,
			client,
			budget,
			fee: T::OrderFee::get(),
			workers: T::MaxWorkers::get().min(MAX_SWEEP_VARIANTS),
			start_at: start,
		});
	}

	/// Worst case: cancelling during training, which pays every worker.
	#[benchmark]
	fn cancel_order(w: Linear<1, { T::MaxWorkers::get().min(MAX_SWEEP_VARIANTS) }>) {
		let client = funded::<T>("client", 0);
		let id = training::<T>(&client, w);
		let now = frame_system::Pallet::<T>::block_number();
		frame_system::Pallet::<T>::set_block_number(now.saturating_add(50u32.into()));

		#[extrinsic_call]
		_(RawOrigin::Signed(client), id);

		assert_eq!(Orders::<T>::get(id).map(|o| o.status), Some(OrderStatus::Cancelled));
	}

	#[benchmark]
	fn top_up() {
		let client = funded::<T>("client", 0);
		let (id, _) = create::<T>(&client, 1);
		let amount = T::MinBudget::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(client), id, amount);

		assert_last_event::<T>(Event::ToppedUp { order: id, amount });
	}

	/// Worst case: the last of the most workers confirms, which starts training.
	#[benchmark]
	fn confirm_assignment() {
		let client = funded::<T>("client", 0);
		let workers = T::MaxWorkers::get().min(MAX_SWEEP_VARIANTS);
		let (id, start) = create::<T>(&client, workers);
		frame_system::Pallet::<T>::set_block_number(start);
		Pallet::<T>::on_initialize(start);
		let mut assigned = Pallet::<T>::workers(id);
		let last = assigned.pop().expect("workers were assigned");
		for worker in assigned {
			assert!(Pallet::<T>::do_confirm_assignment(worker, id).is_ok());
		}

		#[extrinsic_call]
		_(RawOrigin::Signed(last), id);

		assert_last_event::<T>(Event::TrainingStarted { order: id });
	}

	/// Worst case: training deadline passed with no worker delivered; all are slashed.
	#[benchmark]
	fn expire_order(w: Linear<1, { T::MaxWorkers::get().min(MAX_SWEEP_VARIANTS) }>) {
		let client = funded::<T>("client", 0);
		let caller = funded::<T>("caller", 0);
		let id = training::<T>(&client, w);
		let deadline = Orders::<T>::get(id).map(|o| o.timetable.training_deadline);
		let deadline = deadline.unwrap_or_default();
		frame_system::Pallet::<T>::set_block_number(deadline.saturating_add(One::one()));

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);

		assert_eq!(Orders::<T>::get(id).map(|o| o.status), Some(OrderStatus::Expired));
	}

	/// Worst case: the decline that ends the order (`MaxWorkers` workers declined before), with
	/// `w` workers to release, the refund and the closing of its books.
	#[benchmark]
	fn decline_assignment(w: Linear<1, { T::MaxWorkers::get().min(MAX_SWEEP_VARIANTS) }>) {
		let client = funded::<T>("client", 0);
		let (id, start) = create::<T>(&client, w);
		frame_system::Pallet::<T>::set_block_number(start);
		Pallet::<T>::on_initialize(start);
		let last = Pallet::<T>::workers(id).pop().expect("workers were assigned");
		Orders::<T>::mutate(id, |order| {
			if let Some(order) = order {
				let before = (0..T::MaxWorkers::get()).map(|i| account("declined", i, 2));
				order.declined = BoundedVec::truncate_from(before.collect());
			}
		});

		#[extrinsic_call]
		_(RawOrigin::Signed(last), id);

		assert_eq!(Orders::<T>::get(id).map(|o| o.status), Some(OrderStatus::Expired));
	}

	/// Drawing and locking the workers of one order, beyond the staking pallet's `select`
	/// (charged separately by its own weight).
	#[benchmark]
	fn assign_workers(w: Linear<1, { T::MaxWorkers::get().min(MAX_SWEEP_VARIANTS) }>) {
		let client = funded::<T>("client", 0);
		let (id, start) = create::<T>(&client, w);
		frame_system::Pallet::<T>::set_block_number(start);

		#[block]
		{
			Pallet::<T>::try_assign(id, start);
		}

		assert_eq!(Orders::<T>::get(id).map(|o| o.status), Some(OrderStatus::Assigned));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

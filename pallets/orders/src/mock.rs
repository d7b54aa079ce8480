//! A runtime with System, Balances, ComputeStaking and TrainingOrders for the tests.

use crate as pallet_training_orders;
use decenter_primitives::{
	order::{DatasetCommitment, LabelLayout, OrderSpec, Workload},
	spec::{
		Activation, ArtifactCommitment, Fixed9, Initialization, Loss, ModelSpec, Optimizer,
		Schedule, TrainingSpec,
	},
};
use frame_support::{
	derive_impl, parameter_types,
	traits::{tokens::imbalance::ResolveTo, ConstU32, ConstU64, Hooks},
	BoundedVec,
};
use sp_runtime::{BuildStorage, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = u64;
pub type Balance = u64;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		ComputeStaking: pallet_compute_staking,
		TrainingOrders: pallet_training_orders,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type AccountData = pallet_balances::AccountData<Balance>;
}

type Extrinsic = frame_system::mocking::MockUncheckedExtrinsic<Test>;

impl<C> frame_system::offchain::CreateTransactionBase<C> for Test
where
	RuntimeCall: From<C>,
{
	type Extrinsic = Extrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<C> frame_system::offchain::CreateTransaction<C> for Test
where
	RuntimeCall: From<C>,
{
	type Extension = ();

	fn create_transaction(call: RuntimeCall, extension: ()) -> Extrinsic {
		Extrinsic::new_transaction(call, extension)
	}
}

impl<C> frame_system::offchain::CreateAuthorizedTransaction<C> for Test
where
	RuntimeCall: From<C>,
{
	fn create_extension() {}
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	type ExistentialDeposit = ConstU64<1>;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pub const TREASURY: AccountId = 999;
pub const MIN_BUDGET: Balance = 1_000;
pub const DEPOSIT: Balance = 50;
pub const FEE: Balance = 20;
pub const MAX_START_DELAY: u64 = 100;
pub const MAX_TRAINING_WINDOW: u64 = 200;
pub const MIN_VALIDATION_WINDOW: u64 = 10;
pub const MAX_VALIDATION_WINDOW: u64 = 50;
pub const RETENTION: u64 = 30;
pub const MAX_PRUNES_PER_BLOCK: u32 = 2;
pub const REWARD: Balance = 10;
pub const CONFIRM_WINDOW: u64 = 5;
pub const RETRY: u64 = 3;
pub const COMPUTE_SLACK: u32 = 4;
pub const WORKER_BOND: Balance = 1_000;

parameter_types! {
	pub const Treasury: AccountId = TREASURY;
	pub const WorkerShare: Perbill = Perbill::from_percent(80);
	pub const ValidatorShare: Perbill = Perbill::from_percent(15);
	pub const MissedDeadlineSlash: Perbill = Perbill::from_percent(10);
	pub const PoolEvictionMargin: Perbill = Perbill::from_percent(10);
}

impl pallet_compute_staking::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type SlashDestination = ResolveTo<Treasury, Balances>;
	type MinBond = ConstU64<100>;
	type BondPerComputeUnit = ConstU64<1>;
	type MaxCapacity = ConstU32<1_000>;
	type MaxDeviceLength = ConstU32<32>;
	type MaxEndpointLength = ConstU32<32>;
	type MaxPoolSize = ConstU32<16>;
	type EvictionMargin = PoolEvictionMargin;
	type MaxUnbondingChunks = ConstU32<4>;
	type DefaultUnbondingPeriod = ConstU64<10>;
	type WeightInfo = ();
}

impl pallet_training_orders::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Staking = ComputeStaking;
	type Treasury = Treasury;
	type MinBudget = ConstU64<MIN_BUDGET>;
	type OrderDeposit = ConstU64<DEPOSIT>;
	type OrderFee = ConstU64<FEE>;
	type MaxStartDelay = ConstU64<MAX_START_DELAY>;
	type MaxTrainingWindow = ConstU64<MAX_TRAINING_WINDOW>;
	type MinValidationWindow = ConstU64<MIN_VALIDATION_WINDOW>;
	type ValidationWork = ();
	type MaxValidationWindow = ConstU64<MAX_VALIDATION_WINDOW>;
	type ExpiryReward = ConstU64<REWARD>;
	type WorkerShare = WorkerShare;
	type ValidatorShare = ValidatorShare;
	type MissedDeadlineSlash = MissedDeadlineSlash;
	type DefaultConfirmWindow = ConstU64<CONFIRM_WINDOW>;
	type ExpectedBlockTime = ConstU64<1_000>;
	type WorkerBandwidth = ConstU64<1_000_000_000>;
	type ComputeSlack = ConstU32<COMPUTE_SLACK>;
	type AssignmentRetry = ConstU64<RETRY>;
	type MaxWorkers = ConstU32<8>;
	type MaxValidators = ConstU32<4>;
	type MaxStartsPerBlock = ConstU32<2>;
	type MaxOpenOrders = ConstU32<4>;
	type MaxOrdersPerAccount = ConstU32<3>;
	type OrderRetention = ConstU64<RETENTION>;
	type MaxPrunesPerBlock = ConstU32<MAX_PRUNES_PER_BLOCK>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = RegisterWorker;
}

/// Accounts 1..=30 start with 100_000 each; the treasury with 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut balances: Vec<(AccountId, Balance)> = (1..=30).map(|who| (who, 100_000)).collect();
	balances.push((TREASURY, 1));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Moves to block `n`, running the pallets' `on_initialize` of every block on the way.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		TrainingOrders::on_initialize(next);
	}
}

fn dataset(records: u64) -> DatasetCommitment {
	DatasetCommitment {
		artifact: ArtifactCommitment {
			root: [7; 32],
			size: 4_096,
			location: BoundedVec::truncate_from(b"http://127.0.0.1:8700/d".to_vec()),
		},
		records,
		features: 64,
		label: LabelLayout::Class { classes: 10 },
	}
}

/// A digits-sized classification order trained by `replicas` workers.
pub fn order_spec(replicas: u32) -> OrderSpec {
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
			steps: 100,
			seed: 1,
			checkpoint_interval: 10,
			initialization: Initialization::Seeded,
		},
		dataset: dataset(1_000),
		validation: dataset(200),
		workload: Workload::Replicas(replicas),
	}
}

#[cfg(feature = "runtime-benchmarks")]
pub struct RegisterWorker;
#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId> for RegisterWorker {
	fn register_worker(who: &AccountId, capacity: u32) {
		use frame_support::traits::fungible::Mutate;
		let bond = ComputeStaking::required_bond(capacity);
		Balances::set_balance(who, bond * 2);
		let _ = ComputeStaking::register_worker(
			RuntimeOrigin::signed(*who),
			capacity,
			BoundedVec::truncate_from(b"gpu".to_vec()),
			BoundedVec::truncate_from(b"http://w".to_vec()),
			bond,
		);
	}
}

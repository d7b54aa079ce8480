//! A runtime with the whole DeCenter game: System, Balances, Nfts, ComputeStaking,
//! TrainingOrders, Certificates and ProofOfTrain.

use crate as pallet_proof_of_train;
use decenter_primitives::{
	order::{DatasetCommitment, LabelLayout, OrderSpec, Workload},
	spec::{
		Activation, ArtifactCommitment, Fixed9, Initialization, Loss, ModelSpec, Optimizer,
		Schedule, TrainingSpec,
	},
};
use frame_support::{
	derive_impl, parameter_types,
	traits::{tokens::imbalance::ResolveTo, AsEnsureOriginWithArg, ConstU32, ConstU64, Hooks},
	BoundedVec, PalletId,
};
use frame_system::EnsureRoot;
use pallet_nfts::PalletFeatures;
use sp_runtime::{
	testing::{TestSignature, UintAuthorityId},
	BuildStorage, Perbill,
};

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = u64;
pub type Balance = u64;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Nfts: pallet_nfts,
		ComputeStaking: pallet_compute_staking,
		TrainingOrders: pallet_training_orders,
		Certificates: pallet_certificates,
		ProofOfTrain: pallet_proof_of_train,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = sp_runtime::traits::IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	type ExistentialDeposit = ConstU64<1>;
	type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
	pub Features: PalletFeatures = PalletFeatures::all_enabled();
	pub const CertificatesPalletId: PalletId = PalletId(*b"dcn/cert");
	pub const Treasury: AccountId = TREASURY;
	pub const WorkerShare: Perbill = Perbill::from_percent(80);
	pub const ValidatorShare: Perbill = Perbill::from_percent(15);
	pub const MissedDeadlineSlash: Perbill = Perbill::from_percent(10);
	pub const FaultSlash: Perbill = Perbill::from_percent(FAULT_SLASH_PERCENT);
	pub const PoolEvictionMargin: Perbill = Perbill::from_percent(10);
}

impl pallet_nfts::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type CollectionId = u32;
	type ItemId = u32;
	type Currency = Balances;
	type CreateOrigin = AsEnsureOriginWithArg<frame_system::EnsureNever<AccountId>>;
	type ForceOrigin = EnsureRoot<AccountId>;
	type Locker = ();
	type CollectionDeposit = ConstU64<100>;
	type ItemDeposit = ConstU64<10>;
	type MetadataDepositBase = ConstU64<1>;
	type AttributeDepositBase = ConstU64<1>;
	type DepositPerByte = ConstU64<1>;
	type StringLimit = ConstU32<256>;
	type KeyLimit = ConstU32<64>;
	type ValueLimit = ConstU32<256>;
	type ApprovalsLimit = ConstU32<10>;
	type ItemAttributesApprovalsLimit = ConstU32<2>;
	type MaxTips = ConstU32<10>;
	type MaxDeadlineDuration = ConstU64<10000>;
	type MaxAttributesPerCall = ConstU32<2>;
	type Features = Features;
	type OffchainSignature = TestSignature;
	type OffchainPublic = UintAuthorityId;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type Helper = NftsHelper;
	type BlockNumberProvider = System;
}

impl pallet_certificates::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type PalletId = CertificatesPalletId;
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
	type MaxPoolSize = ConstU32<32>;
	type EvictionMargin = PoolEvictionMargin;
	type MaxUnbondingChunks = ConstU32<4>;
	type DefaultUnbondingPeriod = ConstU64<10>;
	type WeightInfo = ();
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

impl pallet_training_orders::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Staking = ComputeStaking;
	type Treasury = Treasury;
	type MinBudget = ConstU64<1_000>;
	type OrderDeposit = ConstU64<DEPOSIT>;
	// The orders pallet's tests cover the fee; zero keeps these balances about the game.
	type OrderFee = ConstU64<0>;
	type ExpiryReward = ConstU64<10>;
	type WorkerShare = WorkerShare;
	type ValidatorShare = ValidatorShare;
	type MissedDeadlineSlash = MissedDeadlineSlash;
	type DefaultConfirmWindow = ConstU64<5>;
	type ExpectedBlockTime = ConstU64<1_000>;
	type WorkerBandwidth = ConstU64<1_000_000_000>;
	type ComputeSlack = ConstU32<4>;
	type MaxStartDelay = ConstU64<100>;
	type MaxTrainingWindow = ConstU64<1_000>;
	// Reveal, two report windows, two dispute windows, two draws behind a full queue.
	type MinValidationWindow = ConstU64<{ 5 * WINDOW + 2 * 2 + 8 }>;
	type ValidationWork = ProofOfTrain;
	type MaxValidationWindow = ConstU64<1_000>;
	type AssignmentRetry = ConstU64<3>;
	type MaxWorkers = ConstU32<8>;
	type MaxValidators = ConstU32<8>;
	type MaxStartsPerBlock = ConstU32<2>;
	type MaxOpenOrders = ConstU32<4>;
	type MaxOrdersPerAccount = ConstU32<3>;
	type OrderRetention = ConstU64<10_000>;
	type MaxPrunesPerBlock = ConstU32<4>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Helper;
}

impl pallet_proof_of_train::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Orders = TrainingOrders;
	type Currency = Balances;
	type Staking = ComputeStaking;
	type Certificates = Certificates;
	type RevealWindow = ConstU64<WINDOW>;
	type ReportWindow = ConstU64<WINDOW>;
	type DisputeWindow = ConstU64<WINDOW>;
	type ExpectedBlockTime = ConstU64<1_000>;
	type CheckerBandwidth = ConstU64<1_000_000_000>;
	type CheckSlack = ConstU32<4>;
	type DefaultCheckCapacity = ConstU32<CHECK_CAPACITY>;
	type ValidatorsPerOrder = ConstU32<3>;
	type SegmentsPerValidator = ConstU32<4>;
	type RefereesPerDispute = ConstU32<3>;
	type MinHonestChecks = ConstU32<2>;
	type FaultSlash = FaultSlash;
	type MaxWorkers = ConstU32<8>;
	type MaxTasks = ConstU32<96>;
	type MaxCheckpointBytes = ConstU32<1024>;
	type MaxDrawsPerBlock = ConstU32<2>;
	type MaxPendingDraws = ConstU32<4>;
	type WeightInfo = ();
}

pub const TREASURY: AccountId = 999;
pub const DEPOSIT: Balance = 50;
pub const WINDOW: u64 = 5;
/// GFLOP/s a checker reserves per round: validators registered with 10 check two at once.
pub const CHECK_CAPACITY: u32 = 5;
pub const FAULT_SLASH_PERCENT: u32 = 10;
pub const BOND: Balance = 1_000;
pub const START_BALANCE: Balance = 100_000;

/// Accounts 1..=40 start with 100_000 each; the treasury with 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut balances: Vec<(AccountId, Balance)> =
		(1..=40).map(|who| (who, START_BALANCE)).collect();
	balances.push((TREASURY, 1));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Moves to block `n`, running every pallet's `on_initialize` on the way.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		System::set_parent_hash([next as u8; 32].into());
		TrainingOrders::on_initialize(next);
		ProofOfTrain::on_initialize(next);
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

/// A small classification order: `steps` steps with a checkpoint every `interval`.
pub fn order_spec(workload: Workload, steps: u32, interval: u32) -> OrderSpec {
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
			steps,
			seed: 1,
			checkpoint_interval: interval,
			initialization: Initialization::Seeded,
		},
		dataset: dataset(1_000),
		validation: dataset(200),
		workload,
	}
}

/// Registers `who` in the worker pool or the validator pool with [`BOND`].
pub fn register(who: AccountId, validator: bool) {
	let device = BoundedVec::truncate_from(b"gpu".to_vec());
	let endpoint = BoundedVec::truncate_from(b"http://x".to_vec());
	let origin = RuntimeOrigin::signed(who);
	let result = if validator {
		ComputeStaking::register_validator(origin, 10, device, endpoint, BOND)
	} else {
		ComputeStaking::register_worker(origin, 10, device, endpoint, BOND)
	};
	result.expect("registration in the mock");
}

#[cfg(feature = "runtime-benchmarks")]
pub struct Helper;
#[cfg(feature = "runtime-benchmarks")]
impl pallet_training_orders::BenchmarkHelper<AccountId> for Helper {
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

/// pallet-nfts' benchmark helper for `u64` accounts and test signatures.
#[cfg(feature = "runtime-benchmarks")]
pub struct NftsHelper;
#[cfg(feature = "runtime-benchmarks")]
impl pallet_nfts::BenchmarkHelper<u32, u32, UintAuthorityId, AccountId, TestSignature>
	for NftsHelper
{
	fn collection(i: u16) -> u32 {
		i.into()
	}
	fn item(i: u16) -> u32 {
		i.into()
	}
	fn signer() -> (UintAuthorityId, AccountId) {
		(UintAuthorityId(1), 1)
	}
	fn sign(signer: &UintAuthorityId, message: &[u8]) -> TestSignature {
		TestSignature(signer.0, message.to_vec())
	}
}

//! Configuration of every pallet in the runtime.

use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{
		tokens::imbalance::ResolveTo, AsEnsureOriginWithArg, ConstBool, ConstU128, ConstU32,
		ConstU64, ConstU8, NeverEnsureOrigin, VariantCountOf,
	},
	weights::{
		constants::{RocksDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		ConstantMultiplier, IdentityFee, Weight,
	},
	PalletId,
};
use frame_system::{limits::BlockLength, limits::BlockWeights, EnsureRoot};
use pallet_nfts::PalletFeatures;
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{
	traits::{AccountIdConversion, One},
	Perbill,
};
use sp_version::RuntimeVersion;

use super::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Hash, Nonce, PalletInfo, Runtime,
	RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin, RuntimeTask,
	Signature, System, DCEN, MICRO_DCEN, MILLISECS_PER_BLOCK, MILLI_DCEN, VERSION,
};

/// Aura slot length; equal to the block time.
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;

/// An account holding less than this is reaped.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_DCEN;

const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;
	/// One second of compute per three-second block, leaving time to gossip and import.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	pub RuntimeBlockLength: BlockLength =
		BlockLength::builder()
			.max_length(5 * 1024 * 1024)
			.modify_max_length_for_class(DispatchClass::Normal, |max| {
				*max = NORMAL_DISPATCH_RATIO * *max
			})
			.build();
	/// The generic Substrate address format: polkadot.js apps shows `5…` addresses.
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	type DbWeight = RocksDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<32>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the Unix epoch.
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type Balance = Balance;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type ReserveIdentifier = [u8; 8];
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ConstU32<50>;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type DoneSlashHandler = ();
}

parameter_types! {
	pub FeeMultiplier: Multiplier = Multiplier::one();
	/// One micro-DCEN per byte of a transaction.
	pub const TransactionByteFee: Balance = MICRO_DCEN;
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = ConstantMultiplier<Balance, TransactionByteFee>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	pub NftFeatures: PalletFeatures = PalletFeatures::all_enabled();
	pub const NftCollectionDeposit: Balance = 10 * DCEN;
	pub const NftItemDeposit: Balance = 10 * MILLI_DCEN;
	pub const NftMetadataDepositBase: Balance = 10 * MILLI_DCEN;
	pub const NftAttributeDepositBase: Balance = 10 * MILLI_DCEN;
	pub const NftDepositPerByte: Balance = 10 * MICRO_DCEN;
}

/// NFTs carry the chain's certificates. Nobody can create a collection with a signed call:
/// collections are made by the runtime (the certificates pallet) or by root, so that no
/// account can mint look-alike certificates in a collection of its own.
impl pallet_nfts::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type CollectionId = u32;
	type ItemId = u32;
	type Currency = Balances;
	type CreateOrigin = AsEnsureOriginWithArg<NeverEnsureOrigin<AccountId>>;
	type ForceOrigin = EnsureRoot<AccountId>;
	type Locker = ();
	type CollectionDeposit = NftCollectionDeposit;
	type ItemDeposit = NftItemDeposit;
	type MetadataDepositBase = NftMetadataDepositBase;
	type AttributeDepositBase = NftAttributeDepositBase;
	type DepositPerByte = NftDepositPerByte;
	type StringLimit = ConstU32<256>;
	type KeyLimit = ConstU32<64>;
	type ValueLimit = ConstU32<256>;
	type ApprovalsLimit = ConstU32<20>;
	type ItemAttributesApprovalsLimit = ConstU32<20>;
	type MaxTips = ConstU32<10>;
	type MaxDeadlineDuration = ConstU32<{ 30 * super::DAYS }>;
	type MaxAttributesPerCall = ConstU32<16>;
	type Features = NftFeatures;
	type OffchainSignature = Signature;
	type OffchainPublic = <Signature as sp_runtime::traits::Verify>::Signer;
	type WeightInfo = pallet_nfts::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type Helper = ();
	type BlockNumberProvider = System;
}

parameter_types! {
	/// Receives slashed bonds (and, with the orders pallet, the chain's fee share).
	pub TreasuryAccount: AccountId = PalletId(*b"dcn/trsy").into_account_truncating();
	/// Bond of any participant, whatever its capacity: 100 DCEN.
	pub const StakingMinBond: Balance = 100 * DCEN;
	/// Bond per declared GFLOP/s: 0.1 DCEN, so a 50 TFLOP/s GPU bonds 5,100 DCEN.
	pub const StakingBondPerGflops: Balance = 100 * MILLI_DCEN;
	/// A newcomer to a full pool must bond more than 110% of the lowest idle member's bond.
	pub const PoolEvictionMargin: Perbill = Perbill::from_percent(10);
}

/// Worker and validator pools. Capacity is in sustained f32 GFLOP/s; slashes without a
/// beneficiary go to the treasury account. The unbonding period defaults to one day and is set
/// per chain in genesis (the development presets use 10 blocks so that unbonding can be tried
/// in half a minute); root can change it. A full pool (512) admits a higher bond by evicting
/// its lowest idle member.
impl pallet_compute_staking::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type SlashDestination = ResolveTo<TreasuryAccount, Balances>;
	type MinBond = StakingMinBond;
	type BondPerComputeUnit = StakingBondPerGflops;
	type MaxCapacity = ConstU32<10_000_000>;
	type MaxDeviceLength = ConstU32<128>;
	type MaxEndpointLength = ConstU32<256>;
	type MaxPoolSize = ConstU32<512>;
	type EvictionMargin = PoolEvictionMargin;
	type MaxUnbondingChunks = ConstU32<16>;
	type DefaultUnbondingPeriod = ConstU32<{ super::DAYS }>;
	type WeightInfo = pallet_compute_staking::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Smallest order budget: 10 DCEN.
	pub const OrderMinBudget: Balance = 10 * DCEN;
	/// Held per order until it ends, against spam: 1 DCEN.
	pub const OrderDeposit: Balance = DCEN;
	/// Paid from the deposit to whoever expires an order: 0.1 DCEN.
	pub const OrderExpiryReward: Balance = 100 * MILLI_DCEN;
	/// Budget split of a completed order: 80% workers, 15% validators, 5% treasury.
	pub const OrderWorkerShare: Perbill = Perbill::from_percent(80);
	pub const OrderValidatorShare: Perbill = Perbill::from_percent(15);
	/// Paid to the treasury by every order at creation, never refunded: 1 DCEN.
	pub const OrderFee: Balance = DCEN;
	/// A worker is expected to fetch inputs at 10 MB/s at least.
	pub const OrderWorkerBandwidth: u64 = 10_000_000;
	/// A worker missing a confirmation or training deadline loses 10% of its bond to the
	/// treasury (never to the client, who set the deadline).
	pub const MissedDeadlineSlash: Perbill = Perbill::from_percent(10);
}

/// Proof-of-train windows, in blocks, shared by the judge's configuration and the orders'
/// shortest validation window.
const POT_REVEAL_WINDOW: BlockNumber = 5 * super::MINUTES;
const POT_REPORT_WINDOW: BlockNumber = 10 * super::MINUTES;
const POT_DISPUTE_WINDOW: BlockNumber = 10 * super::MINUTES;
const POT_MAX_DRAWS_PER_BLOCK: u32 = 4;
const POT_MAX_PENDING_DRAWS: u32 = 1024;

/// The longest the proof-of-train game of one order can take once its proofs are in: the
/// proof reveal, the report commit and reveal, the referees' commit and reveal, two draws that
/// may each wait for a full draw queue (`MaxPendingDraws / MaxDrawsPerBlock` blocks), and two
/// blocks for each of its 9 transitions (an off-chain worker sees a window end in one block
/// and its transaction lands in the next). 1,430 blocks, about 72 minutes: the shortest
/// validation window before the checkers' work on an order's spec, which the proof-of-train
/// pallet adds (`ValidationWork`). A draw that waits for eligible validators beyond the queue
/// is not bounded: such an order can still expire mid-game (docs/proof-of-train.md).
pub const PROOF_GAME_BLOCKS: BlockNumber = POT_REVEAL_WINDOW
	+ 2 * POT_REPORT_WINDOW
	+ 2 * POT_DISPUTE_WINDOW
	+ 2 * (POT_MAX_PENDING_DRAWS / POT_MAX_DRAWS_PER_BLOCK)
	+ 2 * 9;

/// The marketplace. Workers are drawn at an order's start block; they have 10 minutes (10
/// blocks on development chains) plus the time its inputs take at 10 MB/s to confirm; the
/// training window must also leave 4 times the compute time at the order's capacity; an order
/// nobody could serve is retried every 10 blocks while the work still fits.
/// An order starts within 7 days, trains for at most 30 days and leaves the judge between
/// [`PROOF_GAME_BLOCKS`] and 12 hours; a finished order stays readable for 7 days, and at most
/// 64 finished orders are removed a block.
impl pallet_training_orders::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Staking = super::ComputeStaking;
	type Treasury = TreasuryAccount;
	type MinBudget = OrderMinBudget;
	type OrderDeposit = OrderDeposit;
	type OrderFee = OrderFee;
	type ExpiryReward = OrderExpiryReward;
	type WorkerShare = OrderWorkerShare;
	type ValidatorShare = OrderValidatorShare;
	type MissedDeadlineSlash = MissedDeadlineSlash;
	type DefaultConfirmWindow = ConstU32<{ 10 * super::MINUTES }>;
	type ExpectedBlockTime = ConstU64<MILLISECS_PER_BLOCK>;
	type WorkerBandwidth = OrderWorkerBandwidth;
	type ComputeSlack = ConstU32<4>;
	type MaxStartDelay = ConstU32<{ 7 * super::DAYS }>;
	type MaxTrainingWindow = ConstU32<{ 30 * super::DAYS }>;
	type MinValidationWindow = ConstU32<PROOF_GAME_BLOCKS>;
	type ValidationWork = super::ProofOfTrain;
	type MaxValidationWindow = ConstU32<{ 12 * super::HOURS }>;
	type AssignmentRetry = ConstU32<10>;
	type MaxWorkers = ConstU32<8>;
	type MaxValidators = ConstU32<16>;
	type MaxStartsPerBlock = ConstU32<4>;
	type MaxOpenOrders = ConstU32<1024>;
	type MaxOrdersPerAccount = ConstU32<64>;
	type OrderRetention = ConstU32<{ 7 * super::DAYS }>;
	type MaxPrunesPerBlock = ConstU32<64>;
	type WeightInfo = pallet_training_orders::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = RegisterBenchmarkWorker;
}

parameter_types! {
	/// A faulted worker, validator or referee loses 10% of its bond.
	pub const ProofFaultSlash: Perbill = Perbill::from_percent(10);
	/// Owner of the certificates collection.
	pub const CertificatesPalletId: PalletId = PalletId(*b"dcn/cert");
}

/// The judge. Each phase ends as soon as everyone acted, so windows only bound how long the
/// silent can stall an order: 5 minutes to reveal proofs, 10 to commit and again to reveal
/// reports, 10 for a dispute's referees to commit and again to reveal; the two commit windows
/// add 4 times the compute time of the work due in them, at the 10 GFLOP/s each checker
/// reserves (1 on development chains) or a worker's order capacity for its own probes, and
/// the fetch time at 10 MB/s. 3 validators check 4
/// segments of every worker (a worker faking 25% of its segments escapes with probability
/// 0.75¹² ≈ 3%); a dispute draws 3 referees. Workers may post a checkpoint of up to 1 MiB on
/// chain when a validator could not fetch it.
impl pallet_proof_of_train::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type Orders = super::TrainingOrders;
	type Currency = Balances;
	type Staking = super::ComputeStaking;
	type Certificates = super::Certificates;
	type RevealWindow = ConstU32<POT_REVEAL_WINDOW>;
	type ReportWindow = ConstU32<POT_REPORT_WINDOW>;
	type DisputeWindow = ConstU32<POT_DISPUTE_WINDOW>;
	type ExpectedBlockTime = ConstU64<MILLISECS_PER_BLOCK>;
	type CheckerBandwidth = OrderWorkerBandwidth;
	type CheckSlack = ConstU32<4>;
	type DefaultCheckCapacity = ConstU32<10>;
	type ValidatorsPerOrder = ConstU32<3>;
	type SegmentsPerValidator = ConstU32<4>;
	type RefereesPerDispute = ConstU32<3>;
	type MinHonestChecks = ConstU32<2>;
	type FaultSlash = ProofFaultSlash;
	type MaxWorkers = ConstU32<8>;
	type MaxTasks = ConstU32<96>;
	type MaxCheckpointBytes = ConstU32<{ 1024 * 1024 }>;
	type MaxDrawsPerBlock = ConstU32<POT_MAX_DRAWS_PER_BLOCK>;
	type MaxPendingDraws = ConstU32<POT_MAX_PENDING_DRAWS>;
	type WeightInfo = pallet_proof_of_train::weights::SubstrateWeight<Runtime>;
}

/// Certificate NFTs in a pallet-nfts collection owned by the pallet.
impl pallet_certificates::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type PalletId = CertificatesPalletId;
}

/// Registers workers through compute staking for the orders pallet's benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct RegisterBenchmarkWorker;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_training_orders::BenchmarkHelper<AccountId> for RegisterBenchmarkWorker {
	fn register_worker(who: &AccountId, capacity: u32) {
		use frame_support::traits::fungible::Mutate;
		let bond = super::ComputeStaking::required_bond(capacity);
		Balances::set_balance(who, bond.saturating_mul(2).saturating_add(EXISTENTIAL_DEPOSIT));
		let _ = super::ComputeStaking::register_worker(
			RuntimeOrigin::signed(who.clone()),
			capacity,
			frame_support::BoundedVec::truncate_from(b"benchmark GPU".to_vec()),
			frame_support::BoundedVec::truncate_from(b"http://127.0.0.1:8700".to_vec()),
			bond,
		);
	}
}

/// Transactions the pallets' off-chain workers build: general (unsigned, unpaid) transactions
/// whose call is checked by its pallet's `#[pallet::authorize]` function, such as
/// `TrainingOrders::expire_lapsed` and `ProofOfTrain::advance_lapsed`.
impl<C> frame_system::offchain::CreateTransactionBase<C> for Runtime
where
	RuntimeCall: From<C>,
{
	type Extrinsic = super::UncheckedExtrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<C> frame_system::offchain::CreateTransaction<C> for Runtime
where
	RuntimeCall: From<C>,
{
	type Extension = super::TxExtension;

	fn create_transaction(call: RuntimeCall, extension: super::TxExtension) -> Self::Extrinsic {
		super::UncheckedExtrinsic::new_transaction(call, extension)
	}
}

impl<C> frame_system::offchain::CreateAuthorizedTransaction<C> for Runtime
where
	RuntimeCall: From<C>,
{
	/// `AuthorizeCall` turns the origin into `Authorized` when the call's pallet accepts it;
	/// every later extension then sees no signer: no nonce, no fee.
	fn create_extension() -> super::TxExtension {
		(
			frame_system::AuthorizeCall::<Runtime>::new(),
			frame_system::CheckNonZeroSender::<Runtime>::new(),
			frame_system::CheckSpecVersion::<Runtime>::new(),
			frame_system::CheckTxVersion::<Runtime>::new(),
			frame_system::CheckGenesis::<Runtime>::new(),
			frame_system::CheckEra::<Runtime>::from(sp_runtime::generic::Era::Immortal),
			frame_system::CheckNonce::<Runtime>::from(0),
			frame_system::CheckWeight::<Runtime>::new(),
			pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
		)
	}
}

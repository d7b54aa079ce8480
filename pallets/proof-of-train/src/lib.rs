//! # Proof of train
//!
//! The judge of DeCenter. For every order it runs one game, driven by extrinsics and by the
//! deadlines of each phase:
//!
//! ```text
//! Committing ──(all delivered)──▶ Revealing ──▶ AwaitingValidators ──(next block)──▶ Reporting
//!   ──▶ RevealingReports ──(all agree)──────────────────────────────────────────────▶ settle
//!                        └─(a disagreement)──▶ AwaitingReferees ──▶ Refereeing ──▶ RevealingVerdicts ──▶ settle
//! ```
//!
//! 1. **Commit–reveal of proofs.** While training, each worker commits
//!    `seal(commitment.hash(), salt, account)`; once all have (or the training deadline passed),
//!    each reveals its [`PotCommitment`] and the checkpoint hashes `c_0 … c_n` under its root.
//!    Nobody can copy a replica's result: commits close before any reveal, and the seal binds the
//!    account.
//!    The last checkpoint must be the hash of the committed final model and optimizer state,
//!    so the certificate names the model the checked run ended with.
//! 2. **Validators and segments** are drawn in the block after the last reveal, from the revealed
//!    salts and that block's parent hash (randomness no worker had when committing): `V`
//!    validators by stake, never the order's client or workers, each checking `S` segments of
//!    every worker, each segment with a probe step strictly inside it.
//! 3. **Reports**, commit–reveal again: each validator re-executes its segments from the
//!    worker's checkpoints (segment 0 from the order's own initialization, which one validator
//!    per worker always checks) and reports the end hash and the probe hash (the probe step's
//!    state and gradients, which the worker never published, so only re-execution yields it)
//!    and the final models' metrics. Each worker reports the probe hashes of its own sampled
//!    segments.
//! 4. **Disputes are settled exactly.** Any disagreement on a segment, or a checkpoint a validator
//!    could not fetch, draws `R` referees who re-execute the segment; their majority is the
//!    bitwise truth, and everyone whose claim differs from it is slashed (a false accuser to the
//!    accused). A worker must post a withheld checkpoint on chain in the dispute window.
//! 5. **Settlement**: accepted workers and honest validators are paid from the escrow through
//!    the orders pallet, the best model (by the validators' median metric) is certified with NFTs.
//!
//! Detection: a worker that faked a fraction `f` of its segments escapes with probability
//! `(1 − f)^(V·S)`; see `docs/proof-of-train.md` for the numbers and the attack analysis.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod features;
#[cfg(test)]
mod mock;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

use decenter_primitives::{
	proof::PotCommitment, spec::MAX_CHECKPOINTS, validation::Report, Hash256,
};
use frame_support::{pallet_prelude::*, traits::fungible};
use frame_system::pallet_prelude::*;
use pallet_certificates::CertificateIssuer;
use pallet_compute_staking::{ComputeStakingInterface, ComputeUnits};
use pallet_training_orders::{OrderId, TrainingOrdersInterface};

/// Balance type of bonds.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// A round with the runtime's bounds.
pub type RoundOf<T> = Round<
	<T as frame_system::Config>::AccountId,
	BlockNumberFor<T>,
	<T as Config>::MaxWorkers,
	<T as Config>::ValidatorsPerOrder,
	<T as Config>::RefereesPerDispute,
	<T as Config>::MaxTasks,
>;

/// The checkpoint hashes `c_0 … c_n` of one run.
pub type CheckpointList = BoundedVec<Hash256, ConstU32<{ MAX_CHECKPOINTS + 1 }>>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use sp_runtime::Perbill;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config:
		frame_system::Config + frame_system::offchain::CreateAuthorizedTransaction<Call<Self>>
	{
		/// The overarching event type.
		#[allow(deprecated)]
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

		/// The orders whose work is checked and paid.
		type Orders: TrainingOrdersInterface<Self::AccountId, BlockNumberFor<Self>>;

		/// The currency of bonds (for the amounts in events).
		type Currency: fungible::Inspect<Self::AccountId>;

		/// The bonded pools validators and referees are drawn from, and that slashes.
		type Staking: ComputeStakingInterface<Self::AccountId, Balance = BalanceOf<Self>>;

		/// Mints the certificates of completed orders.
		type Certificates: CertificateIssuer<Self::AccountId>;

		/// Blocks workers have to reveal once every worker committed (or the deadline passed).
		#[pallet::constant]
		type RevealWindow: Get<BlockNumberFor<Self>>;

		/// Blocks for committing reports, and again for revealing them.
		#[pallet::constant]
		type ReportWindow: Get<BlockNumberFor<Self>>;

		/// Blocks for referees to commit (and workers to post withheld checkpoints), and again
		/// for referees to reveal.
		#[pallet::constant]
		type DisputeWindow: Get<BlockNumberFor<Self>>;

		/// Milliseconds per block, to turn checkers' work into blocks.
		#[pallet::constant]
		type ExpectedBlockTime: Get<u64>;

		/// Bytes per second a checker is expected to fetch data, checkpoints and models at.
		#[pallet::constant]
		type CheckerBandwidth: Get<u64>;

		/// The report-commit and referee-commit windows leave this many times the compute time
		/// of the work due in them (at the capacity each checker reserves), on top of
		/// `ReportWindow` or `DisputeWindow` and the fetch time.
		#[pallet::constant]
		type CheckSlack: Get<u32>;

		/// GFLOP/s each drawn validator or referee reserves of its declared capacity while it is
		/// assigned, and the rate its windows are computed at, unless genesis set
		/// `CheckCapacity` (development chains use a low one).
		#[pallet::constant]
		type DefaultCheckCapacity: Get<ComputeUnits>;

		/// `V`: validators drawn per order.
		#[pallet::constant]
		type ValidatorsPerOrder: Get<u32>;

		/// `S`: segments of every worker each validator re-executes when all `V` are drawn.
		/// A draw of fewer (at least `MinHonestChecks`) shares the `V × S` samples among them.
		#[pallet::constant]
		type SegmentsPerValidator: Get<u32>;

		/// `R`: referees drawn when reports disagree; a value reported by more than half of
		/// them is the truth.
		#[pallet::constant]
		type RefereesPerDispute: Get<u32>;

		/// The quorum: a worker is accepted (paid and certified) only when at least this many
		/// unfaulted checkers re-executed its work: validators every one of whose claims on it
		/// is a computed result, and referees that computed one of its disputed segments. At
		/// most `ValidatorsPerOrder`; a validator draw waits until this many are eligible.
		#[pallet::constant]
		type MinHonestChecks: Get<u32>;

		/// Fraction of its bond a faulted participant loses.
		#[pallet::constant]
		type FaultSlash: Get<Perbill>;

		/// Most workers of one order (at least the orders pallet's bound).
		#[pallet::constant]
		type MaxWorkers: Get<u32>;

		/// Most tasks of one order: at least `V × MaxWorkers × S`.
		#[pallet::constant]
		type MaxTasks: Get<u32>;

		/// Largest checkpoint a worker may post on chain when a validator could not fetch it.
		#[pallet::constant]
		type MaxCheckpointBytes: Get<u32>;

		/// Most draws (of validators or referees) in one block.
		#[pallet::constant]
		type MaxDrawsPerBlock: Get<u32>;

		/// Most orders waiting for a draw (at least the orders pallet's open-order bound).
		#[pallet::constant]
		type MaxPendingDraws: Get<u32>;

		/// Weights from the benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// The check of every order being proven or validated.
	#[pallet::storage]
	pub type Rounds<T: Config> = StorageMap<_, Twox64Concat, OrderId, RoundOf<T>, OptionQuery>;

	/// The revealed checkpoint hashes `c_0 … c_n` of each worker slot of an order.
	#[pallet::storage]
	pub type CheckpointHashes<T: Config> =
		StorageDoubleMap<_, Twox64Concat, OrderId, Twox64Concat, u32, CheckpointList, OptionQuery>;

	/// Sealed and revealed reports of an order's validators, workers and referees.
	#[pallet::storage]
	pub type Reports<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		OrderId,
		Blake2_128Concat,
		T::AccountId,
		SealedReport,
		OptionQuery,
	>;

	/// Orders waiting for the next block to draw validators or referees.
	#[pallet::storage]
	pub type PendingDraws<T: Config> =
		StorageValue<_, BoundedVec<OrderId, T::MaxPendingDraws>, ValueQuery>;

	/// GFLOP/s each drawn checker reserves, and the rate its windows are computed at; genesis
	/// may set it, else `DefaultCheckCapacity`.
	#[pallet::storage]
	pub type CheckCapacity<T: Config> =
		StorageValue<_, ComputeUnits, ValueQuery, T::DefaultCheckCapacity>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Check capacity of the chain; `None` keeps `DefaultCheckCapacity`.
		pub check_capacity: Option<ComputeUnits>,
		#[serde(skip)]
		pub _config: core::marker::PhantomData<T>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Some(units) = self.check_capacity {
				assert!(
					units > 0 && units <= T::Staking::max_capacity(),
					"check capacity must be positive and within MaxCapacity"
				);
				CheckCapacity::<T>::put(units);
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A worker committed its sealed proof of train.
		ProofCommitted { order: OrderId, worker: T::AccountId },
		/// Every worker committed (or the deadline passed): reveals are open until `until`.
		RevealOpened { order: OrderId, until: BlockNumberFor<T> },
		/// A worker revealed its proof of train.
		ProofRevealed { order: OrderId, worker: T::AccountId, commitment: PotCommitment },
		/// Validators were drawn, with `tasks` segments to re-execute in all; reports are due by
		/// `until`.
		ValidatorsDrawn {
			order: OrderId,
			validators: Vec<T::AccountId>,
			tasks: u32,
			until: BlockNumberFor<T>,
		},
		/// A validator, worker or referee committed its sealed report.
		ReportCommitted { order: OrderId, reporter: T::AccountId },
		/// Sealed reports may be revealed until `until`.
		ReportRevealOpened { order: OrderId, until: BlockNumberFor<T> },
		/// A report was revealed.
		ReportRevealed { order: OrderId, reporter: T::AccountId },
		/// Reports disagreed on these tasks (or their checkpoint was not served): referees will
		/// be drawn.
		DisputeOpened { order: OrderId, contested: Vec<u32>, withheld: Vec<u32> },
		/// Referees were drawn for the dispute; they commit by `until`.
		RefereesDrawn { order: OrderId, referees: Vec<T::AccountId>, until: BlockNumberFor<T> },
		/// A worker posted a checkpoint a validator could not fetch.
		CheckpointPosted { order: OrderId, worker: T::AccountId, index: u32 },
		/// A participant was faulted and lost `slashed` of its bond.
		Faulted { order: OrderId, who: T::AccountId, fault: Fault, slashed: BalanceOf<T> },
		/// The order was settled: `accepted` workers were paid; the certified model, if any,
		/// is `model_hash`, trained by `winner`.
		Settled {
			order: OrderId,
			accepted: Vec<T::AccountId>,
			paid_validators: Vec<T::AccountId>,
			winner: Option<T::AccountId>,
			model_hash: Option<Hash256>,
			certificates: Vec<u32>,
		},
		/// Fewer than `MinHonestChecks` honest checkers re-executed this worker's proof: it is
		/// neither paid nor certified, and its share goes back to the client.
		Unchecked { order: OrderId, worker: T::AccountId, checks: u32 },
		/// The order ended elsewhere (expired): its check was dropped.
		Abandoned { order: OrderId },
		/// Certificates could not be minted; the payout stands.
		CertificatesFailed { order: OrderId, error: DispatchError },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No such order, or it is not being proven.
		UnknownOrder,
		/// The order is not in the phase this call belongs to.
		WrongPhase,
		/// The caller is not a worker of this order.
		NotAWorker,
		/// The caller is not a validator, worker or referee with a report due in this phase.
		NotAReporter,
		/// Already committed.
		AlreadyCommitted,
		/// Nothing was committed to reveal.
		NotCommitted,
		/// Already revealed.
		AlreadyRevealed,
		/// The revealed value and salt do not hash to the committed seal.
		SealMismatch,
		/// The commitment's checkpoint count differs from the spec's.
		WrongCheckpointCount,
		/// The checkpoint hashes do not have the commitment's Merkle root.
		CheckpointRootMismatch,
		/// The commitment's final model and final optimizer state do not make the last
		/// checkpoint hash: reveal the model the run ended with.
		FinalModelNotLastCheckpoint,
		/// The report has a claim count other than the reporter's task count.
		WrongClaimCount,
		/// A validator's report must evaluate every worker slot; others report no metrics.
		WrongMetricsCount,
		/// A worker's claim contradicts its own checkpoint hashes, or says `Unavailable`.
		InconsistentClaim,
		/// No validator asked for this checkpoint.
		NotWithheld,
		/// The posted bytes are not a checkpoint's canonical bytes or do not hash to the
		/// committed checkpoint.
		CheckpointMismatch,
		/// The caller was faulted and takes no further part.
		Faulted,
		/// The phase's window is still open and someone has yet to act.
		TooEarly,
		/// Too many orders are waiting for a draw.
		TooManyPendingDraws,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::run_draws(now)
		}

		/// Submits `advance_lapsed` for every round whose phase window passed, so that no check
		/// waits for a caller (see `features/housekeeping.rs`).
		fn offchain_worker(now: BlockNumberFor<T>) {
			Self::submit_lapsed_advances(now);
		}

		fn integrity_test() {
			let tasks = T::ValidatorsPerOrder::get()
				.saturating_mul(T::MaxWorkers::get())
				.saturating_mul(T::SegmentsPerValidator::get());
			assert!(tasks <= T::MaxTasks::get(), "MaxTasks below V × MaxWorkers × S");
			assert!(
				T::MaxTasks::get() <= decenter_primitives::validation::MAX_REPORT_CLAIMS,
				"a report cannot hold MaxTasks claims"
			);
			assert!(
				T::MaxWorkers::get() <= decenter_primitives::validation::MAX_REPORT_METRICS,
				"a report cannot evaluate MaxWorkers models"
			);
			assert!(T::ValidatorsPerOrder::get() > 0 && T::SegmentsPerValidator::get() > 0);
			assert!(
				T::MinHonestChecks::get() <= T::ValidatorsPerOrder::get(),
				"a quorum above the validators drawn could never be met"
			);
			assert!(T::CheckSlack::get() >= 1, "check windows must cover the compute time");
			assert!(
				T::ExpectedBlockTime::get() > 0
					&& T::CheckerBandwidth::get() > 0
					&& T::DefaultCheckCapacity::get() > 0,
				"block time, bandwidth and check capacity must be positive"
			);
			assert!(
				T::DefaultCheckCapacity::get() <= T::Staking::max_capacity(),
				"no validator could reserve DefaultCheckCapacity"
			);
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Commits a worker's sealed proof of train for `order`:
		/// `seal = H("decenter/seal" ‖ commitment.hash() ‖ salt ‖ account)`. Marks the proof
		/// delivered; when every worker has, reveals open.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::commit_proof())]
		pub fn commit_proof(origin: OriginFor<T>, order: OrderId, seal: Hash256) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_commit_proof(who, order, seal)
		}

		/// Reveals the committed proof: the commitment, the salt, and the checkpoint hashes
		/// `c_0 … c_n` (their Merkle root must be the commitment's, and `c_n` must be the hash of
		/// the commitment's final model and final optimizer state at the last step). Errors leave
		/// the worker free to reveal again within the window.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::reveal_proof(checkpoints.len() as u32))]
		pub fn reveal_proof(
			origin: OriginFor<T>,
			order: OrderId,
			commitment: PotCommitment,
			salt: Hash256,
			checkpoints: CheckpointList,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_reveal_proof(who, order, commitment, salt, checkpoints)
		}

		/// Commits a sealed report: `seal = H("decenter/seal" ‖ report.hash() ‖ salt ‖ account)`.
		/// Validators and workers commit in `Reporting`, referees in `Refereeing`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::commit_report())]
		pub fn commit_report(
			origin: OriginFor<T>,
			order: OrderId,
			seal: Hash256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_commit_report(who, order, seal)
		}

		/// Reveals a committed report: one claim per task of the caller in the order the round
		/// lists them, and (validators) the metrics of every worker slot's final model. The last
		/// reveal of a phase settles the order or opens a dispute.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::reveal_report()
			.saturating_add(T::WeightInfo::settle(T::MaxTasks::get())))]
		pub fn reveal_report(
			origin: OriginFor<T>,
			order: OrderId,
			report: Report,
			salt: Hash256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_reveal_report(who, order, report, salt)
		}

		/// Posts checkpoint `c_index` (its canonical bytes, see `proof::checkpoint_bytes`) that a
		/// validator reported it could not fetch. Only during `Refereeing`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::post_checkpoint(state.len() as u32))]
		pub fn post_checkpoint(
			origin: OriginFor<T>,
			order: OrderId,
			index: u32,
			state: BoundedVec<u8, T::MaxCheckpointBytes>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_post_checkpoint(who, order, index, state)
		}

		/// Ends the current phase of `order` if its window passed (or everyone acted), faulting
		/// and slashing whoever did not act; settles when it was the last phase. Anyone may call.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::advance(
			T::MaxWorkers::get()
				.saturating_add(T::ValidatorsPerOrder::get())
				.saturating_add(T::RefereesPerDispute::get())
		).saturating_add(T::WeightInfo::settle(T::MaxTasks::get())))]
		pub fn advance(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_advance(order)
		}

		/// Ends the current phase of `order` whose window passed, exactly as `advance` does but
		/// without a caller: the chain's off-chain workers submit it as a free authorized
		/// transaction, valid only while the phase is lapsed (one per order in the pool), so
		/// that the game goes on when everyone else is silent.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::advance(
			T::MaxWorkers::get()
				.saturating_add(T::ValidatorsPerOrder::get())
				.saturating_add(T::RefereesPerDispute::get())
		).saturating_add(T::WeightInfo::settle(T::MaxTasks::get())))]
		#[pallet::authorize(Self::authorize_advance_lapsed)]
		// The check reads the round, the order, the draw queue and the block number.
		#[pallet::weight_of_authorize(T::DbWeight::get().reads(4))]
		pub fn advance_lapsed(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
			ensure_authorized(origin)?;
			Self::do_advance(order)
		}
	}
}

//! # Training orders
//!
//! The marketplace of DeCenter. A client creates an order: a training spec, the training and
//! validation datasets' commitments, replicas or a hyperparameter sweep, the capacity each worker
//! needs, a start block and deadlines, and a budget held in escrow with a spam deposit.
//!
//! Life of an order (every transition emits an event):
//!
//! ```text
//! Open ──(start block: workers drawn by stake)──▶ Assigned ──(all confirm)──▶ Training
//!   ──(all deliver a proof)──▶ Proving ──(validators drawn)──▶ Validating ──▶ Completed | Failed
//! Open/Assigned ──cancel──▶ Cancelled (full refund)     Training ──cancel──▶ Cancelled (time paid)
//! Assigned ──a worker declines──▶ Open (drawn again without it; no one blamed)
//! any missed deadline ──expire_order──▶ Expired (refund; whoever missed it is slashed)
//! ```
//!
//! Workers are assigned on chain, in `on_initialize` of the start block, by the staking pallet's
//! stake-weighted selection among active workers with enough free capacity, never the client.
//! The proof-of-train pallet drives `Training → … → Completed` through
//! [`TrainingOrdersInterface`], which also pays out. `docs/orders.md` has the rules for money,
//! the assignment's attack analysis and the constants.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod features;
mod impl_interface;
#[cfg(test)]
mod mock;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod traits;
pub mod types;
pub mod weights;

pub use features::housekeeping::{housekeeping_validity, submit_housekeeping};
pub use pallet::*;
pub use traits::{TrainingOrdersInterface, ValidationWork};
pub use types::*;
pub use weights::WeightInfo;

use alloc::boxed::Box;
pub use decenter_primitives::order::OrderSpec;
use frame_support::{pallet_prelude::*, traits::fungible};
use frame_system::pallet_prelude::*;
use pallet_compute_staking::{ComputeStakingInterface, ComputeUnits};

/// Balance type of the escrow currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// An order with the runtime's bounds.
pub type OrderOf<T> = Order<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	<T as Config>::MaxWorkers,
	<T as Config>::MaxValidators,
>;

/// What the benchmarks need from the runtime besides this pallet.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// Makes `who` an active worker with `capacity` GFLOP/s.
	fn register_worker(who: &AccountId, capacity: ComputeUnits);
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::traits::fungible::{Mutate, MutateHold};
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

		/// The currency of budgets and deposits.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The overarching hold reason, which includes this pallet's [`HoldReason`].
		type RuntimeHoldReason: From<HoldReason>;

		/// The worker and validator pools.
		type Staking: ComputeStakingInterface<Self::AccountId, Balance = BalanceOf<Self>>;

		/// Receives the chain's fee share of completed orders.
		type Treasury: Get<Self::AccountId>;

		/// Smallest budget of an order.
		#[pallet::constant]
		type MinBudget: Get<BalanceOf<Self>>;

		/// Deposit held for every order until it ends, against spam.
		#[pallet::constant]
		type OrderDeposit: Get<BalanceOf<Self>>;

		/// Paid to the treasury when an order is created and never refunded, so that holding
		/// market slots with orders that are cancelled again costs the one who does it.
		#[pallet::constant]
		type OrderFee: Get<BalanceOf<Self>>;

		/// Paid out of the deposit to whoever calls `expire_order` on an expired order.
		#[pallet::constant]
		type ExpiryReward: Get<BalanceOf<Self>>;

		/// Share of the budget for the workers of a completed order.
		#[pallet::constant]
		type WorkerShare: Get<Perbill>;

		/// Share of the budget for the validators of a settled order.
		#[pallet::constant]
		type ValidatorShare: Get<Perbill>;

		/// Fraction of its bond a worker loses for missing a confirmation or training deadline.
		#[pallet::constant]
		type MissedDeadlineSlash: Get<Perbill>;

		/// Blocks the assigned workers have to confirm, on top of the time to fetch the inputs,
		/// unless genesis set `ConfirmWindow` (development chains use a short one).
		#[pallet::constant]
		type DefaultConfirmWindow: Get<BlockNumberFor<Self>>;

		/// Milliseconds per block, to turn compute and transfer times into blocks.
		#[pallet::constant]
		type ExpectedBlockTime: Get<u64>;

		/// Bytes per second a worker is expected to fetch inputs at: the confirmation window
		/// grows by the time the training set and initial weights take at this rate.
		#[pallet::constant]
		type WorkerBandwidth: Get<u64>;

		/// How many times the compute time at the order's capacity the training window must
		/// leave at least (the cost model is an estimate; workers also verify and checkpoint).
		#[pallet::constant]
		type ComputeSlack: Get<u32>;

		/// Latest start block of an order, counted from its creation.
		#[pallet::constant]
		type MaxStartDelay: Get<BlockNumberFor<Self>>;

		/// Longest training window (start block to training deadline).
		#[pallet::constant]
		type MaxTrainingWindow: Get<BlockNumberFor<Self>>;

		/// Shortest validation window (training deadline to validation deadline) before the
		/// work: the fixed windows and waits of the proof-of-train game. An order's shortest
		/// validation window adds `ValidationWork` for its spec, so that the order cannot
		/// expire with a full refund while the workers' proofs are still being checked.
		#[pallet::constant]
		type MinValidationWindow: Get<BlockNumberFor<Self>>;

		/// The blocks the checking of an order's work takes (the proof-of-train pallet).
		type ValidationWork: ValidationWork<BlockNumberFor<Self>>;

		/// Longest validation window.
		#[pallet::constant]
		type MaxValidationWindow: Get<BlockNumberFor<Self>>;

		/// Blocks between assignment attempts of an order too few workers were eligible for.
		#[pallet::constant]
		type AssignmentRetry: Get<BlockNumberFor<Self>>;

		/// Most workers of one order (replicas or sweep variants).
		#[pallet::constant]
		type MaxWorkers: Get<u32>;

		/// Most validators of one order.
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Most orders starting (or retrying assignment) in one block.
		#[pallet::constant]
		type MaxStartsPerBlock: Get<u32>;

		/// Most orders in the `Open` state at once.
		#[pallet::constant]
		type MaxOpenOrders: Get<u32>;

		/// Most unfinished orders of one client.
		#[pallet::constant]
		type MaxOrdersPerAccount: Get<u32>;

		/// Blocks a finished order stays in `Orders` (for its parties to read it and fetch its
		/// artifacts) before it is removed; its history stays in events and on archive nodes.
		#[pallet::constant]
		type OrderRetention: Get<BlockNumberFor<Self>>;

		/// Most finished orders removed in one block.
		#[pallet::constant]
		type MaxPrunesPerBlock: Get<u32>;

		/// Weights of the calls, from `benchmarking.rs`.
		type WeightInfo: WeightInfo;

		/// Registers workers for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The budget of an order, until it is paid out or refunded.
		#[codec(index = 0)]
		Escrow,
		/// The spam deposit of an order, until it ends.
		#[codec(index = 1)]
		Deposit,
	}

	/// Identifier of the next order.
	#[pallet::storage]
	pub type NextOrderId<T: Config> = StorageValue<_, OrderId, ValueQuery>;

	/// Every unfinished order, and finished ones for `OrderRetention` blocks.
	#[pallet::storage]
	pub type Orders<T: Config> = StorageMap<_, Blake2_128Concat, OrderId, OrderOf<T>, OptionQuery>;

	/// Unfinished orders of each client.
	#[pallet::storage]
	pub type ClientOrders<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<OrderId, T::MaxOrdersPerAccount>,
		ValueQuery,
	>;

	/// Unfinished orders each worker is assigned to. Every assignment locks at least one unit of
	/// the worker's capacity, so a worker's entries are bounded by its capacity.
	#[pallet::storage]
	pub type WorkerOrders<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, OrderId, (), OptionQuery>;

	/// Orders waiting for workers, in creation order.
	#[pallet::storage]
	pub type OpenOrders<T: Config> =
		StorageValue<_, BoundedVec<OrderId, T::MaxOpenOrders>, ValueQuery>;

	/// Blocks the assigned workers have to confirm, on top of fetch time; genesis may set it,
	/// else `DefaultConfirmWindow`.
	#[pallet::storage]
	pub type ConfirmWindow<T: Config> =
		StorageValue<_, BlockNumberFor<T>, ValueQuery, T::DefaultConfirmWindow>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Confirmation window of the chain; `None` keeps `DefaultConfirmWindow`.
		pub confirm_window: Option<BlockNumberFor<T>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Some(blocks) = self.confirm_window {
				ConfirmWindow::<T>::put(blocks);
			}
		}
	}

	/// Orders whose workers are drawn at the start of a block.
	#[pallet::storage]
	pub type StartQueue<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<OrderId, T::MaxStartsPerBlock>,
		ValueQuery,
	>;

	/// Finished orders waiting to leave `Orders`, in the order they finished: entry `i` is
	/// (block from which it may go, order). The queue's ends are in `PruneQueueEnds`.
	#[pallet::storage]
	pub type PruneQueue<T: Config> =
		StorageMap<_, Twox64Concat, u64, (BlockNumberFor<T>, OrderId), OptionQuery>;

	/// (first entry still queued, next free entry) of `PruneQueue`.
	#[pallet::storage]
	pub type PruneQueueEnds<T: Config> = StorageValue<_, (u64, u64), ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An order was created: its budget and deposit are held, its `fee` went to the
		/// treasury.
		OrderCreated {
			order: OrderId,
			client: T::AccountId,
			budget: BalanceOf<T>,
			fee: BalanceOf<T>,
			workers: u32,
			start_at: BlockNumberFor<T>,
		},
		/// Workers were drawn for an order.
		WorkersAssigned { order: OrderId, workers: alloc::vec::Vec<T::AccountId> },
		/// Too few workers were eligible; the order tries again at `retry_at` (or waits for
		/// expiry when no later start slot was free).
		AssignmentDeferred { order: OrderId, retry_at: Option<BlockNumberFor<T>> },
		/// A worker confirmed its assignment.
		AssignmentConfirmed { order: OrderId, worker: T::AccountId },
		/// A worker declined its assignment: every worker of the order was released and the
		/// order waits for a new draw without it (`AssignmentDeferred` says when).
		AssignmentDeclined { order: OrderId, worker: T::AccountId },
		/// Every worker confirmed; training runs.
		TrainingStarted { order: OrderId },
		/// A worker delivered its proof of train.
		ProofDelivered { order: OrderId, worker: T::AccountId },
		/// Every worker (still in the order) delivered; proofs are being checked.
		ProvingStarted { order: OrderId },
		/// Validators were assigned.
		ValidationStarted { order: OrderId, validators: alloc::vec::Vec<T::AccountId> },
		/// Referees of a dispute joined the validators.
		ValidatorsAdded { order: OrderId, validators: alloc::vec::Vec<T::AccountId> },
		/// The client added to the budget.
		ToppedUp { order: OrderId, amount: BalanceOf<T> },
		/// The client cancelled; `paid` went to workers for work done, `refunded` back.
		OrderCancelled { order: OrderId, paid: BalanceOf<T>, refunded: BalanceOf<T> },
		/// A deadline passed: `refunded` went back to the client, `reward` to the caller (none
		/// when the chain's off-chain workers expired it through `expire_lapsed`).
		OrderExpired {
			order: OrderId,
			refunded: BalanceOf<T>,
			reward: BalanceOf<T>,
			caller: Option<T::AccountId>,
		},
		/// A worker missed a deadline of the order and was reported for slashing.
		DeadlineMissed { order: OrderId, worker: T::AccountId, slashed: BalanceOf<T> },
		/// The order was accepted and paid out.
		OrderCompleted {
			order: OrderId,
			workers_paid: BalanceOf<T>,
			validators_paid: BalanceOf<T>,
			fee: BalanceOf<T>,
			refunded: BalanceOf<T>,
		},
		/// The work was rejected; the client was refunded.
		OrderFailed { order: OrderId, validators_paid: BalanceOf<T>, refunded: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No order has this id.
		UnknownOrder,
		/// Only the order's client may do this.
		NotClient,
		/// The order is not in a state that allows this.
		WrongState,
		/// The budget is below `MinBudget`.
		BudgetTooSmall,
		/// The free balance cannot cover the budget and the deposit.
		InsufficientBalance,
		/// An amount of zero was given.
		ZeroAmount,
		/// The capacity per worker is zero.
		CapacityZero,
		/// The capacity per worker is above what any worker may declare (the staking pallet's
		/// `MaxCapacity`), so nobody could ever serve the order.
		CapacityTooLarge,
		/// The training spec is out of bounds (zero width, too many parameters, zero or too
		/// large batch, zero checkpoint interval, zero learning rate, bad decay).
		InvalidTrainingSpec,
		/// The spec has zero steps.
		ZeroSteps,
		/// A dataset has no records or no bytes.
		EmptyDataset,
		/// The batch is larger than the training set.
		BatchLargerThanDataset,
		/// The model's input width differs from the datasets' feature count.
		FeatureMismatch,
		/// The model's outputs or loss do not fit the datasets' labels.
		LabelMismatch,
		/// Zero replicas, more than the bound, or an empty sweep.
		BadWorkerCount,
		/// The start block is in the past (the earliest start is the next block).
		StartInPast,
		/// The start block is more than `MaxStartDelay` blocks away.
		StartTooLate,
		/// The training deadline is not after the start block.
		DeadlineBeforeStart,
		/// The training window (start to training deadline) is shorter than the work needs:
		/// confirmation with fetching the inputs, `ComputeSlack` times the compute time at the
		/// order's capacity, and the confirmation window again to deliver the proof. The
		/// runtime API `TrainingOrdersApi::quote` gives the minimum.
		TrainingWindowTooShort,
		/// The training window (start to training deadline) is longer than `MaxTrainingWindow`.
		TrainingWindowTooLong,
		/// The validation deadline is not after the training deadline.
		ValidationBeforeTraining,
		/// The validation window is shorter than the time the proof of train of this spec may
		/// need (`MinValidationWindow` and the checkers' work; `TrainingOrdersApi::quote` gives
		/// it).
		ValidationWindowTooShort,
		/// The validation window is longer than `MaxValidationWindow`.
		ValidationWindowTooLong,
		/// `MaxStartsPerBlock` orders already start at that block; pick another.
		StartBlockFull,
		/// `MaxOpenOrders` orders are waiting for workers.
		TooManyOpenOrders,
		/// The account has `MaxOrdersPerAccount` unfinished orders.
		TooManyOrders,
		/// The caller is not one of the order's workers.
		NotAssigned,
		/// The worker already confirmed.
		AlreadyConfirmed,
		/// The worker already delivered.
		AlreadyDelivered,
		/// The confirmation window is over.
		ConfirmWindowOver,
		/// A worker has delivered its proof: the order can no longer be cancelled, it is
		/// checked and paid for.
		WorkDelivered,
		/// No deadline of the order has passed yet.
		NotExpired,
		/// More validators than `MaxValidators`.
		TooManyValidators,
		/// A number would overflow.
		Overflow,
		/// Checking this spec's work would take longer than `MaxValidationWindow`: shorten its
		/// segments (`checkpoint_interval`), its model or its validation set.
		CheckingTooLong,
		/// The capacity is below what each validator reserves to check an order
		/// (`ProofOfTrain::CheckCapacity`): workers slower than their checkers would hold them
		/// up.
		CapacityBelowCheckers,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Draws the workers of the orders starting in this block, and removes at most
		/// `MaxPrunesPerBlock` orders whose retention ended.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::assign_starting_orders(now).saturating_add(Self::prune_finished(now))
		}

		/// Submits `expire_lapsed` for every unfinished order whose deadline has passed, so
		/// that no order waits for a caller (see `features/housekeeping.rs`).
		fn offchain_worker(now: BlockNumberFor<T>) {
			Self::submit_lapsed_expiries(now);
		}

		fn integrity_test() {
			let shares = T::WorkerShare::get().deconstruct() as u64
				+ T::ValidatorShare::get().deconstruct() as u64;
			assert!(
				shares <= Perbill::one().deconstruct() as u64,
				"worker and validator shares exceed the whole budget"
			);
			assert!(T::ExpiryReward::get() <= T::OrderDeposit::get(), "reward above deposit");
			assert!(
				T::MinValidationWindow::get() <= T::MaxValidationWindow::get(),
				"validation window bounds crossed"
			);
			assert!(T::ComputeSlack::get() >= 1, "training windows must cover the compute time");
			assert!(
				T::ExpectedBlockTime::get() > 0 && T::WorkerBandwidth::get() > 0,
				"block time and bandwidth must be positive"
			);
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Create an order: train `spec` with workers that each have `capacity` GFLOP/s free
		/// (at most the staking pallet's `MaxCapacity`), starting at block `start_at` (the next
		/// block if `None`, at most `MaxStartDelay` ahead), deliver proofs by
		/// `training_deadline` (at most `MaxTrainingWindow` after the start) and be validated
		/// by `validation_deadline` (at most `MaxValidationWindow` after the training deadline).
		/// The training and validation windows must cover the work (see
		/// `TrainingWindowTooShort`, `ValidationWindowTooShort`); `TrainingOrdersApi::quote`
		/// gives every bound for a spec.
		/// `budget` (at least `MinBudget`) and the `OrderDeposit` are held until the order ends;
		/// the `OrderFee` goes to the treasury and is not refunded.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_order())]
		pub fn create_order(
			origin: OriginFor<T>,
			spec: Box<OrderSpec>,
			capacity: ComputeUnits,
			start_at: Option<BlockNumberFor<T>>,
			training_deadline: BlockNumberFor<T>,
			validation_deadline: BlockNumberFor<T>,
			#[pallet::compact] budget: BalanceOf<T>,
		) -> DispatchResult {
			let client = ensure_signed(origin)?;
			Self::do_create_order(
				client,
				*spec,
				capacity,
				start_at,
				training_deadline,
				validation_deadline,
				budget,
			)
		}

		/// Cancel your order. Before training starts the budget and deposit are refunded (the
		/// order fee is not); during training the workers are paid for the share of the
		/// training window that has passed and the rest is refunded. Once any worker has
		/// delivered its proof the order cannot be cancelled (`WorkDelivered`): it is checked
		/// and paid for.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_order(T::MaxWorkers::get()))]
		pub fn cancel_order(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cancel_order(who, order)
		}

		/// Add `amount` to the budget of your unfinished order.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::top_up())]
		pub fn top_up(
			origin: OriginFor<T>,
			order: OrderId,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_top_up(who, order, amount)
		}

		/// As an assigned worker, confirm that you took the order and started training. When
		/// every worker has confirmed, the order is `Training`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::confirm_assignment())]
		pub fn confirm_assignment(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_confirm_assignment(who, order)
		}

		/// Settle an order whose deadline passed: an unserved order is refunded; workers that did
		/// not confirm in time or did not deliver by the training deadline are slashed (to the
		/// treasury, never to the client who set the deadline) and the client refunded. Anyone
		/// may call; the caller gets `ExpiryReward` from the order's deposit.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::expire_order(T::MaxWorkers::get()))]
		pub fn expire_order(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
			let caller = ensure_signed(origin)?;
			Self::do_expire_order(Some(caller), order)
		}

		/// Expire an order whose deadline passed, exactly as `expire_order` does but without
		/// a caller: the chain's off-chain workers submit it as a free authorized transaction,
		/// so a dev or live chain moves every order to its end even when nobody calls
		/// `expire_order`. It is valid only while the order is due (one per order in the pool),
		/// and nobody is rewarded: the whole deposit goes back to the client.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::expire_order(T::MaxWorkers::get()))]
		#[pallet::authorize(Self::authorize_expire_lapsed)]
		// The check reads the order, the confirmation window and the block number.
		#[pallet::weight_of_authorize(T::DbWeight::get().reads(3))]
		pub fn expire_lapsed(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
			ensure_authorized(origin)?;
			Self::do_expire_order(None, order)
		}

		/// As an assigned worker that has not confirmed, give the order back within the
		/// confirmation window: you cannot fetch its inputs, they do not match their
		/// commitments, or you will not train it. You lose nothing (a successful decline pays
		/// no transaction fee) and nobody is blamed; every worker of the order is released and
		/// it is drawn again at the next retry if the work still fits, without you. Once
		/// `MaxWorkers` workers have declined, the next decline ends the order as `Expired`
		/// with the budget and deposit refunded (the order fee is not).
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::decline_assignment(T::MaxWorkers::get()))]
		pub fn decline_assignment(
			origin: OriginFor<T>,
			order: OrderId,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_decline_assignment(who, order)?;
			// Only an assigned worker succeeds, once per assignment: no room for free spam.
			Ok(Pays::No.into())
		}
	}
}

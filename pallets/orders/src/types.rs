//! Data types of the training-orders pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use decenter_primitives::order::OrderSpec;
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use pallet_compute_staking::ComputeUnits;
use scale_info::TypeInfo;

/// Identifier of an order, counting from 0.
pub type OrderId = u64;

/// Where an order is in its life.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum OrderStatus {
	/// Waiting for its start block and for enough eligible workers.
	Open,
	/// Workers are chosen; waiting for every one of them to confirm.
	Assigned,
	/// Every worker confirmed and trains.
	Training,
	/// Workers are committing and revealing their proofs of train.
	Proving,
	/// Validators re-execute and evaluate.
	Validating,
	/// Accepted and paid out.
	Completed,
	/// Cancelled by the client.
	Cancelled,
	/// A deadline passed; the client was refunded and whoever missed it was slashed.
	Expired,
	/// The work was rejected; the client was refunded.
	Failed,
}

impl OrderStatus {
	/// Whether the order is over (its funds are settled).
	pub fn is_final(self) -> bool {
		matches!(self, Self::Completed | Self::Cancelled | Self::Expired | Self::Failed)
	}
}

/// A worker's place in an order.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
pub struct WorkerSlot<AccountId: Clone + PartialEq + Eq + core::fmt::Debug> {
	/// The worker.
	pub account: AccountId,
	/// Whether it confirmed the assignment (started training).
	pub confirmed: bool,
	/// Whether it delivered its proof of train (set by the proof-of-train pallet).
	pub delivered: bool,
	/// Whether its work was accepted and paid (the order completed): only then may the client
	/// fetch its trained model and checkpoints.
	pub paid: bool,
}

/// The blocks that bound an order.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct Timetable<BlockNumber> {
	/// Workers are assigned at this block or, if too few are eligible then, at a retry after it.
	pub start_at: BlockNumber,
	/// Every worker must have delivered its proof by this block.
	pub training_deadline: BlockNumber,
	/// Validators must have settled the order by this block.
	pub validation_deadline: BlockNumber,
}

/// An order and its escrow.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxWorkers, MaxValidators))]
pub struct Order<AccountId, Balance, BlockNumber, MaxWorkers: Get<u32>, MaxValidators: Get<u32>>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// Who ordered and pays.
	pub client: AccountId,
	/// What to train, on what data, by how many workers.
	pub spec: OrderSpec,
	/// Capacity (GFLOP/s) each worker must have free; it is locked while the order runs.
	pub capacity: ComputeUnits,
	/// Payment held in escrow.
	pub budget: Balance,
	/// Spam deposit held until the order ends.
	pub deposit: Balance,
	/// Where the order is.
	pub status: OrderStatus,
	/// Block of creation.
	pub created_at: BlockNumber,
	/// Start and deadlines.
	pub timetable: Timetable<BlockNumber>,
	/// Block at which workers were assigned.
	pub assigned_at: Option<BlockNumber>,
	/// Block at which the last worker confirmed and training started.
	pub training_started_at: Option<BlockNumber>,
	/// The workers, one per replica or sweep variant, in slot order.
	pub workers: BoundedVec<WorkerSlot<AccountId>, MaxWorkers>,
	/// The validators assigned by the proof-of-train pallet.
	pub validators: BoundedVec<AccountId, MaxValidators>,
	/// Workers that declined the order (`decline_assignment`); later draws leave them out.
	pub declined: BoundedVec<AccountId, MaxWorkers>,
}

/// What an order of a given spec and capacity costs, and which timetables the chain accepts
/// for it: `TrainingOrdersApi::quote` answers this before anyone signs. Windows are in blocks.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Quote<Balance, BlockNumber> {
	/// Paid to the treasury at creation, never refunded.
	pub fee: Balance,
	/// Held until the order ends, then returned.
	pub deposit: Balance,
	/// The smallest budget.
	pub min_budget: Balance,
	/// The latest start block, counted from now.
	pub max_start_delay: BlockNumber,
	/// Blocks an assigned worker has to fetch the inputs and confirm.
	pub confirm_window: BlockNumber,
	/// The shortest training window (start block to training deadline) the work allows.
	pub min_training_window: BlockNumber,
	/// The longest training window.
	pub max_training_window: BlockNumber,
	/// The shortest validation window (training deadline to validation deadline).
	pub min_validation_window: BlockNumber,
	/// The longest validation window.
	pub max_validation_window: BlockNumber,
}

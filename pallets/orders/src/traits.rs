//! The interface the proof-of-train pallet uses to drive orders through proving, validation and
//! settlement, and to read what it needs.

use crate::types::{OrderId, OrderStatus, Timetable};
use decenter_primitives::order::OrderSpec;
use pallet_compute_staking::ComputeUnits;
use sp_runtime::{DispatchResult, Vec};

/// What the checking of an order costs in time beyond the fixed windows of its phases, so that
/// its validation window can cover it: the proof-of-train pallet implements it.
pub trait ValidationWork<BlockNumber> {
	/// Blocks the checking of an order of `spec` whose workers have `capacity` GFLOP/s needs,
	/// in the worst case: the validators and referees fetching, re-executing and evaluating
	/// at the capacity each reserves, the workers re-executing to their probes at theirs.
	/// `None` when the spec's cost overflows.
	fn validation_work_blocks(spec: &OrderSpec, capacity: ComputeUnits) -> Option<BlockNumber>;

	/// The least capacity an order may ask of its workers: what each checker reserves, so
	/// that workers slower than their checkers cannot hold the checkers up.
	fn min_capacity() -> ComputeUnits;
}

/// No work: for runtimes (and tests) without a proof-of-train pallet.
impl<BlockNumber: sp_runtime::traits::Zero> ValidationWork<BlockNumber> for () {
	fn validation_work_blocks(_: &OrderSpec, _: ComputeUnits) -> Option<BlockNumber> {
		Some(BlockNumber::zero())
	}

	fn min_capacity() -> ComputeUnits {
		0
	}
}

/// Orders as the proof-of-train pallet sees them.
pub trait TrainingOrdersInterface<AccountId, BlockNumber> {
	/// Status of `order`, if it exists.
	fn status(order: OrderId) -> Option<OrderStatus>;

	/// The client of `order`.
	fn client(order: OrderId) -> Option<AccountId>;

	/// The workers of `order`, in slot order (slot `i` trains `spec.variant(i)`).
	fn workers(order: OrderId) -> Vec<AccountId>;

	/// What `order` trains.
	fn spec(order: OrderId) -> Option<OrderSpec>;

	/// GFLOP/s each worker of `order` had free: the rate its workers' own re-executions are
	/// timed at.
	fn capacity(order: OrderId) -> Option<ComputeUnits>;

	/// Start and deadlines of `order`.
	fn timetable(order: OrderId) -> Option<Timetable<BlockNumber>>;

	/// Records that `worker` delivered its proof of train for `order`; once every worker has,
	/// the order moves from `Training` to `Proving`.
	fn mark_delivered(order: OrderId, worker: &AccountId) -> DispatchResult;

	/// Records the validators of `order` (allowed to fetch its artifacts) and moves it from
	/// `Proving` to `Validating`.
	fn begin_validation(order: OrderId, validators: Vec<AccountId>) -> DispatchResult;

	/// Adds `validators` (referees of a dispute) to those of a `Validating` order: they may
	/// fetch its artifacts and are paid like the others if they report honestly.
	fn add_validators(order: OrderId, validators: Vec<AccountId>) -> DispatchResult;

	/// Accepts the work of `accepted` workers and pays out from escrow: each accepted worker
	/// its slot's share of the worker pool, the `validators` the validator pool in equal
	/// parts, the chain its fee; what is left (shares of rejected workers, rounding) goes back
	/// to the client with the deposit. The order becomes `Completed`.
	fn complete(order: OrderId, accepted: &[AccountId], validators: &[AccountId])
		-> DispatchResult;

	/// Rejects the work: the `validators` are paid their pool as for `complete`, everything
	/// else goes back to the client. The order becomes `Failed`.
	fn fail(order: OrderId, validators: &[AccountId]) -> DispatchResult;
}

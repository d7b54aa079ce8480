//! The interface the proof-of-train pallet uses to drive orders through proving, validation and
//! settlement, and to read what it needs.

use crate::types::{OrderId, OrderStatus, Timetable};
use decenter_primitives::order::OrderSpec;
use sp_runtime::{DispatchResult, Vec};

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

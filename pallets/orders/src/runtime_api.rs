//! Runtime API for reading orders: one order, the open ones, a client's and a worker's
//! unfinished ones, whether an account may fetch an order's artifacts, and what an order of a
//! given spec would cost and need before anyone signs.

use crate::types::OrderId;
use alloc::vec::Vec;
use codec::Codec;
use decenter_primitives::order::OrderSpec;
use sp_runtime::DispatchError;

sp_api::decl_runtime_apis! {
	/// Read access to training orders for wallets and the off-chain program.
	pub trait TrainingOrdersApi<AccountId, OrderRecord, OrderQuote>
	where
		AccountId: Codec,
		OrderRecord: Codec,
		OrderQuote: Codec,
	{
		/// The order `id`, if it exists.
		fn order(id: OrderId) -> Option<OrderRecord>;
		/// Orders waiting for workers, oldest first.
		fn open_orders() -> Vec<OrderId>;
		/// Unfinished orders of `client`.
		fn orders_of(client: AccountId) -> Vec<OrderId>;
		/// Unfinished orders `worker` is assigned to.
		fn assignments_of(worker: AccountId) -> Vec<OrderId>;
		/// Whether `who` may fetch the artifacts of order `id`: its client, its workers and its
		/// validators, while the order is unfinished or completed.
		fn can_fetch(id: OrderId, who: AccountId) -> bool;
		/// What `create_order` requires of an order of `spec` with `capacity` GFLOP/s per
		/// worker: fee, deposit, minimum budget and every window bound (the shortest training
		/// window follows from the spec's cost), or the error `create_order` would fail with.
		fn quote(spec: OrderSpec, capacity: u32) -> Result<OrderQuote, DispatchError>;
	}
}

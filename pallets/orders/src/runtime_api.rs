//! Runtime API for reading orders: one order, the open ones, a client's and a worker's
//! unfinished ones, and whether an account may fetch an order's artifacts.

use crate::types::OrderId;
use alloc::vec::Vec;
use codec::Codec;

sp_api::decl_runtime_apis! {
	/// Read access to training orders for wallets and the off-chain program.
	pub trait TrainingOrdersApi<AccountId, OrderRecord>
	where
		AccountId: Codec,
		OrderRecord: Codec,
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
	}
}

//! Runtime API for the off-chain program: the round of an order and the tasks of a reporter.

use crate::types::SegmentCheck;
use alloc::vec::Vec;
use codec::Codec;
use pallet_training_orders::OrderId;

sp_api::decl_runtime_apis! {
	/// Reads the proof-of-train game.
	pub trait ProofOfTrainApi<AccountId, Round>
	where
		AccountId: Codec,
		Round: Codec,
	{
		/// The check of `order`, while it runs.
		fn round(order: OrderId) -> Option<Round>;
		/// The tasks `who` reports on in the current phase, in report order, with their index
		/// in the round (empty when `who` has nothing to report).
		fn tasks_of(order: OrderId, who: AccountId) -> Vec<(u32, SegmentCheck)>;
	}
}

//! Runtime API for reading the pools: participant records, unbonding chunks, reputation, the
//! bond a capacity needs and the members of a pool.

use crate::types::{ComputeUnits, Role};
use alloc::vec::Vec;
use codec::Codec;

sp_api::decl_runtime_apis! {
	/// Read access to compute staking for wallets and the off-chain program.
	pub trait ComputeStakingApi<AccountId, Balance, ParticipantRecord, UnbondingChunks, ReputationRecord>
	where
		AccountId: Codec,
		Balance: Codec,
		ParticipantRecord: Codec,
		UnbondingChunks: Codec,
		ReputationRecord: Codec,
	{
		/// The participant record of `who`, if registered.
		fn participant(who: AccountId) -> Option<ParticipantRecord>;
		/// The unbonding chunks of `who`.
		fn unbonding(who: AccountId) -> UnbondingChunks;
		/// The reputation of `who` (all zero if it never registered).
		fn reputation(who: AccountId) -> ReputationRecord;
		/// Bond needed to declare `capacity` GFLOP/s.
		fn required_bond(capacity: ComputeUnits) -> Balance;
		/// Members of the pool of `role`, in registration order.
		fn pool(role: Role) -> Vec<AccountId>;
	}
}

//! The interface that the order and proof-of-train pallets use to work with the pools.

use crate::types::{ComputeUnits, Role, SlashReason};
use frame_support::weights::Weight;
use sp_runtime::{DispatchResult, Perbill, Vec};

/// Access to the worker and validator pools for other pallets.
///
/// Every function that changes state emits the staking pallet's events, so that the pool's history
/// can be followed from events alone.
pub trait ComputeStakingInterface<AccountId> {
	/// The currency balance of bonds.
	type Balance;

	/// Whether `who` is registered in `role` and takes new assignments (not chilled).
	fn is_active(who: &AccountId, role: Role) -> bool;

	/// The most capacity anyone may declare: an order asking more per worker can never be
	/// served.
	fn max_capacity() -> ComputeUnits;

	/// Declared capacity minus locked capacity, or `None` when `who` is not registered.
	fn free_capacity(who: &AccountId) -> Option<ComputeUnits>;

	/// Active bond of `who` (zero when not registered).
	fn stake(who: &AccountId) -> Self::Balance;

	/// Records an assignment for `who` and locks `units` of its capacity. Fails when `who` is
	/// not active or has less free capacity. A participant with assignments cannot leave.
	fn lock_capacity(who: &AccountId, units: ComputeUnits) -> DispatchResult;

	/// Ends an assignment of `who` and releases `units` of its capacity.
	fn release_capacity(who: &AccountId, units: ComputeUnits) -> DispatchResult;

	/// Slashes up to `amount` from the bond of `who` (active bond first, then unbonding chunks).
	/// The slashed funds go to `beneficiary` when given (e.g. a falsely accused worker), or else
	/// to the runtime's slash destination. Returns the amount actually slashed, which is less
	/// than `amount` only when the whole bond was taken.
	fn slash(
		who: &AccountId,
		amount: Self::Balance,
		reason: SlashReason,
		beneficiary: Option<&AccountId>,
	) -> Self::Balance;

	/// Slashes `fraction` of everything `who` has bonded (active and unbonding), as `slash`.
	fn slash_fraction(
		who: &AccountId,
		fraction: Perbill,
		reason: SlashReason,
		beneficiary: Option<&AccountId>,
	) -> Self::Balance;

	/// Counts a finished, accepted job in the reputation of `who`.
	fn record_success(who: &AccountId);

	/// Counts a fault in the reputation of `who`.
	fn record_fault(who: &AccountId);

	/// Picks up to `count` distinct active participants of `role` with at least `min_free_capacity`
	/// free, none in `exclude`, each pick weighted by bond among those not yet picked. The result
	/// depends only on `seed` and the chain state. Returns fewer than `count` accounts when fewer
	/// are eligible.
	fn select(
		role: Role,
		count: u32,
		seed: [u8; 32],
		exclude: &[AccountId],
		min_free_capacity: ComputeUnits,
	) -> Vec<AccountId>;

	/// Upper bound of the weight of one `select` call that picks `count` participants.
	fn select_weight(count: u32) -> Weight;
}

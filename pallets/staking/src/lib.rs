//! # Compute staking
//!
//! The worker pool and the validator pool of DeCenter. A GPU owner registers as a **worker** and
//! a re-executing checker as a **validator**, each with a declared compute capacity (sustained
//! f32 GFLOP/s, measured by the off-chain program's calibration run) and a bond of at least
//! `MinBond + BondPerComputeUnit × capacity`. Bonds are held with the fungible hold traits of
//! pallet-balances under [`HoldReason::Bond`], so bonded funds cannot be moved.
//!
//! - Leaving: `unbond` moves part or all of the bond into an unbonding chunk that stays held
//!   (and slashable) for the unbonding period; `withdraw_unbonded` releases matured chunks.
//!   Unbonding the whole bond leaves the pool at once, which needs every assignment finished.
//! - `chill` stops new assignments without unbonding; `resume` ends it.
//! - The other pallets use [`ComputeStakingInterface`]: eligibility and free capacity, capacity
//!   locks for assignments, slashing (by amount or fraction, to a beneficiary or the slash
//!   destination), reputation, and stake-weighted random selection of distinct participants.
//! - Reputation (completed jobs, faults, slashes, last activity) is kept per account, also after
//!   it leaves, and is readable from storage and through [`runtime_api::ComputeStakingApi`].
//!
//! The pallet's README has the benchmark command and the selection algorithm's cost.

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

pub use pallet::*;
pub use traits::ComputeStakingInterface;
pub use types::*;
pub use weights::WeightInfo;

use frame_support::{pallet_prelude::*, traits::fungible};
use frame_system::pallet_prelude::*;

/// Balance type of the bond currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Funds taken from a bond by a slash, on their way to a beneficiary or the slash destination.
pub type CreditOf<T> =
	fungible::Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;

/// A participant record with the runtime's bounds.
pub type ParticipantOf<T> = Participant<
	BalanceOf<T>,
	BlockNumberFor<T>,
	<T as Config>::MaxDeviceLength,
	<T as Config>::MaxEndpointLength,
>;

/// The unbonding chunks of one account.
pub type UnbondingChunksOf<T> =
	BoundedVec<UnbondingChunk<BalanceOf<T>, BlockNumberFor<T>>, <T as Config>::MaxUnbondingChunks>;

/// The reputation record of one account.
pub type ReputationOf<T> = Reputation<BalanceOf<T>, BlockNumberFor<T>>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::traits::{
		fungible::{BalancedHold, Mutate, MutateHold},
		OnUnbalanced,
	};

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The overarching event type.
		#[allow(deprecated)]
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

		/// The currency bonds are held in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ BalancedHold<Self::AccountId>;

		/// The overarching hold reason, which includes this pallet's [`HoldReason`].
		type RuntimeHoldReason: From<HoldReason>;

		/// Where slashed funds go when a slash names no beneficiary: a treasury account
		/// (`ResolveTo`) or `()` to burn them.
		type SlashDestination: OnUnbalanced<CreditOf<Self>>;

		/// Smallest bond of any participant, whatever its capacity.
		#[pallet::constant]
		type MinBond: Get<BalanceOf<Self>>;

		/// Bond required per declared GFLOP/s on top of `MinBond`.
		#[pallet::constant]
		type BondPerComputeUnit: Get<BalanceOf<Self>>;

		/// Largest capacity one account can declare, in GFLOP/s.
		#[pallet::constant]
		type MaxCapacity: Get<ComputeUnits>;

		/// Longest device description, in bytes.
		#[pallet::constant]
		type MaxDeviceLength: Get<u32>;

		/// Longest artifact endpoint, in bytes.
		#[pallet::constant]
		type MaxEndpointLength: Get<u32>;

		/// Most participants in each pool (workers, validators).
		#[pallet::constant]
		type MaxPoolSize: Get<u32>;

		/// How much more than the lowest idle member's bond a newcomer must bond to take its
		/// place in a full pool: full pools admit higher stakes, so bonds cannot keep honest
		/// participants out for ever, and the margin keeps two accounts from evicting each
		/// other back and forth for a unit.
		#[pallet::constant]
		type EvictionMargin: Get<sp_runtime::Perbill>;

		/// Most unbonding chunks one account can have at a time.
		#[pallet::constant]
		type MaxUnbondingChunks: Get<u32>;

		/// Unbonding period used until root sets one (and when genesis names none).
		#[pallet::constant]
		type DefaultUnbondingPeriod: Get<BlockNumberFor<Self>>;

		/// Weights of the calls, from `benchmarking.rs`.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Bond of a worker or validator, active or unbonding.
		#[codec(index = 0)]
		Bond,
	}

	/// Registered workers and validators.
	#[pallet::storage]
	pub type Participants<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ParticipantOf<T>, OptionQuery>;

	/// Members of each pool in registration order; selection walks this list.
	#[pallet::storage]
	pub type Pools<T: Config> =
		StorageMap<_, Twox64Concat, Role, BoundedVec<T::AccountId, T::MaxPoolSize>, ValueQuery>;

	/// Bond on its way out, per account: held and slashable until each chunk unlocks.
	#[pallet::storage]
	pub type Unbonding<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, UnbondingChunksOf<T>, ValueQuery>;

	/// Track record of every account that ever registered.
	#[pallet::storage]
	pub type Reputations<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ReputationOf<T>, ValueQuery>;

	/// Blocks between `unbond` and the moment the chunk can be withdrawn.
	#[pallet::storage]
	pub type UnbondingPeriod<T: Config> =
		StorageValue<_, BlockNumberFor<T>, ValueQuery, T::DefaultUnbondingPeriod>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Unbonding period of the chain; `None` keeps `DefaultUnbondingPeriod`.
		pub unbonding_period: Option<BlockNumberFor<T>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Some(period) = self.unbonding_period {
				UnbondingPeriod::<T>::put(period);
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An account joined a pool with a bond.
		Registered { who: T::AccountId, role: Role, capacity: ComputeUnits, bond: BalanceOf<T> },
		/// A participant declared a new capacity.
		CapacityUpdated { who: T::AccountId, capacity: ComputeUnits },
		/// A participant changed where it serves artifacts.
		EndpointUpdated { who: T::AccountId },
		/// A participant added to its bond.
		Bonded { who: T::AccountId, amount: BalanceOf<T> },
		/// A participant takes no new assignments.
		Chilled { who: T::AccountId },
		/// A chilled participant takes assignments again.
		Resumed { who: T::AccountId },
		/// Part of a bond started unbonding.
		Unbonded { who: T::AccountId, amount: BalanceOf<T>, unlocks_at: BlockNumberFor<T> },
		/// A participant left its pool (its last bond is unbonding).
		Left { who: T::AccountId, role: Role },
		/// An idle participant with the lowest bond of a full pool made room for `by`, who
		/// bonded more; its whole bond is unbonding.
		Evicted { who: T::AccountId, by: T::AccountId, role: Role },
		/// Unbonded funds were released to the account.
		Withdrawn { who: T::AccountId, amount: BalanceOf<T> },
		/// Bonded funds were slashed, to `beneficiary` or else to the slash destination.
		Slashed {
			who: T::AccountId,
			amount: BalanceOf<T>,
			reason: SlashReason,
			beneficiary: Option<T::AccountId>,
		},
		/// An assignment locked capacity of a participant.
		CapacityLocked { who: T::AccountId, units: ComputeUnits },
		/// An assignment ended and released capacity.
		CapacityReleased { who: T::AccountId, units: ComputeUnits },
		/// A finished job was added to a participant's reputation.
		JobCompleted { who: T::AccountId },
		/// A fault was added to a participant's reputation.
		FaultRecorded { who: T::AccountId },
		/// Root set a new unbonding period.
		UnbondingPeriodSet { blocks: BlockNumberFor<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already a worker or a validator; one role at a time.
		AlreadyRegistered,
		/// The account is not a registered worker or validator.
		NotRegistered,
		/// A capacity of zero was declared.
		CapacityZero,
		/// The declared capacity is over `MaxCapacity`.
		CapacityTooLarge,
		/// The capacity is below what unfinished assignments have locked.
		CapacityBelowLocked,
		/// The bond is below `MinBond + BondPerComputeUnit × capacity`.
		BondTooSmall,
		/// The free balance cannot cover the bond (the existential deposit stays free).
		InsufficientBalance,
		/// An amount of zero was given.
		ZeroAmount,
		/// The endpoint is empty; validators and clients fetch artifacts there.
		EndpointMissing,
		/// The pool has `MaxPoolSize` members and the bond is not above the lowest idle
		/// member's by `EvictionMargin` (or every member has assignments): bond more.
		BondTooLowForPool,
		/// The participant has unfinished assignments and cannot leave yet.
		StillAssigned,
		/// The participant is already chilled.
		AlreadyChilled,
		/// The participant is not chilled.
		NotChilled,
		/// The participant is chilled and takes no new assignments.
		NotActive,
		/// The participant has less free capacity than the assignment needs.
		NotEnoughFreeCapacity,
		/// The participant has no assignment holding that much capacity.
		NoSuchAssignment,
		/// `MaxUnbondingChunks` chunks are unbonding; withdraw matured ones or wait.
		TooManyUnbondingChunks,
		/// No unbonding chunk has unlocked yet.
		NothingToWithdraw,
		/// The unbonding period must be at least one block.
		UnbondingPeriodZero,
		/// A block number or counter would overflow.
		Overflow,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Join the worker pool: declare `capacity` in sustained f32 GFLOP/s, a short `device`
		/// description and the `endpoint` where you serve checkpoints and models, and bond
		/// `bond` (at least `MinBond + BondPerComputeUnit × capacity`), which is held. When the
		/// pool is full, a bond above the lowest idle member's by `EvictionMargin` takes that
		/// member's place (its whole bond starts unbonding); otherwise `BondTooLowForPool`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_worker().saturating_add(Pallet::<T>::eviction_weight()))]
		pub fn register_worker(
			origin: OriginFor<T>,
			capacity: ComputeUnits,
			device: BoundedVec<u8, T::MaxDeviceLength>,
			endpoint: BoundedVec<u8, T::MaxEndpointLength>,
			#[pallet::compact] bond: BalanceOf<T>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let evicted = Self::do_register(who, Role::Worker, capacity, device, endpoint, bond)?;
			Ok(Self::registration_weight(T::WeightInfo::register_worker(), evicted))
		}

		/// Join the validator pool: as `register_worker`, for an account that re-executes
		/// sampled training segments and evaluates models.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::register_validator().saturating_add(Pallet::<T>::eviction_weight()))]
		pub fn register_validator(
			origin: OriginFor<T>,
			capacity: ComputeUnits,
			device: BoundedVec<u8, T::MaxDeviceLength>,
			endpoint: BoundedVec<u8, T::MaxEndpointLength>,
			#[pallet::compact] bond: BalanceOf<T>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let evicted =
				Self::do_register(who, Role::Validator, capacity, device, endpoint, bond)?;
			Ok(Self::registration_weight(T::WeightInfo::register_validator(), evicted))
		}

		/// Declare a new capacity. The active bond must cover it, and it cannot go below the
		/// capacity locked by unfinished assignments.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::update_capacity())]
		pub fn update_capacity(origin: OriginFor<T>, capacity: ComputeUnits) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_update_capacity(who, capacity)
		}

		/// Change the endpoint where you serve artifacts.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::set_endpoint())]
		pub fn set_endpoint(
			origin: OriginFor<T>,
			endpoint: BoundedVec<u8, T::MaxEndpointLength>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_set_endpoint(who, endpoint)
		}

		/// Add `amount` of free balance to your bond.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_bond_extra(who, amount)
		}

		/// Stop taking new assignments; the bond stays and unfinished assignments go on.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::chill())]
		pub fn chill(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_chill(who)
		}

		/// Take new assignments again after `chill` (or after a slash, once `bond_extra`
		/// restored the bond the capacity needs).
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::resume())]
		pub fn resume(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_resume(who)
		}

		/// Start unbonding `amount`: it stays held and slashable for the unbonding period, then
		/// `withdraw_unbonded` releases it. The bond left must still cover the capacity. Unbonding
		/// the whole bond (or more) leaves the pool, which needs every assignment finished.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_unbond(who, amount)
		}

		/// Release every unbonding chunk whose period has passed to your free balance.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::withdraw_unbonded())]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_unbonded(who)
		}

		/// Set the unbonding period, in blocks, for chunks that start unbonding from now on.
		/// Root only.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::set_unbonding_period())]
		pub fn set_unbonding_period(
			origin: OriginFor<T>,
			blocks: BlockNumberFor<T>,
		) -> DispatchResult {
			ensure_root(origin)?;
			Self::do_set_unbonding_period(blocks)
		}
	}
}

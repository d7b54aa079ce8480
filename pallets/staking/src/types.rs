//! Data types of the compute-staking pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;

/// Declared compute, in sustained f32 GFLOP/s as measured by the off-chain program's
/// calibration run (a dense matrix product through the training engine).
pub type ComputeUnits = u32;

/// What a participant does for the protocol. One account holds one role at a time.
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
	PartialOrd,
	Ord,
	Debug,
)]
pub enum Role {
	/// Trains models for orders.
	Worker,
	/// Re-executes sampled segments of other workers' training and evaluates models.
	Validator,
}

/// Whether a participant takes new assignments.
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
pub enum ParticipantStatus {
	/// Eligible for new assignments.
	Active,
	/// Takes no new assignments (asked for with `chill`, or because a slash left the bond
	/// below what the declared capacity requires); still bonded and slashable.
	Chilled,
}

/// A registered worker or validator.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxDevice, MaxEndpoint))]
pub struct Participant<Balance, BlockNumber, MaxDevice: Get<u32>, MaxEndpoint: Get<u32>>
where
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// Worker or validator.
	pub role: Role,
	/// Whether new assignments may be given.
	pub status: ParticipantStatus,
	/// Declared compute, GFLOP/s.
	pub capacity: ComputeUnits,
	/// Compute locked by unfinished assignments.
	pub locked_capacity: ComputeUnits,
	/// Number of unfinished assignments; the participant cannot leave while it is not zero.
	pub assignments: u32,
	/// Active bond, held under this pallet's hold reason.
	pub bond: Balance,
	/// Free-form description of the hardware (e.g. "1x H100 80GB, CUDA 12.6").
	pub device: BoundedVec<u8, MaxDevice>,
	/// Where the participant serves artifacts (e.g. "https://worker.example:8700").
	pub endpoint: BoundedVec<u8, MaxEndpoint>,
	/// Block of registration.
	pub registered_at: BlockNumber,
}

/// Part of a bond on its way out: still held and slashable until `unlocks_at`.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UnbondingChunk<Balance, BlockNumber> {
	/// Amount that is released by `withdraw_unbonded` once the chunk has unlocked.
	pub amount: Balance,
	/// First block at which the chunk can be withdrawn.
	pub unlocks_at: BlockNumber,
}

/// A participant's track record. Kept when the participant leaves, so that history follows the
/// account if it registers again.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Reputation<Balance, BlockNumber> {
	/// Assignments finished and accepted.
	pub completed_jobs: u32,
	/// Faults recorded by the protocol pallets (missed deadlines, bad proofs or reports).
	pub faults: u32,
	/// Number of slashes.
	pub slashes: u32,
	/// Total amount slashed.
	pub total_slashed: Balance,
	/// Last block at which the participant registered, finished a job or was faulted.
	pub last_active: BlockNumber,
}

/// Why a participant was slashed; carried in the `Slashed` event.
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
pub enum SlashReason {
	/// A deadline of an assignment passed without the expected commitment or reveal.
	MissedDeadline,
	/// A proof of train was shown wrong by exact re-execution.
	InvalidProof,
	/// A reveal did not match its commitment, or a result copied another replica's.
	InvalidReveal,
	/// Checkpoints or models a validator asked for were not served in time.
	WithheldData,
	/// A validator's report disagreed with the settled outcome.
	WrongReport,
	/// A validator accused a worker whose work was then proven correct.
	FalseAccusation,
}

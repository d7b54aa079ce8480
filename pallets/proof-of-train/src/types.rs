//! Data types of the proof-of-train pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use decenter_primitives::{proof::PotCommitment, validation::Report, Hash256};
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;

/// Where the check of an order stands. Windows are counted in blocks from the start of each
/// phase; `advance` ends a phase whose window passed, faulting whoever did not act.
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
pub enum Phase<BlockNumber> {
	/// Workers train and commit sealed proofs (the order is `Training`).
	Committing,
	/// Workers reveal their proofs and checkpoint hashes, until `until`.
	Revealing { until: BlockNumber },
	/// Waiting for the next block, whose parent hash nobody knew at reveal time, to draw
	/// validators and segments.
	AwaitingValidators,
	/// Validators and workers commit sealed reports on the sampled segments.
	Reporting { until: BlockNumber },
	/// Validators and workers reveal their reports.
	RevealingReports { until: BlockNumber },
	/// Reports disagreed: waiting for the next block to draw referees.
	AwaitingReferees,
	/// Referees re-execute the disputed segments and commit; workers post withheld checkpoints.
	Refereeing { until: BlockNumber },
	/// Referees reveal.
	RevealingVerdicts { until: BlockNumber },
}

/// Why a participant lost its share and part of its bond.
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
pub enum Fault {
	/// Never delivered a sealed proof (already slashed by the orders pallet at the deadline).
	Undelivered,
	/// Committed a proof but did not reveal a matching one in the reveal window.
	Unrevealed,
	/// Did not commit or reveal a report in its window.
	Unreported,
	/// A claim differed from the result referees established by re-execution.
	WrongResult,
	/// Did not post a checkpoint a validator could not fetch.
	Withheld,
}

/// A worker's part in the check.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
pub struct WorkerProof<AccountId: Clone + PartialEq + Eq + core::fmt::Debug> {
	/// The worker.
	pub account: AccountId,
	/// `seal(commitment.hash(), salt, account)`, once committed.
	pub seal: Option<Hash256>,
	/// The revealed commitment.
	pub commitment: Option<PotCommitment>,
	/// Set once the worker is faulted; it is then out of the round.
	pub fault: Option<Fault>,
}

/// A validator's or referee's part in the check.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
pub struct Checker<AccountId: Clone + PartialEq + Eq + core::fmt::Debug> {
	/// The validator.
	pub account: AccountId,
	/// Set once faulted.
	pub fault: Option<Fault>,
}

/// How a task stands after the reports.
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
pub enum TaskStatus {
	/// No disagreement (yet).
	Open,
	/// Some checker of this segment disagreed with the worker: referees decide.
	Contested,
	/// The checker could not fetch the starting checkpoint; the worker must post it.
	Withheld,
	/// A withheld checkpoint was posted on chain; referees decide.
	Posted,
}

/// One segment of one worker's run, checked by one validator: a task of the reports.
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
pub struct SegmentCheck {
	/// Slot of the worker in the order.
	pub worker: u32,
	/// Segment `i`: re-execute from checkpoint `c_i` to `c_{i+1}`.
	pub segment: u32,
	/// The step strictly inside the segment (its end, for one-step segments) whose probe hash
	/// (state and gradients) the reporters give; the same for every checker of this segment.
	pub probe_step: u32,
	/// Index of the validator among the round's validators.
	pub checker: u32,
	/// Whether it is disputed.
	pub status: TaskStatus,
}

/// The check of one order.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxWorkers, MaxValidators, MaxReferees, MaxTasks))]
pub struct Round<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxWorkers: Get<u32>,
	MaxValidators: Get<u32>,
	MaxReferees: Get<u32>,
	MaxTasks: Get<u32>,
> {
	/// Where the check stands.
	pub phase: Phase<BlockNumber>,
	/// The order's workers, in slot order.
	pub workers: BoundedVec<WorkerProof<AccountId>, MaxWorkers>,
	/// The validators drawn for the order.
	pub validators: BoundedVec<Checker<AccountId>, MaxValidators>,
	/// The referees drawn if reports disagreed.
	pub referees: BoundedVec<Checker<AccountId>, MaxReferees>,
	/// The sampled segments, grouped by validator.
	pub tasks: BoundedVec<SegmentCheck, MaxTasks>,
	/// Hash chain of the revealed salts: no worker knew it when committing.
	pub entropy: Hash256,
	/// GFLOP/s each of the round's validators and referees reserved when drawn (released
	/// exactly when the round ends); 0 before the first draw.
	pub reserved: u32,
}

impl<AccountId, BlockNumber, MaxWorkers, MaxValidators, MaxReferees, MaxTasks>
	Round<AccountId, BlockNumber, MaxWorkers, MaxValidators, MaxReferees, MaxTasks>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxWorkers: Get<u32>,
	MaxValidators: Get<u32>,
	MaxReferees: Get<u32>,
	MaxTasks: Get<u32>,
{
	/// The account of `party` and its fault, if `party` is in the round.
	pub fn party(&self, party: Reporter) -> Option<(&AccountId, Option<Fault>)> {
		match party {
			Reporter::Worker(i) => self.workers.get(i as usize).map(|w| (&w.account, w.fault)),
			Reporter::Validator(i) => {
				self.validators.get(i as usize).map(|v| (&v.account, v.fault))
			},
			Reporter::Referee(i) => self.referees.get(i as usize).map(|r| (&r.account, r.fault)),
		}
	}

	/// The account of `party` and its fault, to be set.
	pub fn party_mut(&mut self, party: Reporter) -> Option<(&AccountId, &mut Option<Fault>)> {
		match party {
			Reporter::Worker(i) => {
				self.workers.get_mut(i as usize).map(|w| (&w.account, &mut w.fault))
			},
			Reporter::Validator(i) => {
				self.validators.get_mut(i as usize).map(|v| (&v.account, &mut v.fault))
			},
			Reporter::Referee(i) => {
				self.referees.get_mut(i as usize).map(|r| (&r.account, &mut r.fault))
			},
		}
	}
}

/// A sealed report and, once revealed, the report.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct SealedReport {
	/// `seal(report.hash(), salt, account)`.
	pub seal: Hash256,
	/// The revealed report.
	pub report: Option<Report>,
}

/// Who a reporter is in a round.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reporter {
	/// The worker in this slot, reporting probes of its own segments.
	Worker(u32),
	/// The validator at this index.
	Validator(u32),
	/// The referee at this index.
	Referee(u32),
}

//! What validators, workers and referees report about the segments the chain sampled, sealed
//! with [`crate::proof::seal`] and then revealed.
//!
//! A *task* is one segment `i` of one worker's run (from checkpoint `c_i` to `c_{i+1}`) with a
//! *probe step* strictly inside it chosen by the chain (its end for a one-step segment).
//! Re-executing the segment from `c_i` yields both the end hash (`c_{i+1}`, which the worker
//! published) and the probe hash ([`crate::proof::probe_hash`] of the state after the probe step
//! and the gradients of that step, which nobody published): a reporter that did not
//! re-execute cannot know the probe hash.

use bounded_collections::{BoundedVec, ConstU32};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::hashing::{domain, tagged_hash, Hash256};

/// Most claims in one report.
pub const MAX_REPORT_CLAIMS: u32 = 256;
/// Most metric entries in one report (one per worker of the order).
pub const MAX_REPORT_METRICS: u32 = 8;

/// What a reporter says about one task.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Claim {
	/// Re-executed from `c_i`: the checkpoint hash after the segment's last step and the
	/// probe hash at the probe step.
	Computed {
		/// Hash of the state after the segment's last step (`c_{i+1}`).
		end: Hash256,
		/// [`crate::proof::probe_hash`] of the state after the probe step and the gradients
		/// of that step.
		probe: Hash256,
	},
	/// The worker did not serve checkpoint `c_i` (or served bytes that do not hash to it).
	Unavailable,
}

/// A final model's quality on the order's validation set.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	Default,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Metrics {
	/// Mean loss in billionths (`round(loss × 10⁹)`).
	pub loss: u64,
	/// Fraction of correctly classified records in parts per million (0 for regression).
	pub accuracy: u32,
}

#[cfg(feature = "std")]
impl Metrics {
	/// Converts the engine's floating-point evaluation (the same rounding on every side).
	pub fn from_evaluation(loss: f32, accuracy: f32) -> Self {
		let scale = |value: f32, unit: f64, max: f64| -> f64 {
			let scaled = (value as f64 * unit).round();
			if scaled.is_nan() {
				max
			} else {
				scaled.clamp(0.0, max)
			}
		};
		Self {
			loss: scale(loss, 1e9, u64::MAX as f64) as u64,
			accuracy: scale(accuracy, 1e6, 1e6) as u32,
		}
	}
}

/// One reporter's answers, in the order of its tasks as the chain lists them.
#[derive(
	Clone,
	PartialEq,
	Eq,
	Debug,
	Default,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Report {
	/// One claim per task of the reporter.
	pub claims: BoundedVec<Claim, ConstU32<MAX_REPORT_CLAIMS>>,
	/// Validators: the final model of every worker slot, evaluated; empty for workers and
	/// referees. Entries for workers whose proof was not revealed are ignored.
	pub metrics: BoundedVec<Metrics, ConstU32<MAX_REPORT_METRICS>>,
}

impl Report {
	/// Hash of the SCALE encoding under its own domain: what a reporter seals.
	pub fn hash(&self) -> Hash256 {
		tagged_hash(domain::REPORT, &[&self.encode()])
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::hashing::tests::hex;

	#[test]
	fn metrics_round_and_clamp() {
		assert_eq!(
			Metrics::from_evaluation(0.25, 0.9375),
			Metrics { loss: 250_000_000, accuracy: 937_500 }
		);
		assert_eq!(Metrics::from_evaluation(-1.0, 2.0), Metrics { loss: 0, accuracy: 1_000_000 });
		assert_eq!(Metrics::from_evaluation(f32::NAN, f32::NAN).accuracy, 1_000_000);
	}

	/// Test vector shared with the off-chain program.
	#[test]
	fn report_hash_vector() {
		let report = Report {
			claims: BoundedVec::truncate_from(alloc::vec![
				Claim::Computed { end: [1; 32], probe: [2; 32] },
				Claim::Unavailable,
			]),
			metrics: BoundedVec::truncate_from(alloc::vec![Metrics { loss: 5, accuracy: 6 }]),
		};
		assert_eq!(hex(&report.hash()), VECTOR_REPORT);
	}

	// Computed independently with Python's hashlib.blake2b over the SCALE bytes written out by hand.
	const VECTOR_REPORT: &str = "d6120922c89bb728b9bf9d34020378b762c8a23d5f40e8b5a2427b51cb5c01fc";
}

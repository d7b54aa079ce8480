//! Data types of the certificates pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use decenter_primitives::{validation::Metrics, Hash256};
use scale_info::TypeInfo;

/// Identifier of a certificate: its item id in the certificates collection.
pub type CertificateId = u32;

/// What a certificate attests.
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
pub enum CertificateKind {
	/// The client's certificate of the trained model (transferable).
	Model,
	/// A worker trained the model and its proof of train was accepted (bound to the worker).
	Worker,
	/// A validator re-executed and evaluated the work (bound to the validator).
	Validator,
}

impl CertificateKind {
	/// The value of the `kind` attribute.
	pub fn label(self) -> &'static str {
		match self {
			Self::Model => "model",
			Self::Worker => "worker",
			Self::Validator => "validator",
		}
	}
}

/// The certified facts about a model, the same on every certificate of an order.
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
pub struct ModelRecord {
	/// The training order.
	pub order: u64,
	/// [`decenter_primitives::proof::model_hash`] of the certified model.
	pub model_hash: Hash256,
	/// Root of the checkpoint hashes of the accepted proof of train.
	pub pot_root: Hash256,
	/// Median of the validators' evaluations on the validation set.
	pub metrics: Metrics,
}

/// A certificate as stored.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Certificate<AccountId, BlockNumber> {
	/// What it attests.
	pub kind: CertificateKind,
	/// Whom it was issued to (a model certificate may have been transferred since; pallet-nfts
	/// knows the current owner).
	pub recipient: AccountId,
	/// The certified model.
	pub record: ModelRecord,
	/// Block of issue.
	pub issued_at: BlockNumber,
}

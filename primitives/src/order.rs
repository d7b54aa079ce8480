//! What a client orders: the training spec, the dataset and validation-set commitments, and the
//! workload (independent replicas or a hyperparameter sweep). The runtime checks an order with
//! [`OrderSpec::validate`]; the off-chain program trains [`OrderSpec::variant`] for its slot.

use bounded_collections::{BoundedVec, ConstU32};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::spec::{
	ArtifactCommitment, Fixed9, Initialization, Loss, Optimizer, Schedule, SpecError, TrainingSpec,
};

/// Most workers training independent replicas of one order.
pub const MAX_REPLICAS: u32 = 8;
/// Most variants of a hyperparameter sweep (one worker each).
pub const MAX_SWEEP_VARIANTS: u32 = 8;

/// How a dataset's label is stored after the features of each record.
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
pub enum LabelLayout {
	/// One class index in `0..classes` (softmax cross-entropy).
	Class {
		/// Number of classes.
		classes: u32,
	},
	/// `width` real-valued targets (mean squared error).
	Targets {
		/// Number of targets.
		width: u32,
	},
}

/// A dataset: its content commitment (chunk Merkle root, size, location) and its layout.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct DatasetCommitment {
	/// The bytes (CSV or safetensors), chunked and Merkle-committed.
	pub artifact: ArtifactCommitment,
	/// Number of records.
	pub records: u64,
	/// Features per record.
	pub features: u32,
	/// The label columns.
	pub label: LabelLayout,
}

/// The hyperparameters one sweep variant overrides in the base spec.
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
pub struct Variant {
	/// Optimizer of this variant.
	pub optimizer: Optimizer,
	/// Base learning rate.
	pub learning_rate: Fixed9,
	/// Learning-rate schedule.
	pub schedule: Schedule,
	/// Records per step.
	pub batch_size: u32,
	/// Seed of initialization and data order.
	pub seed: u64,
}

/// Who trains what.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum Workload {
	/// This many workers train the same spec independently (their results must agree bit for
	/// bit, which is itself a check).
	Replicas(u32),
	/// One worker per variant; the validators' metrics pick the best.
	Sweep(BoundedVec<Variant, ConstU32<MAX_SWEEP_VARIANTS>>),
}

/// A complete order as the client submits it.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct OrderSpec {
	/// The base training spec (the only spec for replicas).
	pub training: TrainingSpec,
	/// The training data.
	pub dataset: DatasetCommitment,
	/// The validation data, fetched by validators only.
	pub validation: DatasetCommitment,
	/// Replicas or a sweep.
	pub workload: Workload,
}

/// Why an order spec is not acceptable.
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
pub enum OrderSpecError {
	/// The training spec (or a sweep variant of it) is out of bounds.
	Spec(SpecError),
	/// A dataset has no records or no bytes.
	EmptyDataset,
	/// The batch is larger than the training set.
	BatchLargerThanDataset,
	/// The model's input width differs from the datasets' feature count.
	FeatureMismatch,
	/// The model's outputs or loss do not fit the datasets' label layout.
	LabelMismatch,
	/// Zero replicas, or more than [`MAX_REPLICAS`].
	BadReplicaCount,
	/// A sweep without variants.
	EmptySweep,
}

impl OrderSpec {
	/// Number of workers the order needs.
	pub fn worker_count(&self) -> u32 {
		match &self.workload {
			Workload::Replicas(n) => *n,
			Workload::Sweep(variants) => variants.len() as u32,
		}
	}

	/// The spec that worker slot `slot` trains: the base spec for replicas, the base spec with
	/// the variant's hyperparameters for a sweep.
	pub fn variant(&self, slot: u32) -> Option<TrainingSpec> {
		match &self.workload {
			Workload::Replicas(n) => (slot < *n).then(|| self.training.clone()),
			Workload::Sweep(variants) => variants.get(slot as usize).map(|v| TrainingSpec {
				optimizer: v.optimizer,
				learning_rate: v.learning_rate,
				schedule: v.schedule,
				batch_size: v.batch_size,
				seed: v.seed,
				..self.training.clone()
			}),
		}
	}

	/// The most flops any worker slot of the order trains (sweep variants differ in batch);
	/// `None` on overflow or without slots.
	pub fn max_training_flops(&self) -> Option<u128> {
		let mut most: Option<u128> = None;
		for slot in 0..self.worker_count() {
			let flops = self.variant(slot)?.training_flops()?;
			most = Some(most.map_or(flops, |most| most.max(flops)));
		}
		most
	}

	/// Bytes a worker fetches before it can start: the training set and uploaded weights.
	pub fn input_bytes(&self) -> u64 {
		let weights = match &self.training.initialization {
			Initialization::Uploaded(weights) => weights.size,
			Initialization::Seeded => 0,
		};
		self.dataset.artifact.size.saturating_add(weights)
	}

	/// Checks the spec, every variant and their fit to the datasets.
	pub fn validate(&self) -> Result<(), OrderSpecError> {
		match &self.workload {
			Workload::Replicas(n) if *n == 0 || *n > MAX_REPLICAS => {
				return Err(OrderSpecError::BadReplicaCount)
			},
			Workload::Sweep(variants) if variants.is_empty() => {
				return Err(OrderSpecError::EmptySweep)
			},
			_ => {},
		}
		for data in [&self.dataset, &self.validation] {
			if data.records == 0 || data.artifact.size == 0 {
				return Err(OrderSpecError::EmptyDataset);
			}
			if data.features != self.training.model.inputs {
				return Err(OrderSpecError::FeatureMismatch);
			}
			let fits = match (data.label, self.training.model.loss) {
				(LabelLayout::Class { classes }, Loss::SoftmaxCrossEntropy) => {
					classes == self.training.model.outputs
				},
				(LabelLayout::Targets { width }, Loss::MeanSquaredError) => {
					width == self.training.model.outputs
				},
				_ => false,
			};
			if !fits {
				return Err(OrderSpecError::LabelMismatch);
			}
		}
		for slot in 0..self.worker_count() {
			let spec = self.variant(slot).ok_or(OrderSpecError::BadReplicaCount)?;
			spec.validate().map_err(OrderSpecError::Spec)?;
			if u64::from(spec.batch_size) > self.dataset.records {
				return Err(OrderSpecError::BatchLargerThanDataset);
			}
		}
		Ok(())
	}
}

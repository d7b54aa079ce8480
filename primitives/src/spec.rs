//! The training spec an order carries: model, optimizer, schedule, batch, steps, seed,
//! checkpoint interval and where the initial weights come from.
//!
//! Real-valued hyperparameters are [`Fixed9`] integers, not floats: the runtime has no
//! floats in its state, and every party turns a `Fixed9` into the same `f32`.

use alloc::vec::Vec;
use bounded_collections::{BoundedVec, ConstU32};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::hashing::Hash256;

/// Most hidden layers an MLP may have.
pub const MAX_HIDDEN_LAYERS: u32 = 8;
/// Widest layer (inputs, hidden or outputs).
pub const MAX_LAYER_WIDTH: u32 = 16_384;
/// Most trainable parameters a model may have (weights and biases).
pub const MAX_PARAMETERS: u64 = 64 * 1024 * 1024;
/// Largest batch.
pub const MAX_BATCH_SIZE: u32 = 65_536;
/// Longest location string of an artifact (a URL or a peer's endpoint).
pub const MAX_LOCATION_LEN: u32 = 256;
/// Most checkpoints after `c_0`: the chain keeps every checkpoint hash of a run under proof.
pub const MAX_CHECKPOINTS: u32 = 256;
/// The least a training step counts for in the cost model, in flops: below it, a step's fixed
/// work (reading the batch, updating the optimizer, bookkeeping) dominates the arithmetic, so
/// that a tiny model run for billions of steps is not priced as free.
pub const MIN_FLOPS_PER_STEP: u128 = 1_000_000;

/// A real number `value / 10⁹` (0 to about 4.29).
///
/// `u32 → f32` and `÷ 10⁹` are both correctly rounded IEEE operations, so every device
/// gets the same `f32` bits from it.
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
pub struct Fixed9(pub u32);

impl Fixed9 {
	/// `10⁹`: exactly representable in f32 (1953125 · 2⁹).
	const SCALE: f32 = 1_000_000_000.0;

	/// The value as f32.
	pub fn to_f32(self) -> f32 {
		self.0 as f32 / Self::SCALE
	}
}

/// Non-linearity between hidden layers.
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
pub enum Activation {
	/// `max(0, x)`.
	Relu,
	/// Hyperbolic tangent.
	Tanh,
}

/// Training objective.
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
pub enum Loss {
	/// Softmax over the outputs, cross-entropy against a class index.
	SoftmaxCrossEntropy,
	/// Mean squared error against a target vector as wide as the outputs.
	MeanSquaredError,
}

/// A multi-layer perceptron: dense layers, an activation after each hidden layer.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ModelSpec {
	/// Features per record.
	pub inputs: u32,
	/// Widths of the hidden layers, input side first.
	pub hidden: BoundedVec<u32, ConstU32<MAX_HIDDEN_LAYERS>>,
	/// Outputs: classes for cross-entropy, target width for MSE.
	pub outputs: u32,
	/// Activation after every hidden layer.
	pub activation: Activation,
	/// Loss on the outputs.
	pub loss: Loss,
}

impl ModelSpec {
	/// Widths of every layer boundary: inputs, hidden…, outputs.
	pub fn widths(&self) -> Vec<u32> {
		let mut widths = Vec::with_capacity(self.hidden.len() + 2);
		widths.push(self.inputs);
		widths.extend(self.hidden.iter().copied());
		widths.push(self.outputs);
		widths
	}

	/// Weights and biases in total, or `None` on overflow.
	pub fn parameter_count(&self) -> Option<u64> {
		self.widths().windows(2).try_fold(0u64, |total, pair| {
			let (fan_in, fan_out) = (u64::from(pair[0]), u64::from(pair[1]));
			total.checked_add(fan_in.checked_mul(fan_out)?.checked_add(fan_out)?)
		})
	}
}

/// How parameters are updated from gradients.
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
pub enum Optimizer {
	/// `w ← w − lr·g`.
	Sgd,
	/// Heavy ball: `v ← μ·v + g`, `w ← w − lr·v`.
	Momentum {
		/// `μ`, below 1.
		momentum: Fixed9,
	},
	/// Adam (Kingma & Ba) with bias correction.
	Adam {
		/// First-moment decay `β₁`, below 1.
		beta1: Fixed9,
		/// Second-moment decay `β₂`, below 1.
		beta2: Fixed9,
		/// `ε` added to the root of the second moment.
		epsilon: Fixed9,
	},
}

/// Learning rate as a function of the step.
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
pub enum Schedule {
	/// The base rate at every step.
	Constant,
	/// The base rate times `factor` after every `every` steps.
	StepDecay {
		/// Steps between decays.
		every: u32,
		/// Multiplier at each decay, at most 1.
		factor: Fixed9,
	},
	/// Linear warm-up from 0 over `warmup` steps, then linear decay to 0 at the last step.
	WarmupLinearDecay {
		/// Warm-up steps.
		warmup: u32,
	},
}

/// Content-addressed artifact: a dataset or a weights file, cut into chunks of
/// [`crate::proof::CHUNK_SIZE`] bytes whose Merkle root is its identity.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ArtifactCommitment {
	/// [`crate::proof::chunk_root`] of the bytes.
	pub root: Hash256,
	/// Size in bytes.
	pub size: u64,
	/// Where to fetch it (the serving participant's endpoint or a URL).
	pub location: BoundedVec<u8, ConstU32<MAX_LOCATION_LEN>>,
}

/// Where the parameters at step 0 come from.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum Initialization {
	/// Drawn from the spec's seed (uniform Glorot for tanh, uniform He for ReLU, zero biases).
	Seeded,
	/// A safetensors file of the same shapes (fine-tuning).
	Uploaded(ArtifactCommitment),
}

/// Everything that determines a training run, bit for bit, given the dataset.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct TrainingSpec {
	/// The model.
	pub model: ModelSpec,
	/// The optimizer.
	pub optimizer: Optimizer,
	/// Base learning rate.
	pub learning_rate: Fixed9,
	/// How the learning rate changes with the step.
	pub schedule: Schedule,
	/// Records per step.
	pub batch_size: u32,
	/// Optimizer steps in total.
	pub steps: u32,
	/// Seed of initialization and data order.
	pub seed: u64,
	/// A checkpoint every this many steps (and at the last step).
	pub checkpoint_interval: u32,
	/// Initial parameters.
	pub initialization: Initialization,
}

/// Why a spec is not trainable.
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
pub enum SpecError {
	/// A layer width is zero.
	ZeroWidth,
	/// A layer is wider than [`MAX_LAYER_WIDTH`].
	LayerTooWide,
	/// More than [`MAX_PARAMETERS`] parameters.
	TooManyParameters,
	/// Zero steps.
	ZeroSteps,
	/// Zero batch size.
	ZeroBatch,
	/// Batch larger than [`MAX_BATCH_SIZE`].
	BatchTooLarge,
	/// Checkpoint interval zero.
	ZeroCheckpointInterval,
	/// More than [`MAX_CHECKPOINTS`] checkpoints: raise the checkpoint interval.
	TooManyCheckpoints,
	/// Learning rate zero.
	ZeroLearningRate,
	/// A decay rate (momentum, β, schedule factor) not below 1 (or above 1 for a factor).
	BadDecay,
	/// A step-decay period of zero.
	ZeroDecayPeriod,
}

impl TrainingSpec {
	/// Checks every bound; the runtime and the engine apply the same rules.
	pub fn validate(&self) -> Result<(), SpecError> {
		let widths = self.model.widths();
		if widths.iter().any(|&w| w == 0) {
			return Err(SpecError::ZeroWidth);
		}
		if widths.iter().any(|&w| w > MAX_LAYER_WIDTH) {
			return Err(SpecError::LayerTooWide);
		}
		match self.model.parameter_count() {
			Some(count) if count <= MAX_PARAMETERS => {},
			_ => return Err(SpecError::TooManyParameters),
		}
		if self.steps == 0 {
			return Err(SpecError::ZeroSteps);
		}
		if self.batch_size == 0 {
			return Err(SpecError::ZeroBatch);
		}
		if self.batch_size > MAX_BATCH_SIZE {
			return Err(SpecError::BatchTooLarge);
		}
		if self.checkpoint_interval == 0 {
			return Err(SpecError::ZeroCheckpointInterval);
		}
		if self.checkpoint_count() > MAX_CHECKPOINTS {
			return Err(SpecError::TooManyCheckpoints);
		}
		if self.learning_rate.0 == 0 {
			return Err(SpecError::ZeroLearningRate);
		}
		const ONE: u32 = 1_000_000_000;
		let decays_ok = match self.optimizer {
			Optimizer::Sgd => true,
			Optimizer::Momentum { momentum } => momentum.0 < ONE,
			Optimizer::Adam { beta1, beta2, .. } => beta1.0 < ONE && beta2.0 < ONE,
		};
		if !decays_ok {
			return Err(SpecError::BadDecay);
		}
		if let Schedule::StepDecay { every, factor } = self.schedule {
			if every == 0 {
				return Err(SpecError::ZeroDecayPeriod);
			}
			if factor.0 > ONE {
				return Err(SpecError::BadDecay);
			}
		}
		Ok(())
	}

	/// Number of checkpoints after `c_0`: one every `checkpoint_interval` steps, and one at
	/// the last step if it does not fall on the interval.
	pub fn checkpoint_count(&self) -> u32 {
		self.steps.div_ceil(self.checkpoint_interval.max(1))
	}

	/// The step at which checkpoint `i` (0 ≤ i ≤ [`Self::checkpoint_count`]) is taken.
	pub fn checkpoint_step(&self, i: u32) -> u32 {
		i.saturating_mul(self.checkpoint_interval).min(self.steps)
	}

	/// Floating-point operations of the whole run, the cost model the chain derives training
	/// windows from (and the one `decenter worker`'s capacity calibration counts):
	/// `6 × parameters × batch` per step, that is 2 flops per multiply-accumulate of the
	/// forward pass and 4 of the backward pass, and at least [`MIN_FLOPS_PER_STEP`]. `None` on
	/// overflow.
	pub fn training_flops(&self) -> Option<u128> {
		self.step_flops()?.checked_mul(u128::from(self.steps))
	}

	/// Floating-point operations of one step under the cost model of
	/// [`Self::training_flops`]. `None` on overflow.
	pub fn step_flops(&self) -> Option<u128> {
		Some(
			6u128
				.checked_mul(u128::from(self.model.parameter_count()?))?
				.checked_mul(u128::from(self.batch_size))?
				.max(MIN_FLOPS_PER_STEP),
		)
	}

	/// Floating-point operations of re-executing segment `segment` (from checkpoint
	/// `segment` to the next). `None` on overflow.
	pub fn segment_flops(&self, segment: u32) -> Option<u128> {
		let steps = self
			.checkpoint_step(segment.saturating_add(1))
			.saturating_sub(self.checkpoint_step(segment));
		self.step_flops()?.checked_mul(u128::from(steps))
	}

	/// Floating-point operations of re-executing the longest segment. `None` on overflow.
	pub fn longest_segment_flops(&self) -> Option<u128> {
		let steps = self.checkpoint_interval.min(self.steps);
		self.step_flops()?.checked_mul(u128::from(steps))
	}

	/// Floating-point operations of evaluating a model of this spec on `records` records:
	/// the forward pass, 2 per multiply-accumulate, and at least [`MIN_FLOPS_PER_STEP`].
	/// `None` on overflow.
	pub fn evaluation_flops(&self, records: u64) -> Option<u128> {
		Some(
			2u128
				.checked_mul(u128::from(self.model.parameter_count()?))?
				.checked_mul(u128::from(records))?
				.max(MIN_FLOPS_PER_STEP),
		)
	}

	/// Most bytes one training step of this spec holds: parameters, gradients and up to two
	/// optimizer moments (f32 each), and for a batch every layer boundary's values and
	/// pre-activations plus two gradient buffers as wide as the widest layer (f32 each): what
	/// a worker checks against its free memory before it takes an order. Saturates.
	pub fn step_memory_bytes(&self) -> u64 {
		let parameters = self.model.parameter_count().unwrap_or(u64::MAX);
		let widths = self.model.widths();
		let boundaries = widths.iter().fold(0u64, |sum, w| sum.saturating_add(u64::from(*w)));
		let widest = widths.iter().copied().max().map_or(0, u64::from);
		let per_record = boundaries.saturating_mul(2).saturating_add(widest.saturating_mul(2));
		parameters
			.saturating_mul(16)
			.saturating_add(u64::from(self.batch_size).saturating_mul(per_record).saturating_mul(4))
	}

	/// Most bytes of a checkpoint or model of this spec as the off-chain program serves it:
	/// the parameters and up to two optimizer moments as f32, and 1 MiB for the safetensors
	/// header. Saturates.
	pub fn trained_work_bytes(&self) -> u64 {
		let parameters = self.model.parameter_count().unwrap_or(u64::MAX);
		parameters.saturating_mul(12).saturating_add(1 << 20)
	}
}

/// Blocks of `block_ms` milliseconds that `amount` units of work take at `per_second` units a
/// second, rounded up: how the chain turns flops and bytes into windows. Saturates.
pub fn blocks_for(amount: u128, per_second: u128, block_ms: u64) -> u128 {
	let per_block = per_second.saturating_mul(u128::from(block_ms)).max(1);
	amount.saturating_mul(1_000).div_ceil(per_block)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_steps_memory_counts_state_and_a_batchs_activations() {
		let spec = TrainingSpec {
			model: ModelSpec {
				inputs: 64,
				hidden: BoundedVec::truncate_from(vec![128]),
				outputs: 10,
				activation: Activation::Relu,
				loss: Loss::SoftmaxCrossEntropy,
			},
			optimizer: Optimizer::Sgd,
			learning_rate: Fixed9(1),
			schedule: Schedule::Constant,
			batch_size: 32,
			steps: 100,
			seed: 1,
			checkpoint_interval: 10,
			initialization: Initialization::Seeded,
		};
		// 9,610 parameters × 16 bytes, and 32 records × (2 × (64 + 128 + 10) + 2 × 128) × 4.
		assert_eq!(spec.step_memory_bytes(), 9_610 * 16 + 32 * (2 * 202 + 2 * 128) * 4);
		let huge = TrainingSpec {
			model: ModelSpec {
				hidden: BoundedVec::truncate_from(vec![u32::MAX; 3]),
				..spec.model.clone()
			},
			..spec.clone()
		};
		assert_eq!(huge.step_memory_bytes(), u64::MAX);
	}

	#[test]
	fn training_flops_follow_the_cost_model() {
		let spec = TrainingSpec {
			model: ModelSpec {
				inputs: 64,
				hidden: BoundedVec::truncate_from(vec![128]),
				outputs: 10,
				activation: Activation::Relu,
				loss: Loss::SoftmaxCrossEntropy,
			},
			optimizer: Optimizer::Sgd,
			learning_rate: Fixed9(1),
			schedule: Schedule::Constant,
			batch_size: 32,
			steps: 1_000,
			seed: 1,
			checkpoint_interval: 100,
			initialization: Initialization::Seeded,
		};
		// 64·128 + 128 + 128·10 + 10 = 9,610 parameters.
		assert_eq!(spec.training_flops(), Some(6 * 9_610 * 32 * 1_000));
		// A tiny model is not free: each step counts at least `MIN_FLOPS_PER_STEP`.
		let tiny = TrainingSpec { batch_size: 1, ..spec.clone() };
		assert_eq!(tiny.training_flops(), Some(MIN_FLOPS_PER_STEP * 1_000));
		// Segments: 100 steps each, the last one cut short by the end of the run.
		assert_eq!(spec.segment_flops(0), Some(6 * 9_610 * 32 * 100));
		let ragged = TrainingSpec { steps: 950, ..spec.clone() };
		assert_eq!(ragged.segment_flops(9), Some(6 * 9_610 * 32 * 50));
		assert_eq!(ragged.longest_segment_flops(), Some(6 * 9_610 * 32 * 100));
		// Evaluation is the forward pass over the records.
		assert_eq!(spec.evaluation_flops(1_000), Some(2 * 9_610 * 1_000));
		assert_eq!(spec.trained_work_bytes(), 12 * 9_610 + (1 << 20));
		// The largest spec the bounds allow still fits.
		let huge = TrainingSpec { batch_size: MAX_BATCH_SIZE, steps: u32::MAX, ..spec };
		assert!(huge.training_flops().is_some());
	}

	#[test]
	fn work_takes_whole_blocks() {
		// 10 GFLOP at 1 GFLOP/s with 6 s blocks: 10 s, two blocks.
		assert_eq!(blocks_for(10_000_000_000, 1_000_000_000, 6_000), 2);
		assert_eq!(blocks_for(6_000_000_000, 1_000_000_000, 6_000), 1);
		assert_eq!(blocks_for(0, 1_000_000_000, 6_000), 0);
		// A zero rate counts as one unit a millisecond block, never a division by zero.
		assert_eq!(blocks_for(1, 0, 6_000), 1_000);
		assert_eq!(blocks_for(u128::MAX, 1, 1), u128::MAX);
	}
}

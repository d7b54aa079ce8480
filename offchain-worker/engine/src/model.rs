//! Model state on the host: parameters and optimizer state in canonical order, their
//! seeded initialization, and the checkpoint hash over them.

use alloc::{vec, vec::Vec};

use decenter_primitives::{
	proof::{checkpoint_hash, model_hash, optimizer_state_hash},
	spec::{Activation, ModelSpec, Optimizer, TrainingSpec},
	Hash256,
};

use crate::{
	math::{fma, sqrt},
	rng::{Purpose, Stream},
};

/// Shapes of a model: layer widths `d_0 … d_L`; layer `l` (1-based) has weights
/// `d_{l−1}×d_l` (row-major) and biases `d_l`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shapes {
	/// `d_0 … d_L`.
	pub widths: Vec<usize>,
}

impl Shapes {
	/// The shapes of `model`.
	pub fn of(model: &ModelSpec) -> Self {
		Shapes { widths: model.widths().into_iter().map(|w| w as usize).collect() }
	}

	/// Number of dense layers `L`.
	pub fn layers(&self) -> usize {
		self.widths.len() - 1
	}

	/// Lengths of the parameter tensors in canonical order: `W_1, b_1, W_2, b_2, …`.
	pub fn tensor_lengths(&self) -> Vec<usize> {
		self.widths.windows(2).flat_map(|pair| [pair[0] * pair[1], pair[1]]).collect()
	}

	/// Names of the parameter tensors, as in safetensors files: `layers.{l}.weight`
	/// (`[fan_in, fan_out]`) and `layers.{l}.bias`, `l` from 0.
	#[cfg(feature = "std")]
	pub fn tensor_names(&self) -> Vec<(std::string::String, Vec<usize>)> {
		self.widths
			.windows(2)
			.enumerate()
			.flat_map(|(l, pair)| {
				[
					(std::format!("layers.{l}.weight"), vec![pair[0], pair[1]]),
					(std::format!("layers.{l}.bias"), vec![pair[1]]),
				]
			})
			.collect()
	}
}

/// Parameters drawn from `seed`: uniform He (`±√(6/fan_in)`) before ReLU, uniform Glorot
/// (`±√(6/(fan_in+fan_out))`) otherwise; biases zero. Layer `l` draws from its own Philox
/// stream, weight `i` from its `i`-th number: `w = fma(u, 2, −1)·limit`, `u ∈ [0, 1)`.
pub fn initial_parameters(shapes: &Shapes, activation: Activation, seed: u64) -> Vec<Vec<f32>> {
	let layers = shapes.layers();
	let mut tensors = Vec::with_capacity(2 * layers);
	for (l, pair) in shapes.widths.windows(2).enumerate() {
		let (fan_in, fan_out) = (pair[0], pair[1]);
		let relu_follows = activation == Activation::Relu && l + 1 < layers;
		let limit = if relu_follows {
			sqrt(6.0 / fan_in as f32)
		} else {
			sqrt(6.0 / (fan_in + fan_out) as f32)
		};
		let mut stream = Stream::new(seed, Purpose::Init, l as u32);
		let weights =
			(0..fan_in * fan_out).map(|_| fma(stream.next_unit(), 2.0, -1.0) * limit).collect();
		tensors.push(weights);
		tensors.push(vec![0.0; fan_out]);
	}
	tensors
}

/// Optimizer state slots per parameter tensor.
pub fn slots(optimizer: &Optimizer) -> usize {
	match optimizer {
		Optimizer::Sgd => 0,
		Optimizer::Momentum { .. } => 1,
		Optimizer::Adam { .. } => 2,
	}
}

/// Everything training resumes from: the step reached, the parameters, and the optimizer
/// state (slot 0 of every tensor, then slot 1 of every tensor: velocity, or Adam's first
/// and second moments).
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
	/// Optimizer steps taken.
	pub step: u32,
	/// `W_1, b_1, …` in canonical order.
	pub parameters: Vec<Vec<f32>>,
	/// `slot_s(tensor_t)` at index `s·T + t`.
	pub optimizer_state: Vec<Vec<f32>>,
}

impl Checkpoint {
	/// Step 0: the given parameters and zeroed optimizer state.
	pub fn initial(parameters: Vec<Vec<f32>>, optimizer: &Optimizer) -> Self {
		let optimizer_state = (0..slots(optimizer))
			.flat_map(|_| parameters.iter().map(|t| vec![0.0; t.len()]))
			.collect();
		Checkpoint { step: 0, parameters, optimizer_state }
	}

	/// `c_0` of a spec with seeded initialization: [`initial_parameters`] under its seed.
	pub fn seeded(spec: &TrainingSpec) -> Self {
		let shapes = Shapes::of(&spec.model);
		Self::initial(
			initial_parameters(&shapes, spec.model.activation, spec.seed),
			&spec.optimizer,
		)
	}

	/// [`checkpoint_hash`] over this state: the value the proof of train commits to.
	pub fn hash(&self) -> Hash256 {
		let parameters: Vec<&[f32]> = self.parameters.iter().map(Vec::as_slice).collect();
		let state: Vec<&[f32]> = self.optimizer_state.iter().map(Vec::as_slice).collect();
		checkpoint_hash(u64::from(self.step), &parameters, &state)
	}

	/// [`model_hash`] of the parameters: the value a certificate names.
	pub fn model_hash(&self) -> Hash256 {
		let parameters: Vec<&[f32]> = self.parameters.iter().map(Vec::as_slice).collect();
		model_hash(&parameters)
	}

	/// [`optimizer_state_hash`] of the optimizer state: with [`Self::model_hash`] and the step,
	/// it makes [`Self::hash`].
	pub fn optimizer_state_hash(&self) -> Hash256 {
		let state: Vec<&[f32]> = self.optimizer_state.iter().map(Vec::as_slice).collect();
		optimizer_state_hash(&state)
	}

	/// Whether every value is finite.
	pub fn is_finite(&self) -> bool {
		self.parameters.iter().chain(&self.optimizer_state).flatten().all(|v| v.is_finite())
	}
}

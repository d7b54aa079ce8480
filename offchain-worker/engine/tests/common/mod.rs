//! Specs and data shared by the engine's tests.
#![allow(dead_code)]

use std::path::PathBuf;

use decenter_engine::{
	data::{load_csv, Targets},
	rng::{Purpose, Stream},
	train::Dataset,
};
use decenter_primitives::spec::{
	Activation, Fixed9, Initialization, Loss, ModelSpec, Optimizer, Schedule, TrainingSpec,
};

pub fn digits() -> Dataset {
	let path = std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
		.join("../../examples/data/digits.csv");
	load_csv(&path, Targets::Class).expect("examples/data/digits.csv loads")
}

/// The digits MLP 64-128-10 with ReLU, Adam, batch 32.
pub fn digits_spec(steps: u32, optimizer: Optimizer) -> TrainingSpec {
	TrainingSpec {
		model: ModelSpec {
			inputs: 64,
			hidden: vec![128].try_into().unwrap(),
			outputs: 10,
			activation: Activation::Relu,
			loss: Loss::SoftmaxCrossEntropy,
		},
		optimizer,
		learning_rate: Fixed9(1_000_000), // 0.001
		schedule: Schedule::Constant,
		batch_size: 32,
		steps,
		seed: 42,
		checkpoint_interval: 50,
		initialization: Initialization::Seeded,
	}
}

pub fn adam() -> Optimizer {
	Optimizer::Adam { beta1: Fixed9(900_000_000), beta2: Fixed9(999_000_000), epsilon: Fixed9(10) }
}

/// `len` values uniform in `[−scale/2, scale/2)`, a stream per `salt`.
pub fn random(len: usize, salt: u32, scale: f32) -> Vec<f32> {
	let mut s = Stream::new(0xdecade, Purpose::Init, salt);
	(0..len).map(|_| (s.next_unit() - 0.5) * scale).collect()
}

/// The bit patterns, to compare results exactly.
pub fn bits(values: &[f32]) -> Vec<u32> {
	values.iter().map(|v| v.to_bits()).collect()
}

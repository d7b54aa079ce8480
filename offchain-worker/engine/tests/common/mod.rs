//! Specs and data shared by the engine's tests.
#![allow(dead_code)]

use std::path::PathBuf;

use decenter_engine::{
	data::{load_csv, Targets},
	model::{initial_parameters, Checkpoint, Shapes},
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

pub fn initial(spec: &TrainingSpec) -> Checkpoint {
	let shapes = Shapes::of(&spec.model);
	Checkpoint::initial(
		initial_parameters(&shapes, spec.model.activation, spec.seed),
		&spec.optimizer,
	)
}

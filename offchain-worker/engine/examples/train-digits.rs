//! Trains the digits MLP (64-128-10, Adam, batch 32) on examples/data/digits.csv with a progress
//! bar, on the GPU when one is found and on the CPU otherwise, and writes the loss curve.
//!
//! cargo run -p decenter-engine --release --example train-digits -- [STEPS] [PNG]

use std::{path::PathBuf, process::ExitCode};

use decenter_engine::{
	backend::Backend,
	cpu::Cpu,
	cuda::Cuda,
	data::{load_csv, Targets},
	model::Checkpoint,
	plot::loss_curve_png,
	pot::{train, Trace},
	progress::TrainingProgress,
	train::Dataset,
};
use decenter_primitives::spec::{
	Activation, Fixed9, Initialization, Loss, ModelSpec, Optimizer, Schedule, TrainingSpec,
};

fn run<B: Backend>(
	backend: B,
	spec: &TrainingSpec,
	data: &Dataset,
	png: &PathBuf,
) -> Result<(), String> {
	let start = Checkpoint::seeded(spec);
	let mut progress = TrainingProgress::new(spec.steps, spec.batch_size);
	let (last, trace) = train(backend, spec, data, &start, Trace::default(), &mut progress)
		.map_err(|e| format!("training failed: {e}"))?;
	progress.finish();
	loss_curve_png(&trace.losses, png, "digits 64-128-10, Adam, batch 32")
		.map_err(|e| e.to_string())?;
	let hash: String = last.hash().iter().map(|b| format!("{b:02x}")).collect();
	println!("final checkpoint hash {hash}");
	println!(
		"loss {:.4} -> {:.4}; curve in {}",
		trace.losses[0],
		trace.losses[trace.losses.len() - 1],
		png.display()
	);
	Ok(())
}

fn main() -> ExitCode {
	let mut args = std::env::args().skip(1);
	let steps = match args.next().map(|s| s.parse::<u32>()) {
		None => 500,
		Some(Ok(steps)) if steps > 0 => steps,
		Some(_) => {
			eprintln!("STEPS must be a positive whole number (usage: train-digits [STEPS] [PNG])");
			return ExitCode::from(2);
		},
	};
	let png = PathBuf::from(args.next().unwrap_or_else(|| "loss.png".into()));
	let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/digits.csv");
	let data = match load_csv(&csv, Targets::Class) {
		Ok(data) => data,
		Err(e) => {
			eprintln!("{e}");
			return ExitCode::FAILURE;
		},
	};
	let spec = TrainingSpec {
		model: ModelSpec {
			inputs: 64,
			hidden: vec![128].try_into().expect("one hidden layer"),
			outputs: 10,
			activation: Activation::Relu,
			loss: Loss::SoftmaxCrossEntropy,
		},
		optimizer: Optimizer::Adam {
			beta1: Fixed9(900_000_000),
			beta2: Fixed9(999_000_000),
			epsilon: Fixed9(10),
		},
		learning_rate: Fixed9(1_000_000),
		schedule: Schedule::Constant,
		batch_size: 32,
		steps,
		seed: 42,
		checkpoint_interval: steps.div_ceil(10).max(1),
		initialization: Initialization::Seeded,
	};
	let result = match Cuda::new(0) {
		Ok(gpu) => {
			eprintln!("training on {}", gpu.name());
			run(gpu, &spec, &data, &png)
		},
		Err(why) => {
			eprintln!("{why}: training on the CPU");
			match Cpu::new(0) {
				Ok(cpu) => {
					eprintln!("training on {}", cpu.name());
					run(cpu, &spec, &data, &png)
				},
				Err(e) => Err(e.to_string()),
			}
		},
	};
	match result {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			eprintln!("{e}");
			ExitCode::FAILURE
		},
	}
}

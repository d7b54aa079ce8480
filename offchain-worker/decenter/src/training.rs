//! The engine as the roles use it: the device (CUDA when present, CPU otherwise), datasets
//! from their committed bytes, the calibration run behind a declared capacity, and a
//! training job that checkpoints to disk and resumes from the last checkpoint.

use std::{
	sync::atomic::{AtomicBool, Ordering},
	time::Instant,
};

use decenter_engine::{
	backend::Backend,
	cpu::{Cpu, Isa},
	cuda::Cuda,
	data::{
		checkpoint_from_safetensors, checkpoint_to_safetensors, model_to_safetensors,
		parameters_from_safetensors, parse_csv, parse_safetensors_dataset, Targets,
	},
	model::{slots, Checkpoint, Shapes},
	pot::{self, Observer, Trace},
	train::{Dataset, Evaluation, TrainError, Trainer},
};
use decenter_primitives::{
	order::{DatasetCommitment, LabelLayout},
	proof,
	spec::{
		Activation, Fixed9, Initialization, Loss, ModelSpec, Optimizer, Schedule, TrainingSpec,
	},
	Hash256,
};
use serde::{Deserialize, Serialize};

use crate::{
	metrics::Metrics,
	workdir::{write_atomic, OrderDir, Progress},
};

/// Where training runs, as `--device` takes it: `auto`, `cpu`, `cuda` (GPU 0) or `cuda:N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
	/// GPU 0 when a CUDA driver and GPU are found, the CPU otherwise.
	Auto,
	/// The CPU (the reference), on every core.
	Cpu,
	/// GPU `N`; fails when it cannot be opened.
	Cuda(usize),
}

impl std::str::FromStr for DeviceChoice {
	type Err = String;

	fn from_str(s: &str) -> Result<Self, String> {
		match s {
			"auto" => Ok(DeviceChoice::Auto),
			"cpu" => Ok(DeviceChoice::Cpu),
			"cuda" => Ok(DeviceChoice::Cuda(0)),
			other => other
				.strip_prefix("cuda:")
				.and_then(|n| n.parse().ok())
				.map(DeviceChoice::Cuda)
				.ok_or_else(|| format!("unknown device {other:?}: use auto, cpu, cuda or cuda:N")),
		}
	}
}

/// The device picked at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
	Cpu,
	/// The GPU with this ordinal.
	Cuda(usize),
}

impl Device {
	pub fn pick(choice: DeviceChoice) -> Result<Device, String> {
		match choice {
			DeviceChoice::Cpu => Ok(Device::Cpu),
			DeviceChoice::Cuda(gpu) => {
				Cuda::new(gpu).map(|_| Device::Cuda(gpu)).map_err(|e| e.to_string())
			},
			DeviceChoice::Auto => match Cuda::new(0) {
				Ok(_) => Ok(Device::Cuda(0)),
				Err(why) => {
					tracing::info!("{why}; training runs on the CPU");
					Ok(Device::Cpu)
				},
			},
		}
	}

	/// A description for the staking registration.
	pub fn describe(self) -> String {
		match self {
			Device::Cpu => format!(
				"CPU, {} threads, {}",
				std::thread::available_parallelism().map_or(1, |n| n.get()),
				Isa::from_env().map_or_else(|_| "portable".into(), |isa| isa.to_string())
			),
			Device::Cuda(gpu) => {
				Cuda::new(gpu).map(|gpu| gpu.name()).unwrap_or_else(|_| format!("cuda:{gpu}"))
			},
		}
	}
}

/// Runs `$body` with `$backend` bound to a fresh backend of `$device`; evaluates to the body's
/// `Result<_, TrainError>`.
macro_rules! on_device {
	($device:expr, |$backend:ident| $body:expr) => {
		(|| -> Result<_, TrainError> {
			match $device {
				Device::Cpu => {
					let $backend = Cpu::new(0)?;
					$body
				},
				Device::Cuda(gpu) => {
					let $backend = Cuda::new(gpu)?;
					$body
				},
			}
		})()
	};
}

/// Parses dataset bytes: safetensors (detected by its header), else CSV whose label columns
/// follow `label`.
pub fn parse_dataset(source: &str, label: LabelLayout, bytes: &[u8]) -> Result<Dataset, String> {
	let is_safetensors = bytes.len() > 8 && bytes[8] == b'{';
	if is_safetensors {
		return parse_safetensors_dataset(source, bytes).map_err(|e| e.to_string());
	}
	let targets = match label {
		LabelLayout::Class { .. } => Targets::Class,
		LabelLayout::Targets { width } => Targets::Regression { width: width as usize },
	};
	let text = std::str::from_utf8(bytes).map_err(|_| format!("{source}: not UTF-8 CSV"))?;
	parse_csv(source, text, targets).map_err(|e| e.to_string())
}

/// Parses committed dataset bytes and checks them against the commitment's record count and
/// features.
pub fn dataset(
	source: &str,
	commitment: &DatasetCommitment,
	bytes: &[u8],
) -> Result<Dataset, String> {
	let data = parse_dataset(source, commitment.label, bytes)?;
	if data.records as u64 != commitment.records
		|| data.feature_width != commitment.features as usize
	{
		return Err(format!(
			"{source}: {} records of {} features, but the order commits to {} of {}",
			data.records, data.feature_width, commitment.records, commitment.features
		));
	}
	Ok(data)
}

/// `c_0` of a run: seeded, or the uploaded weights with zeroed optimizer state.
pub fn initial_checkpoint(
	spec: &TrainingSpec,
	weights: Option<&[u8]>,
) -> Result<Checkpoint, String> {
	match (&spec.initialization, weights) {
		(Initialization::Seeded, _) => Ok(Checkpoint::seeded(spec)),
		(Initialization::Uploaded(_), Some(bytes)) => {
			let shapes = Shapes::of(&spec.model);
			let parameters = parameters_from_safetensors("initial weights", &shapes, bytes)
				.map_err(|e| e.to_string())?;
			Ok(Checkpoint::initial(parameters, &spec.optimizer))
		},
		(Initialization::Uploaded(_), None) => Err("the initial weights were not fetched".into()),
	}
}

pub fn checkpoint_bytes(spec: &TrainingSpec, checkpoint: &Checkpoint) -> Result<Vec<u8>, String> {
	checkpoint_to_safetensors(&Shapes::of(&spec.model), checkpoint).map_err(|e| e.to_string())
}

pub fn checkpoint_of(
	spec: &TrainingSpec,
	source: &str,
	bytes: &[u8],
) -> Result<Checkpoint, String> {
	checkpoint_from_safetensors(source, &Shapes::of(&spec.model), slots(&spec.optimizer), bytes)
		.map_err(|e| e.to_string())
}

/// A checkpoint's canonical bytes, as the chain hashes them and a worker posts them.
pub fn canonical_bytes(checkpoint: &Checkpoint) -> Vec<u8> {
	let parameters: Vec<&[f32]> = checkpoint.parameters.iter().map(Vec::as_slice).collect();
	let state: Vec<&[f32]> = checkpoint.optimizer_state.iter().map(Vec::as_slice).collect();
	proof::checkpoint_bytes(u64::from(checkpoint.step), &parameters, &state)
}

/// A checkpoint of `spec` from its canonical bytes (as a worker posts them on chain, laid out
/// as `proof::checkpoint_bytes` says), every tensor checked against the model's shapes and
/// the optimizer's slots.
pub fn checkpoint_from_canonical(spec: &TrainingSpec, bytes: &[u8]) -> Result<Checkpoint, String> {
	let (step, parameters, optimizer_state) = proof::checkpoint_parts(bytes).ok_or(
		"the posted bytes are not a checkpoint's canonical layout (cut short, or bytes left over)",
	)?;
	let fits = |tensors: &[Vec<f32>], lengths: &[usize], what: &str| -> Result<(), String> {
		if tensors.len() != lengths.len() {
			return Err(format!(
				"the posted {what} has {} tensors, the spec {}",
				tensors.len(),
				lengths.len()
			));
		}
		for (tensor, expected) in tensors.iter().zip(lengths) {
			if tensor.len() != *expected {
				return Err(format!(
					"a posted {what} tensor has {} values, not {expected}",
					tensor.len()
				));
			}
		}
		Ok(())
	};
	let lengths = Shapes::of(&spec.model).tensor_lengths();
	let state_lengths: Vec<usize> =
		(0..slots(&spec.optimizer)).flat_map(|_| lengths.iter().copied()).collect();
	fits(&parameters, &lengths, "parameter list")?;
	fits(&optimizer_state, &state_lengths, "optimizer state")?;
	let step = u32::try_from(step).map_err(|_| "the posted checkpoint's step is out of range")?;
	Ok(Checkpoint { step, parameters, optimizer_state })
}

/// Parameters of a downloaded model.
pub fn model_parameters(spec: &TrainingSpec, bytes: &[u8]) -> Result<Vec<Vec<f32>>, String> {
	parameters_from_safetensors("model", &Shapes::of(&spec.model), bytes).map_err(|e| e.to_string())
}

/// The state after step `until`, re-executed from `from`.
pub fn replay(
	device: Device,
	spec: &TrainingSpec,
	data: &Dataset,
	from: &Checkpoint,
	until: u32,
) -> Result<Checkpoint, TrainError> {
	on_device!(device, |backend| pot::replay(backend, spec, data, from, until))
}

/// The state at probe step `until`, re-executed from `from`, and the probe hash claimed for it.
pub fn probe(
	device: Device,
	spec: &TrainingSpec,
	data: &Dataset,
	from: &Checkpoint,
	until: u32,
) -> Result<(Checkpoint, Hash256), TrainError> {
	on_device!(device, |backend| pot::probe(backend, spec, data, from, until))
}

/// Loss and accuracy of `parameters` on `validation`.
pub fn evaluate(
	device: Device,
	spec: &TrainingSpec,
	train: &Dataset,
	validation: &Dataset,
	parameters: Vec<Vec<f32>>,
) -> Result<Evaluation, TrainError> {
	let checkpoint = Checkpoint::initial(parameters, &spec.optimizer);
	on_device!(device, |backend| Trainer::new(backend, spec, train, &checkpoint)?
		.evaluate(validation))
}

/// Measures sustained training GFLOP/s on this device with a short run of a 256-wide MLP on
/// random data: the capacity a participant declares.
pub fn calibrate(device: Device) -> Result<u32, TrainError> {
	let (inputs, width, outputs, batch) = (256usize, 512u32, 16u32, 128u32);
	let spec = TrainingSpec {
		model: ModelSpec {
			inputs: inputs as u32,
			hidden: vec![width, width].try_into().map_err(|_| TrainError::Shape("layers"))?,
			outputs,
			activation: Activation::Relu,
			loss: Loss::SoftmaxCrossEntropy,
		},
		optimizer: Optimizer::Sgd,
		learning_rate: Fixed9(1_000_000),
		schedule: Schedule::Constant,
		batch_size: batch,
		steps: 1_000_000,
		seed: 7,
		checkpoint_interval: 1_000_000,
		initialization: Initialization::Seeded,
	};
	let records = 1024;
	let data = Dataset {
		features: (0..records * inputs).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect(),
		targets: (0..records).map(|i| (i % outputs as usize) as f32).collect(),
		records,
		feature_width: inputs,
		target_width: 1,
	};
	let parameters: u64 = Shapes::of(&spec.model).tensor_lengths().iter().map(|&n| n as u64).sum();
	// Forward, two backward GEMMs: 6 flops per parameter per record.
	let flops_per_step = 6.0 * parameters as f64 * batch as f64;
	let start = Checkpoint::seeded(&spec);
	on_device!(device, |backend| {
		let mut trainer = Trainer::new(backend, &spec, &data, &start)?;
		trainer.train_step()?;
		let begun = Instant::now();
		let mut steps = 0u32;
		while begun.elapsed().as_secs_f64() < 1.0 {
			trainer.train_step()?;
			steps += 1;
		}
		let gflops = flops_per_step * f64::from(steps) / begun.elapsed().as_secs_f64() / 1e9;
		Ok(gflops.floor().max(1.0) as u32)
	})
}

/// A run's trace on disk: the checkpoint hashes and losses so far, and whether it finished.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SavedTrace {
	pub checkpoints: Vec<String>,
	pub losses: Vec<f32>,
	pub done: bool,
}

impl SavedTrace {
	pub fn load(dir: &OrderDir) -> Option<SavedTrace> {
		serde_json::from_slice(&std::fs::read(dir.trace()).ok()?).ok()
	}

	pub fn trace(&self) -> Result<Trace, String> {
		let checkpoints = self
			.checkpoints
			.iter()
			.map(|h| {
				hex::decode(h)
					.ok()
					.and_then(|b| <Hash256>::try_from(b).ok())
					.ok_or("bad hash in trace")
			})
			.collect::<Result<_, _>>()?;
		Ok(Trace { checkpoints, losses: self.losses.clone() })
	}

	fn of(trace: &Trace, done: bool) -> Self {
		SavedTrace {
			checkpoints: trace.checkpoints.iter().map(hex::encode).collect(),
			losses: trace.losses.clone(),
			done,
		}
	}
}

/// Writes checkpoints, trace and progress as training goes.
struct DiskObserver<'a> {
	dir: &'a OrderDir,
	spec: &'a TrainingSpec,
	progress: Progress,
	last_report: Instant,
	/// Set when the order ended: training stops after the step in progress.
	stop: &'a AtomicBool,
}

impl DiskObserver<'_> {
	fn write_progress(&self) {
		if let Ok(json) = serde_json::to_vec(&self.progress) {
			let _ = write_atomic(&self.dir.progress(), &json);
		}
	}
}

impl Observer for DiskObserver<'_> {
	fn stop(&self) -> bool {
		self.stop.load(Ordering::Relaxed)
	}

	fn on_step(&mut self, step: u32, loss: f32) {
		self.progress.step = step + 1;
		self.progress.losses.push(loss);
		if self.last_report.elapsed().as_millis() >= 500 {
			self.last_report = Instant::now();
			self.write_progress();
		}
	}

	fn on_checkpoint(
		&mut self,
		index: u32,
		checkpoint: &Checkpoint,
		trace: &Trace,
	) -> Result<(), TrainError> {
		let store = || -> Result<(), String> {
			let bytes = checkpoint_bytes(self.spec, checkpoint)?;
			write_atomic(&self.dir.checkpoint(index), &bytes).map_err(|e| e.to_string())?;
			let saved =
				serde_json::to_vec(&SavedTrace::of(trace, false)).map_err(|e| e.to_string())?;
			write_atomic(&self.dir.trace(), &saved).map_err(|e| e.to_string())
		};
		store().map_err(|e| {
			TrainError::Device(decenter_engine::backend::DeviceError(format!(
				"cannot store checkpoint {index} in {}: {e}",
				self.dir.path().display()
			)))
		})?;
		self.progress.step = checkpoint.step;
		self.progress.losses.truncate(checkpoint.step as usize);
		self.write_progress();
		Ok(())
	}
}

/// How a worker departs from honest training (adversarial tests only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkipAfter(pub u32);

/// Trains `spec` to the end, resuming from the last checkpoint on disk if there is one, and
/// writes the final model; stops after the step in progress once `stop` is set (its order
/// ended), keeping the checkpoints taken. With `cheat`, training stops at the first checkpoint at or after
/// that step and later checkpoints carry the same parameters (a worker that skipped work).
pub fn run(
	device: Device,
	dir: &OrderDir,
	spec: &TrainingSpec,
	data: &Dataset,
	initial: Checkpoint,
	metrics: &Metrics,
	cheat: Option<SkipAfter>,
	stop: &AtomicBool,
) -> Result<(Checkpoint, Trace), String> {
	let (start, trace) = match SavedTrace::load(dir) {
		Some(saved) if !saved.checkpoints.is_empty() => {
			let trace = saved.trace()?;
			let index = trace.checkpoints.len() as u32 - 1;
			let bytes = std::fs::read(dir.checkpoint(index))
				.map_err(|e| format!("cannot read checkpoint {index}: {e}"))?;
			let start = checkpoint_of(spec, "saved checkpoint", &bytes)?;
			if start.hash() != trace.checkpoints[index as usize] {
				return Err(format!(
					"checkpoint {index} on disk does not match the saved trace; remove {} to \
					 start over",
					dir.path().display()
				));
			}
			tracing::info!(step = start.step, "resuming from checkpoint {index}");
			(start, trace)
		},
		_ => (initial, Trace::default()),
	};
	let device_name = match device {
		Device::Cpu => "cpu".to_string(),
		Device::Cuda(gpu) => format!("cuda:{gpu}"),
	};
	let mut observer = DiskObserver {
		dir,
		spec,
		progress: Progress {
			step: start.step,
			steps: spec.steps,
			losses: trace.losses.clone(),
			device: device_name.into(),
			steps_per_second: 0.0,
		},
		last_report: Instant::now(),
		stop,
	};
	let honest_until = match cheat {
		Some(SkipAfter(step)) => {
			let interval = spec.checkpoint_interval.max(1);
			(step.div_ceil(interval) * interval).min(spec.steps)
		},
		None => spec.steps,
	};
	let begun = Instant::now();
	let first_step = start.step;
	let honest_spec = TrainingSpec { steps: honest_until, ..spec.clone() };
	let (mut last, mut trace) = on_device!(device, |backend| pot::train(
		backend,
		&honest_spec,
		data,
		&start,
		trace,
		&mut observer
	))
	.map_err(|e| e.to_string())?;
	for index in trace.checkpoints.len() as u32..=spec.checkpoint_count() {
		let step = spec.checkpoint_step(index);
		let loss = trace.losses.last().copied().unwrap_or(0.0);
		trace.losses.resize(step as usize, loss);
		last = Checkpoint { step, ..last };
		trace.checkpoints.push(last.hash());
		observer.on_checkpoint(index, &last, &trace).map_err(|e| e.to_string())?;
	}
	let elapsed = begun.elapsed().as_secs_f64().max(1e-9);
	let steps = f64::from(last.step.saturating_sub(first_step));
	metrics.steps(u64::from(last.step.saturating_sub(first_step)), steps / elapsed);
	observer.progress.steps_per_second = steps / elapsed;
	observer.progress.step = last.step;
	observer.progress.losses = trace.losses.clone();
	observer.write_progress();
	let model = model_to_safetensors(&Shapes::of(&spec.model), &last.parameters)
		.map_err(|e| e.to_string())?;
	write_atomic(&dir.model(), &model).map_err(|e| e.to_string())?;
	let saved = serde_json::to_vec(&SavedTrace::of(&trace, true)).map_err(|e| e.to_string())?;
	write_atomic(&dir.trace(), &saved).map_err(|e| e.to_string())?;
	Ok((last, trace))
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A checkpoint posted on chain reads back as the one the worker had, and bytes that do not
	/// fit the spec are refused, never misread.
	#[test]
	fn posted_checkpoints_read_back_and_wrong_bytes_are_refused() {
		let adam = Optimizer::Adam {
			beta1: Fixed9(900_000_000),
			beta2: Fixed9(999_000_000),
			epsilon: Fixed9(10),
		};
		let spec = TrainingSpec {
			model: ModelSpec {
				inputs: 3,
				hidden: vec![4].try_into().unwrap(),
				outputs: 2,
				activation: Activation::Tanh,
				loss: Loss::SoftmaxCrossEntropy,
			},
			optimizer: adam,
			learning_rate: Fixed9(1_000_000),
			schedule: Schedule::Constant,
			batch_size: 2,
			steps: 10,
			seed: 5,
			checkpoint_interval: 5,
			initialization: Initialization::Seeded,
		};
		let mut checkpoint = Checkpoint::seeded(&spec);
		checkpoint.step = 5;
		checkpoint.optimizer_state[3][1] = -0.0;
		let bytes = canonical_bytes(&checkpoint);
		let read = checkpoint_from_canonical(&spec, &bytes).unwrap();
		assert_eq!(read, checkpoint);
		assert_eq!(proof::checkpoint_hash_of_bytes(&bytes), Some(read.hash()));
		let cut = checkpoint_from_canonical(&spec, &bytes[..bytes.len() - 1]).unwrap_err();
		assert!(cut.contains("cut short"), "{cut}");
		let over = checkpoint_from_canonical(&spec, &[&bytes[..], &[0]].concat()).unwrap_err();
		assert!(over.contains("left over"), "{over}");
		// The same bytes under a spec of other shapes, or another optimizer, do not fit.
		let wider = TrainingSpec {
			model: ModelSpec { hidden: vec![5].try_into().unwrap(), ..spec.model.clone() },
			..spec.clone()
		};
		assert!(checkpoint_from_canonical(&wider, &bytes).unwrap_err().contains("values"));
		let sgd = TrainingSpec { optimizer: Optimizer::Sgd, ..spec };
		assert!(checkpoint_from_canonical(&sgd, &bytes).unwrap_err().contains("tensors"));
	}

	#[test]
	fn device_names_parse_and_a_wrong_one_says_what_is_accepted() {
		assert_eq!("auto".parse(), Ok(DeviceChoice::Auto));
		assert_eq!("cpu".parse(), Ok(DeviceChoice::Cpu));
		assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(0)));
		assert_eq!("cuda:3".parse(), Ok(DeviceChoice::Cuda(3)));
		for wrong in ["gpu", "cuda:", "cuda:x", "cuda:-1"] {
			let err = wrong.parse::<DeviceChoice>().unwrap_err();
			assert!(err.contains("auto, cpu, cuda or cuda:N"), "{wrong}: {err}");
		}
	}

	#[test]
	fn without_a_driver_auto_picks_the_cpu_and_cuda_says_why_not() {
		if decenter_engine::cuda::driver_present() {
			return;
		}
		assert_eq!(Device::pick(DeviceChoice::Auto), Ok(Device::Cpu));
		let err = Device::pick(DeviceChoice::Cuda(1)).unwrap_err();
		assert!(err.contains("no CUDA driver"), "{err}");
	}
}

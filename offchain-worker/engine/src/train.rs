//! The training step, written once over any [`Backend`]: sampling, forward, loss,
//! backward and the optimizer update, plus evaluation.

use alloc::{vec, vec::Vec};

use decenter_primitives::spec::{Loss, Optimizer, Schedule, SpecError, TrainingSpec};

use crate::{
	backend::{Backend, DeviceError},
	model::{Checkpoint, Shapes},
	ops::{self, Update},
	rng::{Purpose, Stream},
};

/// Records to train or evaluate on, in host memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
	/// `records × features`, row-major.
	pub features: Vec<f32>,
	/// One class index per record (cross-entropy), or `records × target_width` (MSE).
	pub targets: Vec<f32>,
	/// Number of records.
	pub records: usize,
	/// Features per record.
	pub feature_width: usize,
	/// Targets per record: 1 for class indices.
	pub target_width: usize,
}

/// Why training could not go on.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainError {
	/// The spec breaks a bound.
	Spec(SpecError),
	/// The dataset does not fit the model.
	Shape(&'static str),
	/// A class label outside `0..outputs`.
	LabelOutOfRange { record: usize, label: f32, classes: usize },
	/// The loss or a parameter became NaN or infinite (at this step).
	NonFinite { step: u32 },
	/// A checkpoint that does not belong to this spec.
	CheckpointMismatch(&'static str),
	/// The backend failed.
	Device(DeviceError),
	/// The observer asked training to stop (its order ended) after this many steps.
	Stopped { step: u32 },
}

impl From<DeviceError> for TrainError {
	fn from(e: DeviceError) -> Self {
		TrainError::Device(e)
	}
}

impl core::fmt::Display for TrainError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			TrainError::Spec(e) => write!(f, "the training spec is invalid: {e:?}"),
			TrainError::Shape(what) => write!(f, "the dataset does not fit the model: {what}"),
			TrainError::LabelOutOfRange { record, label, classes } => write!(
				f,
				"record {record} has label {label}, but the model has {classes} classes (labels 0..{})",
				classes.saturating_sub(1)
			),
			TrainError::NonFinite { step } => write!(
				f,
				"training diverged at step {step}: the loss or a parameter is NaN or infinite \
				 (lower the learning rate)"
			),
			TrainError::CheckpointMismatch(what) => {
				write!(f, "the checkpoint does not fit the spec: {what}")
			},
			TrainError::Device(e) => write!(f, "backend error: {e}"),
			TrainError::Stopped { step } => write!(f, "training was stopped after step {step}"),
		}
	}
}

/// `x^n` by square-and-multiply from the least significant bit: one fixed sequence of
/// f32 multiplications for each `n`.
pub fn powu(x: f32, mut n: u32) -> f32 {
	let mut result = 1.0f32;
	let mut base = x;
	while n > 0 {
		if n & 1 == 1 {
			result *= base;
		}
		base *= base;
		n >>= 1;
	}
	result
}

/// Learning rate at 0-based step `t`.
pub fn learning_rate(spec: &TrainingSpec, t: u32) -> f32 {
	let base = spec.learning_rate.to_f32();
	match spec.schedule {
		Schedule::Constant => base,
		Schedule::StepDecay { every, factor } => base * powu(factor.to_f32(), t / every.max(1)),
		Schedule::WarmupLinearDecay { warmup } => {
			if t < warmup {
				base * ((t + 1) as f32 / warmup as f32)
			} else {
				let remaining = spec.steps.saturating_sub(t);
				let span = spec.steps.saturating_sub(warmup).max(1);
				base * (remaining as f32 / span as f32)
			}
		},
	}
}

/// The optimizer update for 0-based step `t`.
pub fn update_for(spec: &TrainingSpec, t: u32) -> Update {
	let lr = learning_rate(spec, t);
	match spec.optimizer {
		Optimizer::Sgd => Update::Sgd { lr },
		Optimizer::Momentum { momentum } => Update::Momentum { lr, momentum: momentum.to_f32() },
		Optimizer::Adam { beta1, beta2, epsilon } => {
			let (beta1, beta2) = (beta1.to_f32(), beta2.to_f32());
			Update::Adam {
				lr,
				beta1,
				beta2,
				epsilon: epsilon.to_f32(),
				correction1: 1.0 - powu(beta1, t + 1),
				correction2: 1.0 - powu(beta2, t + 1),
			}
		},
	}
}

/// Which records form each batch: position `p = t·B + b` of the sample stream is record
/// `perm_e(p mod N)` with `e = ⌊p / N⌋`, `perm_e` the Fisher–Yates shuffle of `0..N`
/// driven by the Philox stream `(seed, DataOrder, e)`.
pub struct DataOrder {
	seed: u64,
	records: usize,
	epoch: Option<u64>,
	permutation: Vec<u32>,
}

impl DataOrder {
	/// Order for `records` records under `seed`.
	pub fn new(seed: u64, records: usize) -> Self {
		DataOrder { seed, records, epoch: None, permutation: Vec::new() }
	}

	/// The record at position `p` of the sample stream.
	pub fn record(&mut self, p: u64) -> usize {
		let n = self.records as u64;
		let epoch = p / n;
		if self.epoch != Some(epoch) {
			let mut stream = Stream::new(self.seed, Purpose::DataOrder, epoch as u32);
			self.permutation.clear();
			self.permutation.extend(0..self.records as u32);
			for i in (1..self.records).rev() {
				let j = stream.next_below(i as u32 + 1) as usize;
				self.permutation.swap(i, j);
			}
			self.epoch = Some(epoch);
		}
		self.permutation[(p % n) as usize] as usize
	}
}

/// Checks that `data` fits `spec`'s model and loss.
pub fn check_dataset(spec: &TrainingSpec, data: &Dataset) -> Result<(), TrainError> {
	let outputs = spec.model.outputs as usize;
	if data.feature_width != spec.model.inputs as usize {
		return Err(TrainError::Shape("feature count differs from the model's inputs"));
	}
	if data.records == 0 {
		return Err(TrainError::Shape("the dataset has no records"));
	}
	if data.features.len() != data.records * data.feature_width
		|| data.targets.len() != data.records * data.target_width
	{
		return Err(TrainError::Shape("feature or target array has the wrong length"));
	}
	match spec.model.loss {
		Loss::SoftmaxCrossEntropy => {
			if data.target_width != 1 {
				return Err(TrainError::Shape("cross-entropy needs one class label per record"));
			}
			for (record, &label) in data.targets.iter().enumerate() {
				if !(label >= 0.0 && (label as usize) < outputs && label.fract() == 0.0) {
					return Err(TrainError::LabelOutOfRange { record, label, classes: outputs });
				}
			}
		},
		Loss::MeanSquaredError => {
			if data.target_width != outputs {
				return Err(TrainError::Shape("MSE needs as many targets per record as outputs"));
			}
		},
	}
	Ok(())
}

/// A training run on one backend: the device buffers and where in the data it is.
pub struct Trainer<'a, B: Backend> {
	backend: B,
	spec: &'a TrainingSpec,
	data: &'a Dataset,
	shapes: Shapes,
	order: DataOrder,
	step: u32,
	params: Vec<B::Tensor>,
	grads: Vec<B::Tensor>,
	slot0: Vec<B::Tensor>,
	slot1: Vec<B::Tensor>,
	/// `z_l` per layer (pre-activation), `a_l` per hidden layer (post-activation).
	z: Vec<B::Tensor>,
	a: Vec<B::Tensor>,
	/// `∂L/∂z_l` per layer.
	dz: Vec<B::Tensor>,
	input: B::Tensor,
	targets: B::Tensor,
	row_losses: B::Tensor,
	/// Stand-ins for the slots an optimizer does not have.
	unused_slot0: B::Tensor,
	unused_slot1: B::Tensor,
	batch_features: Vec<f32>,
	batch_targets: Vec<f32>,
}

impl<'a, B: Backend> Trainer<'a, B> {
	/// Prepares to continue training from `checkpoint`.
	pub fn new(
		backend: B,
		spec: &'a TrainingSpec,
		data: &'a Dataset,
		checkpoint: &Checkpoint,
	) -> Result<Self, TrainError> {
		spec.validate().map_err(TrainError::Spec)?;
		check_dataset(spec, data)?;
		let batch = spec.batch_size as usize;
		if batch > data.records {
			return Err(TrainError::Shape("the batch is larger than the dataset"));
		}
		let shapes = Shapes::of(&spec.model);
		let lengths = shapes.tensor_lengths();
		let slots = crate::model::slots(&spec.optimizer);
		if checkpoint.parameters.len() != lengths.len()
			|| checkpoint.parameters.iter().zip(&lengths).any(|(t, &n)| t.len() != n)
		{
			return Err(TrainError::CheckpointMismatch("parameter shapes differ from the model"));
		}
		if checkpoint.optimizer_state.len() != slots * lengths.len() {
			return Err(TrainError::CheckpointMismatch(
				"optimizer state differs from the optimizer",
			));
		}
		if checkpoint.step > spec.steps {
			return Err(TrainError::CheckpointMismatch("checkpoint is past the last step"));
		}
		let upload_all = |tensors: &[Vec<f32>]| -> Result<Vec<B::Tensor>, DeviceError> {
			tensors.iter().map(|t| backend.upload(t)).collect()
		};
		let params = upload_all(&checkpoint.parameters)?;
		let tensors = lengths.len();
		let slot0 = if slots >= 1 {
			upload_all(&checkpoint.optimizer_state[..tensors])?
		} else {
			Vec::new()
		};
		let slot1 = if slots >= 2 {
			upload_all(&checkpoint.optimizer_state[tensors..])?
		} else {
			Vec::new()
		};
		let grads = lengths.iter().map(|&n| backend.zeros(n)).collect::<Result<_, _>>()?;
		let widths = &shapes.widths;
		let layers = shapes.layers();
		let z = (1..=layers).map(|l| backend.zeros(batch * widths[l])).collect::<Result<_, _>>()?;
		let a = (1..layers).map(|l| backend.zeros(batch * widths[l])).collect::<Result<_, _>>()?;
		let dz =
			(1..=layers).map(|l| backend.zeros(batch * widths[l])).collect::<Result<_, _>>()?;
		Ok(Trainer {
			input: backend.zeros(batch * widths[0])?,
			targets: backend.zeros(batch * data.target_width)?,
			row_losses: backend.zeros(batch)?,
			unused_slot0: backend.zeros(0)?,
			unused_slot1: backend.zeros(0)?,
			backend,
			spec,
			data,
			order: DataOrder::new(spec.seed, data.records),
			step: checkpoint.step,
			params,
			grads,
			slot0,
			slot1,
			z,
			a,
			dz,
			shapes,
			batch_features: vec![0.0; batch * data.feature_width],
			batch_targets: vec![0.0; batch * data.target_width],
		})
	}

	/// Optimizer steps taken so far.
	pub fn step(&self) -> u32 {
		self.step
	}

	/// The backend's name.
	pub fn backend_name(&self) -> alloc::string::String {
		self.backend.name()
	}

	/// Runs the forward pass of the current batch in `self.input` through every layer.
	fn forward(&mut self, m: usize) -> Result<(), DeviceError> {
		let widths = &self.shapes.widths;
		let layers = self.shapes.layers();
		for l in 0..layers {
			let (k, n) = (widths[l], widths[l + 1]);
			let input = if l == 0 { &self.input } else { &self.a[l - 1] };
			self.backend.dense_forward(
				input,
				&self.params[2 * l],
				&self.params[2 * l + 1],
				&mut self.z[l],
				m,
				k,
				n,
			)?;
			if l + 1 < layers {
				self.backend.activate(self.spec.model.activation, &self.z[l], &mut self.a[l])?;
			}
		}
		Ok(())
	}

	/// One optimizer step on the next batch; returns the batch's mean loss.
	pub fn train_step(&mut self) -> Result<f32, TrainError> {
		let m = self.spec.batch_size as usize;
		let (fw, tw) = (self.data.feature_width, self.data.target_width);
		let start = u64::from(self.step) * m as u64;
		for b in 0..m {
			let r = self.order.record(start + b as u64);
			self.batch_features[b * fw..(b + 1) * fw]
				.copy_from_slice(&self.data.features[r * fw..(r + 1) * fw]);
			self.batch_targets[b * tw..(b + 1) * tw]
				.copy_from_slice(&self.data.targets[r * tw..(r + 1) * tw]);
		}
		self.backend.write(&self.batch_features, &mut self.input)?;
		self.backend.write(&self.batch_targets, &mut self.targets)?;

		self.forward(m)?;
		let layers = self.shapes.layers();
		let widths = self.shapes.widths.clone();
		let outputs = widths[layers];
		let loss_kind = self.spec.model.loss;
		self.backend.loss(
			loss_kind,
			&self.z[layers - 1],
			&self.targets,
			&mut self.dz[layers - 1],
			&mut self.row_losses,
			m,
			outputs,
		)?;
		let loss = ops::batch_loss(loss_kind, &self.backend.download(&self.row_losses)?, outputs);
		if !loss.is_finite() {
			return Err(TrainError::NonFinite { step: self.step });
		}

		for l in (0..layers).rev() {
			let (k, n) = (widths[l], widths[l + 1]);
			let input = if l == 0 { &self.input } else { &self.a[l - 1] };
			let (dw, db) = split_pair(&mut self.grads, 2 * l);
			self.backend.dense_backward_params(input, &self.dz[l], dw, db, m, k, n)?;
			if l > 0 {
				let (below, this) = self.dz.split_at_mut(l);
				self.backend.dense_backward_input(
					&this[0],
					&self.params[2 * l],
					&mut below[l - 1],
					m,
					k,
					n,
				)?;
				self.backend.activation_backward(
					self.spec.model.activation,
					&self.z[l - 1],
					&self.a[l - 1],
					&mut below[l - 1],
				)?;
			}
		}

		let update = update_for(self.spec, self.step);
		for t in 0..self.params.len() {
			let slot0 = self.slot0.get_mut(t).unwrap_or(&mut self.unused_slot0);
			let slot1 = self.slot1.get_mut(t).unwrap_or(&mut self.unused_slot1);
			self.backend.update(update, &mut self.params[t], &self.grads[t], slot0, slot1)?;
		}
		self.step += 1;
		Ok(loss)
	}

	/// The current state, downloaded.
	pub fn checkpoint(&self) -> Result<Checkpoint, TrainError> {
		let download = |tensors: &[B::Tensor]| -> Result<Vec<Vec<f32>>, DeviceError> {
			tensors.iter().map(|t| self.backend.download(t)).collect()
		};
		let mut optimizer_state = download(&self.slot0)?;
		optimizer_state.extend(download(&self.slot1)?);
		let checkpoint =
			Checkpoint { step: self.step, parameters: download(&self.params)?, optimizer_state };
		if !checkpoint.is_finite() {
			return Err(TrainError::NonFinite { step: self.step });
		}
		Ok(checkpoint)
	}

	/// The gradients the last step computed (zeros before any step), downloaded in the
	/// parameters' canonical order: what a probe hashes beside the state.
	pub fn gradients(&self) -> Result<Vec<Vec<f32>>, TrainError> {
		Ok(self.grads.iter().map(|t| self.backend.download(t)).collect::<Result<_, _>>()?)
	}

	/// Mean loss and accuracy (cross-entropy; `None` for MSE) of the current parameters on
	/// `data`, in batches of the training batch size.
	pub fn evaluate(&mut self, data: &Dataset) -> Result<Evaluation, TrainError> {
		check_dataset(self.spec, data)?;
		let batch = self.spec.batch_size as usize;
		let layers = self.shapes.layers();
		let outputs = self.shapes.widths[layers];
		let (fw, tw) = (data.feature_width, data.target_width);
		let mut total = 0.0f32;
		let mut correct = 0usize;
		let mut start = 0;
		while start < data.records {
			let m = batch.min(data.records - start);
			let mut features = self.batch_features.clone();
			let mut targets = self.batch_targets.clone();
			features[..m * fw].copy_from_slice(&data.features[start * fw..(start + m) * fw]);
			targets[..m * tw].copy_from_slice(&data.targets[start * tw..(start + m) * tw]);
			// Rows past `m` hold stale data; they are computed and ignored.
			self.backend.write(&features, &mut self.input)?;
			self.backend.write(&targets, &mut self.targets)?;
			self.forward(batch)?;
			self.backend.loss(
				self.spec.model.loss,
				&self.z[layers - 1],
				&self.targets,
				&mut self.dz[layers - 1],
				&mut self.row_losses,
				batch,
				outputs,
			)?;
			let rows = self.backend.download(&self.row_losses)?;
			for &l in &rows[..m] {
				total += l;
			}
			if self.spec.model.loss == Loss::SoftmaxCrossEntropy {
				let z = self.backend.download(&self.z[layers - 1])?;
				for i in 0..m {
					let row = &z[i * outputs..(i + 1) * outputs];
					let mut best = 0;
					for j in 1..outputs {
						if row[j] > row[best] {
							best = j;
						}
					}
					if best == targets[i] as usize {
						correct += 1;
					}
				}
			}
			start += m;
		}
		let loss = match self.spec.model.loss {
			Loss::SoftmaxCrossEntropy => total / data.records as f32,
			Loss::MeanSquaredError => total / (data.records * outputs) as f32,
		};
		let accuracy = (self.spec.model.loss == Loss::SoftmaxCrossEntropy)
			.then(|| correct as f32 / data.records as f32);
		Ok(Evaluation { loss, accuracy, records: data.records })
	}
}

/// Model quality on a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
	/// Mean loss per record (per output for MSE).
	pub loss: f32,
	/// Fraction of records whose largest output is their class (cross-entropy only).
	pub accuracy: Option<f32>,
	/// Records evaluated.
	pub records: usize,
}

/// Mutable references to `v[i]` and `v[i + 1]`.
fn split_pair<T>(v: &mut [T], i: usize) -> (&mut T, &mut T) {
	let (left, right) = v.split_at_mut(i + 1);
	(&mut left[i], &mut right[0])
}

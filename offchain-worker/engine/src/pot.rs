//! Proof of train: training with a checkpoint every `k` steps, the commitment over the
//! checkpoint hashes, the final model and the loss trace, and re-execution of a segment.

use alloc::vec::Vec;

use decenter_primitives::{
	merkle,
	proof::{loss_trace_hash, probe_hash, PotCommitment},
	spec::TrainingSpec,
	Hash256,
};

use crate::{
	backend::Backend,
	model::Checkpoint,
	train::{Dataset, TrainError, Trainer},
};

/// What has been proven so far: the hashes of `c_0 … c_i` and the loss of every step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
	/// Checkpoint hashes, `c_0` first.
	pub checkpoints: Vec<Hash256>,
	/// Mean batch loss of every step taken.
	pub losses: Vec<f32>,
}

impl Trace {
	/// The commitment a worker makes once training is done, given the final state.
	pub fn commitment(&self, last: &Checkpoint) -> PotCommitment {
		PotCommitment {
			checkpoint_root: merkle::root(&self.checkpoints),
			checkpoints: self.checkpoints.len().saturating_sub(1) as u32,
			final_model: last.model_hash(),
			final_state: last.optimizer_state_hash(),
			loss_trace: loss_trace_hash(&self.losses),
		}
	}
}

/// Called as training goes.
pub trait Observer {
	/// After every step, with its 0-based index and loss.
	fn on_step(&mut self, _step: u32, _loss: f32) {}
	/// Asked after every step: `true` stops training there ([`TrainError::Stopped`]), with the
	/// checkpoints taken so far kept, so that it can resume from the last one.
	fn stop(&self) -> bool {
		false
	}
	/// After checkpoint `index` is taken (0 is the initial state), before training goes on;
	/// an error stops training (a worker that cannot store a checkpoint must not go on).
	fn on_checkpoint(
		&mut self,
		_index: u32,
		_checkpoint: &Checkpoint,
		_trace: &Trace,
	) -> Result<(), TrainError> {
		Ok(())
	}
}

/// An observer that does nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// Trains from `start` (which must be checkpoint `trace.checkpoints.len() − 1`, or `c_0`
/// with an empty trace) to the last step, taking the remaining checkpoints.
pub fn train<B: Backend>(
	backend: B,
	spec: &TrainingSpec,
	data: &Dataset,
	start: &Checkpoint,
	mut trace: Trace,
	observer: &mut impl Observer,
) -> Result<(Checkpoint, Trace), TrainError> {
	if trace.checkpoints.is_empty() {
		if start.step != 0 {
			return Err(TrainError::CheckpointMismatch(
				"training without a trace starts at step 0",
			));
		}
		trace.checkpoints.push(start.hash());
		observer.on_checkpoint(0, start, &trace)?;
	}
	let index = trace.checkpoints.len() as u32 - 1;
	if spec.checkpoint_step(index) != start.step || trace.losses.len() != start.step as usize {
		return Err(TrainError::CheckpointMismatch("the trace does not end at this checkpoint"));
	}
	let mut trainer = Trainer::new(backend, spec, data, start)?;
	let mut last = start.clone();
	for i in index + 1..=spec.checkpoint_count() {
		let target = spec.checkpoint_step(i);
		while trainer.step() < target {
			let step = trainer.step();
			let loss = trainer.train_step()?;
			trace.losses.push(loss);
			observer.on_step(step, loss);
			if observer.stop() {
				return Err(TrainError::Stopped { step: step.saturating_add(1) });
			}
		}
		last = trainer.checkpoint()?;
		trace.checkpoints.push(last.hash());
		observer.on_checkpoint(i, &last, &trace)?;
	}
	Ok((last, trace))
}

/// Re-executes from `from` until step `until` and returns the state there: a validator's
/// check of one segment (`until` the next checkpoint's step) or of a step inside it.
pub fn replay<B: Backend>(
	backend: B,
	spec: &TrainingSpec,
	data: &Dataset,
	from: &Checkpoint,
	until: u32,
) -> Result<Checkpoint, TrainError> {
	if until < from.step || until > spec.steps {
		return Err(TrainError::CheckpointMismatch("replay target outside the run"));
	}
	replayed(backend, spec, data, from, until)?.checkpoint()
}

/// Re-executes from `from` to the probe step `until`, at least one step on, and returns the
/// state there and the [`probe_hash`] a checker claims for it (the state and the gradients of
/// the step that made it).
pub fn probe<B: Backend>(
	backend: B,
	spec: &TrainingSpec,
	data: &Dataset,
	from: &Checkpoint,
	until: u32,
) -> Result<(Checkpoint, Hash256), TrainError> {
	if until <= from.step || until > spec.steps {
		return Err(TrainError::CheckpointMismatch(
			"a probe step lies after its segment's start, within the run",
		));
	}
	let trainer = replayed(backend, spec, data, from, until)?;
	let state = trainer.checkpoint()?;
	let gradients = trainer.gradients()?;
	let views: Vec<&[f32]> = gradients.iter().map(Vec::as_slice).collect();
	let probe = probe_hash(&state.hash(), &views);
	Ok((state, probe))
}

/// A trainer started at `from` and run to step `until`.
fn replayed<'a, B: Backend>(
	backend: B,
	spec: &'a TrainingSpec,
	data: &'a Dataset,
	from: &Checkpoint,
	until: u32,
) -> Result<Trainer<'a, B>, TrainError> {
	let mut trainer = Trainer::new(backend, spec, data, from)?;
	while trainer.step() < until {
		trainer.train_step()?;
	}
	Ok(trainer)
}

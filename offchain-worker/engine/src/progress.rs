//! A progress bar for training: step, loss and samples per second (indicatif), as a
//! [`Observer`] of [`crate::pot::train`].

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
	model::Checkpoint,
	pot::{Observer, Trace},
	train::TrainError,
};

/// Shows training progress on the terminal (nothing when stderr is not a terminal).
pub struct TrainingProgress {
	bar: ProgressBar,
	batch: u64,
	started: Instant,
	first_step: Option<u32>,
}

impl TrainingProgress {
	/// A bar for `steps` steps of `batch` samples.
	pub fn new(steps: u32, batch: u32) -> Self {
		Self::with_target(steps, batch, ProgressDrawTarget::stderr())
	}

	/// As [`Self::new`], drawing to `target` (hidden in tests).
	pub fn with_target(steps: u32, batch: u32, target: ProgressDrawTarget) -> Self {
		let bar = ProgressBar::with_draw_target(Some(steps.into()), target);
		let style = ProgressStyle::with_template(
			"{spinner} [{elapsed_precise}] {bar:32} step {pos}/{len}  {msg}",
		)
		.unwrap_or_else(|_| ProgressStyle::default_bar());
		bar.set_style(style);
		Self { bar, batch: batch.into(), started: Instant::now(), first_step: None }
	}

	/// Samples per second since the first step this bar saw.
	pub fn samples_per_second(&self) -> f64 {
		let steps = self.bar.position().saturating_sub(self.first_step.unwrap_or(0).into());
		let seconds = self.started.elapsed().as_secs_f64();
		if seconds > 0.0 {
			(steps * self.batch) as f64 / seconds
		} else {
			0.0
		}
	}

	/// The bar's current message (`loss … · … samples/s`).
	pub fn message(&self) -> String {
		self.bar.message()
	}

	/// Leaves the bar on screen with its last values.
	pub fn finish(&self) {
		self.bar.finish();
	}
}

impl Observer for TrainingProgress {
	fn on_step(&mut self, step: u32, loss: f32) {
		if self.first_step.is_none() {
			// Resumed runs count their speed from where they resumed.
			self.first_step = Some(step);
			self.started = Instant::now();
		}
		self.bar.set_position(u64::from(step) + 1);
		self.bar
			.set_message(format!("loss {loss:.4} · {:.0} samples/s", self.samples_per_second()));
	}

	fn on_checkpoint(
		&mut self,
		index: u32,
		_checkpoint: &Checkpoint,
		_trace: &Trace,
	) -> Result<(), TrainError> {
		if index > 0 {
			self.bar.println(format!("checkpoint {index} at step {}", self.bar.position()));
		}
		Ok(())
	}
}

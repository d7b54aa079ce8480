//! Prometheus metrics of a daemon, served as text at `/metrics` by its HTTP server.

use std::sync::{atomic::AtomicU64, Arc};

use prometheus_client::{
	encoding::{text::encode, EncodeLabelSet},
	metrics::{counter::Counter, family::Family, gauge::Gauge},
	registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
	outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobState {
	state: String,
}

/// Counters and gauges shared by every part of a daemon.
#[derive(Clone)]
pub struct Metrics {
	registry: Arc<Registry>,
	extrinsics: Family<Outcome, Counter>,
	jobs: Family<JobState, Counter>,
	steps: Counter,
	steps_per_second: Gauge<f64, AtomicU64>,
	bytes_served: Counter,
	requests_refused: Counter,
}

impl Metrics {
	pub fn new() -> Self {
		let mut registry = Registry::with_prefix("decenter");
		let extrinsics = Family::<Outcome, Counter>::default();
		registry.register(
			"extrinsics",
			"Extrinsics sent, by outcome (ok, failed)",
			extrinsics.clone(),
		);
		let jobs = Family::<JobState, Counter>::default();
		registry.register(
			"jobs",
			"Training and validation jobs, by state (started, finished, failed, declined)",
			jobs.clone(),
		);
		let steps = Counter::default();
		registry.register(
			"training_steps",
			"Optimizer steps trained or re-executed",
			steps.clone(),
		);
		let steps_per_second = Gauge::<f64, AtomicU64>::default();
		registry.register(
			"training_steps_per_second",
			"Steps per second of the last training run",
			steps_per_second.clone(),
		);
		let bytes_served = Counter::default();
		registry.register("artifact_bytes_served", "Artifact bytes served", bytes_served.clone());
		let requests_refused = Counter::default();
		registry.register(
			"artifact_requests_refused",
			"Artifact requests and connections refused (bad signature, replay, not allowed, bad path, over an address's or account's budget)",
			requests_refused.clone(),
		);
		Metrics {
			registry: Arc::new(registry),
			extrinsics,
			jobs,
			steps,
			steps_per_second,
			bytes_served,
			requests_refused,
		}
	}

	pub fn extrinsic(&self, outcome: &str) {
		self.extrinsics.get_or_create(&Outcome { outcome: outcome.into() }).inc();
	}

	pub fn job(&self, state: &str) {
		self.jobs.get_or_create(&JobState { state: state.into() }).inc();
	}

	pub fn steps(&self, steps: u64, per_second: f64) {
		self.steps.inc_by(steps);
		self.steps_per_second.set(per_second);
	}

	pub fn served(&self, bytes: u64) {
		self.bytes_served.inc_by(bytes);
	}

	pub fn refused(&self) {
		self.requests_refused.inc();
	}

	/// The OpenMetrics text exposition.
	pub fn render(&self) -> String {
		let mut text = String::new();
		// Writing into a String cannot fail.
		let _ = encode(&mut text, &self.registry);
		text
	}
}

impl Default for Metrics {
	fn default() -> Self {
		Self::new()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn counters_show_in_the_exposition() {
		let metrics = Metrics::new();
		metrics.extrinsic("ok");
		metrics.extrinsic("failed");
		metrics.extrinsic("ok");
		metrics.served(1024);
		metrics.steps(300, 1500.0);
		let text = metrics.render();
		assert!(text.contains("decenter_extrinsics_total{outcome=\"ok\"} 2"), "{text}");
		assert!(text.contains("decenter_extrinsics_total{outcome=\"failed\"} 1"), "{text}");
		assert!(text.contains("decenter_artifact_bytes_served_total 1024"), "{text}");
		assert!(text.contains("decenter_training_steps_total 300"), "{text}");
		assert!(text.contains("decenter_training_steps_per_second 1500.0"), "{text}");
	}
}

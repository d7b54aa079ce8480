//! The validator role: register and bond; when drawn for an order (as validator, or as
//! referee of a dispute), fetch the workers' committed checkpoints, re-execute the sampled
//! segments to their probe and end steps (segment 0 from the order's own initialization, not
//! the worker's `c_0`), evaluate every worker's final model on the
//! validation set, and commit then reveal the report. A checkpoint that cannot be fetched, or
//! that does not hash to what the worker revealed, is claimed `Unavailable`: the chain then
//! asks the worker to post it.

use std::{
	collections::HashMap,
	path::{Path, PathBuf},
	sync::{Arc, Mutex, PoisonError},
};

use decenter_engine::{model::Checkpoint, train::Dataset};
use decenter_primitives::{
	order::OrderSpec,
	proof::model_hash,
	spec::{ArtifactCommitment, Initialization, TrainingSpec},
	validation::{Claim, Metrics as ReportMetrics, Report},
	Hash256,
};

use crate::{
	chain::{Chain, Phase, Round, TaskStatus},
	daemon::{logged, Role},
	fetch::{trained_work_bytes, Fetcher},
	metrics::Metrics,
	retention::{self, Sweeper},
	training::{self, Device},
	workdir::OrderDir,
	worker::{commit_or_reveal_report, register},
};

/// How far back from the finalized head a referee looks for a posted checkpoint: 16,384
/// blocks, more than the longest dispute window (`MaxValidationWindow`, 12 hours of 3-second
/// blocks). It stops at the first match, which is usually a few blocks old.
const POSTED_SCAN_BLOCKS: u64 = 16_384;

pub struct ValidatorConfig {
	pub data_dir: PathBuf,
	pub public_url: String,
	pub device: Device,
	pub capacity: Option<u32>,
}

/// The validator daemon: each round it checks is stepped in a task of its own, so that a long
/// re-execution for one order never holds up another's report windows.
pub struct Validator {
	rounds: Rounds,
	/// Each round's step in progress: one at a time per order, orders side by side.
	steps: HashMap<u64, tokio::task::JoinHandle<()>>,
	/// Removes the files of rounds that are over (`retention`).
	sweeper: Sweeper,
}

/// What every round's task shares.
#[derive(Clone)]
struct Rounds {
	config: Arc<ValidatorConfig>,
	fetcher: Fetcher,
	metrics: Metrics,
	/// Orders whose referee report waits for a withheld checkpoint, and since which block.
	waiting: Arc<Mutex<HashMap<u64, u64>>>,
}

/// Whether this account checks as a validator or as a referee.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
	Validator,
	Referee,
}

impl Validator {
	pub fn new(config: ValidatorConfig, fetcher: Fetcher, metrics: Metrics) -> Self {
		let rounds =
			Rounds { config: Arc::new(config), fetcher, metrics, waiting: Default::default() };
		Validator { rounds, steps: HashMap::new(), sweeper: Sweeper::default() }
	}
}

impl Rounds {
	/// A dataset of order `id`, fetched once, verified against its commitment.
	async fn dataset(
		&self,
		dir: &OrderDir,
		id: u64,
		commitment: &decenter_primitives::order::DatasetCommitment,
		path: PathBuf,
		name: &str,
	) -> Result<Dataset, String> {
		dir.create().map_err(|e| e.to_string())?;
		let bytes = self.fetched_once(id, &commitment.artifact, &path).await?;
		training::dataset(name, commitment, &bytes)
	}

	/// The bytes of an input artifact of order `id`: from `path` if fetched before, else
	/// fetched there (chunks verified against the commitment; a cut-off fetch resumes).
	async fn fetched_once(
		&self,
		id: u64,
		artifact: &ArtifactCommitment,
		path: &Path,
	) -> Result<Vec<u8>, String> {
		if let Ok(bytes) = std::fs::read(path) {
			return Ok(bytes);
		}
		self.fetcher.artifact_to_file(id, artifact, path).await?;
		std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
	}

	async fn step_round(&self, chain: &Chain, id: u64) -> Result<(), String> {
		let Some(round) = chain.round(id).await.map_err(|e| e.to_string())? else { return Ok(()) };
		let me = chain.account();
		let part = if round.validators.0.iter().any(|v| v.account == me && v.fault.is_none()) {
			Part::Validator
		} else if round.referees.0.iter().any(|r| r.account == me && r.fault.is_none()) {
			Part::Referee
		} else {
			return Ok(());
		};
		let revealing = match (&round.phase, part) {
			(Phase::Reporting { .. }, Part::Validator)
			| (Phase::Refereeing { .. }, Part::Referee) => false,
			(Phase::RevealingReports { .. }, Part::Validator)
			| (Phase::RevealingVerdicts { .. }, Part::Referee) => true,
			_ => return Ok(()),
		};
		let dir = OrderDir::new(&self.config.data_dir, id);
		let genesis = format!("{:?}", chain.client.genesis_hash());
		dir.bind(&genesis).map_err(|e| format!("{}: {e}", dir.path().display()))?;
		if let (Phase::Refereeing { until }, false) = (&round.phase, revealing) {
			if self.awaits_posted_checkpoint(chain, id, u64::from(*until)).await? {
				return Ok(());
			}
		}
		let make = self.report(chain, &dir, id, &round, part);
		commit_or_reveal_report(chain, &dir, id, revealing, make).await
	}

	/// Whether a referee of order `id` should hold its report back: one of its segments is
	/// `Withheld` (its worker has not posted the checkpoint yet) and less than half the time
	/// left when it first waited has passed. Then it re-executes from what was posted, or
	/// claims `Unavailable` (no vote) for what never was.
	async fn awaits_posted_checkpoint(
		&self,
		chain: &Chain,
		id: u64,
		until: u64,
	) -> Result<bool, String> {
		let tasks = chain.tasks_of(id, &chain.account()).await.map_err(|e| e.to_string())?;
		let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
		if !tasks.iter().any(|(_, task)| matches!(task.status, TaskStatus::Withheld)) {
			waiting.remove(&id);
			return Ok(false);
		}
		drop(waiting);
		let now = chain.finalized_number().await.map_err(|e| e.to_string())?;
		let since =
			*self.waiting.lock().unwrap_or_else(PoisonError::into_inner).entry(id).or_insert(now);
		let wait = now < since + until.saturating_sub(since) / 2;
		if wait {
			tracing::info!(order = id, "waiting for a worker to post a withheld checkpoint");
		}
		Ok(wait)
	}

	async fn report(
		&self,
		chain: &Chain,
		dir: &OrderDir,
		id: u64,
		round: &Round,
		part: Part,
	) -> Result<Report, String> {
		let order = chain.order(id).await.map_err(|e| e.to_string())?.ok_or("the order is gone")?;
		let spec: OrderSpec = Chain::spec_of(&order).map_err(|e| e.to_string())?;
		let data = self.dataset(dir, id, &spec.dataset, dir.dataset(), "dataset").await?;
		self.metrics.job("started");
		let tasks = chain.tasks_of(id, &chain.account()).await.map_err(|e| e.to_string())?;
		let mut claims = Vec::new();
		for (_, task) in &tasks {
			let claim = self
				.check_segment(
					chain,
					part,
					dir,
					id,
					round,
					&spec,
					&data,
					task.worker,
					task.segment,
					task.probe_step,
					matches!(task.status, TaskStatus::Posted),
				)
				.await;
			match &claim {
				Ok(_) => {},
				Err(why) => tracing::warn!(
					order = id,
					worker = task.worker,
					segment = task.segment,
					"{why}"
				),
			}
			claims.push(claim.unwrap_or(Claim::Unavailable));
		}
		let mut metrics = Vec::new();
		if part == Part::Validator {
			let validation =
				self.dataset(dir, id, &spec.validation, dir.validation(), "validation set").await?;
			for slot in 0..round.workers.0.len() as u32 {
				let measured =
					self.evaluate(chain, id, round, &spec, &data, &validation, slot).await;
				metrics.push(measured.unwrap_or_else(|why| {
					tracing::warn!(order = id, worker = slot, "cannot evaluate: {why}");
					ReportMetrics { loss: u64::MAX, accuracy: 0 }
				}));
			}
		}
		self.metrics.job("finished");
		tracing::info!(order = id, tasks = tasks.len(), "report ready");
		Ok(Report {
			claims: claims.try_into().map_err(|_| "too many claims")?,
			metrics: metrics.try_into().map_err(|_| "too many workers")?,
		})
	}

	/// Re-executes one segment of worker `slot`: segment 0 from the order's own initialization,
	/// any other from the worker's checkpoint `segment`.
	#[allow(clippy::too_many_arguments)]
	async fn check_segment(
		&self,
		chain: &Chain,
		part: Part,
		dir: &OrderDir,
		id: u64,
		round: &Round,
		spec: &OrderSpec,
		data: &Dataset,
		slot: u32,
		segment: u32,
		probe_step: u32,
		posted: bool,
	) -> Result<Claim, String> {
		let worker = &round.workers.0.get(slot as usize).ok_or("no such worker")?.account;
		let training = spec.variant(slot).ok_or("no spec for the slot")?;
		// Segment 0 starts from the order's own initialization, not the worker's `c_0`: a run
		// trained from weights the order did not name then ends elsewhere than the worker
		// claims. A validator that cannot get the uploaded weights falls back to the worker's
		// `c_0`, so that a client cannot have a worker faulted for withholding by withdrawing
		// them; a referee abstains instead (`Unavailable` is no vote), so that a client cannot
		// withdraw them once the dispute is open and have the honest accuser slashed.
		let initial = match (segment, part) {
			(0, Part::Validator) => self.initialization(dir, id, &training).await.map_err(|why| {
				tracing::warn!(order = id, worker = slot, "{why}; segment 0 from the worker's c_0")
			}),
			(0, Part::Referee) => Ok(self.initialization(dir, id, &training).await?),
			_ => Err(()),
		};
		let from = if let Ok(initial) = initial {
			initial
		} else {
			let hashes = chain
				.checkpoint_hashes(id, slot)
				.await
				.map_err(|e| e.to_string())?
				.ok_or("no revealed checkpoints")?;
			let expected =
				*hashes.get(segment as usize).ok_or("segment past the revealed checkpoints")?;
			// A checkpoint posted on chain is there even when its worker's server is not.
			let on_chain = match posted {
				true => self.posted(chain, id, &training, segment, &expected).await,
				false => None,
			};
			let from = match on_chain {
				Some(from) => from,
				None => {
					let base = chain.endpoint_of(worker).await.map_err(|e| e.to_string())?;
					let path = format!("/orders/{id}/checkpoints/{segment}");
					let bytes =
						self.fetcher.get(&base, &path, trained_work_bytes(&training)).await?;
					training::checkpoint_of(&training, "checkpoint", &bytes)?
				},
			};
			if from.hash() != expected {
				return Err(format!("checkpoint {segment} does not hash to the revealed value"));
			}
			from
		};
		let (device, data, start_step) = (self.config.device, data.clone(), from.step);
		let end_step = training.checkpoint_step(segment + 1);
		let begun = std::time::Instant::now();
		let (probe, end) = tokio::task::spawn_blocking(move || {
			let (state, probe) = training::probe(device, &training, &data, &from, probe_step)?;
			let end = training::replay(device, &training, &data, &state, end_step)?;
			Ok::<_, decenter_engine::train::TrainError>((probe, end.hash()))
		})
		.await
		.map_err(|e| e.to_string())?
		.map_err(|e| e.to_string())?;
		let steps = u64::from(end_step.saturating_sub(start_step));
		self.metrics.steps(steps, steps as f64 / begun.elapsed().as_secs_f64().max(1e-9));
		Ok(Claim::Computed { end, probe })
	}

	/// Checkpoint `index` as a worker posted it on chain, if it is found in the last
	/// [`POSTED_SCAN_BLOCKS`] blocks and fits the spec.
	async fn posted(
		&self,
		chain: &Chain,
		id: u64,
		training: &TrainingSpec,
		index: u32,
		expected: &Hash256,
	) -> Option<Checkpoint> {
		let found = chain.posted_checkpoint(id, index, expected, POSTED_SCAN_BLOCKS).await;
		let bytes = match found {
			Ok(Some(bytes)) => bytes,
			Ok(None) => {
				tracing::warn!(order = id, index, "the posted checkpoint is not on chain");
				return None;
			},
			Err(why) => {
				tracing::warn!(order = id, index, "cannot search for the posted checkpoint: {why}");
				return None;
			},
		};
		training::checkpoint_from_canonical(training, &bytes)
			.map_err(|why| tracing::warn!(order = id, index, "{why}"))
			.ok()
	}

	/// `c_0` as the order defines it: the seeded initialization, or the uploaded weights
	/// (fetched once from the client's store, verified against their commitment).
	async fn initialization(
		&self,
		dir: &OrderDir,
		id: u64,
		training: &TrainingSpec,
	) -> Result<Checkpoint, String> {
		let weights = match &training.initialization {
			Initialization::Seeded => None,
			Initialization::Uploaded(artifact) => {
				Some(self.fetched_once(id, artifact, &dir.weights()).await?)
			},
		};
		training::initial_checkpoint(training, weights.as_deref())
			.map_err(|e| format!("the order's initial weights do not fit its model: {e}"))
	}

	/// Fetches worker `slot`'s final model, checks it is the one it committed to, and measures
	/// it on the validation set.
	#[allow(clippy::too_many_arguments)]
	async fn evaluate(
		&self,
		chain: &Chain,
		id: u64,
		round: &Round,
		spec: &OrderSpec,
		data: &Dataset,
		validation: &Dataset,
		slot: u32,
	) -> Result<ReportMetrics, String> {
		let proof = round.workers.0.get(slot as usize).ok_or("no such worker")?;
		let commitment = proof.commitment.as_ref().ok_or("proof not revealed")?;
		let training = spec.variant(slot).ok_or("no spec for the slot")?;
		let base = chain.endpoint_of(&proof.account).await.map_err(|e| e.to_string())?;
		let path = format!("/orders/{id}/model");
		let bytes = self.fetcher.get(&base, &path, trained_work_bytes(&training)).await?;
		let parameters = training::model_parameters(&training, &bytes)?;
		let views: Vec<&[f32]> = parameters.iter().map(Vec::as_slice).collect();
		if model_hash(&views) != commitment.final_model {
			return Err("the served model is not the committed one".into());
		}
		let (device, data, validation) = (self.config.device, data.clone(), validation.clone());
		let evaluation = tokio::task::spawn_blocking(move || {
			training::evaluate(device, &training, &data, &validation, parameters)
		})
		.await
		.map_err(|e| e.to_string())?
		.map_err(|e| e.to_string())?;
		Ok(ReportMetrics::from_evaluation(evaluation.loss, evaluation.accuracy.unwrap_or(0.0)))
	}
}

impl Role for Validator {
	async fn setup(&mut self, chain: &Chain) -> Result<(), String> {
		let config = &self.rounds.config;
		register(
			chain,
			crate::chain::RoleKind::Validator,
			&config.public_url,
			config.device,
			config.capacity,
		)
		.await
	}

	/// Starts a task for every round that has none running and drops (aborts) the tasks of
	/// rounds that ended, so that a check of an order that expired or settled stops at its
	/// next fetch or segment. Each task logs its own errors; a node that fails shows in
	/// reading the rounds.
	async fn tick(&mut self, chain: &Chain) -> Result<(), String> {
		let rounds = chain.rounds().await.map_err(|e| e.to_string())?;
		self.steps.retain(|id, task| {
			if !rounds.contains(id) {
				task.abort();
			}
			rounds.contains(id) && !task.is_finished()
		});
		for id in rounds {
			if self.steps.contains_key(&id) {
				continue;
			}
			let (checker, chain) = (self.rounds.clone(), chain.clone());
			let task = tokio::spawn(async move {
				let _ = logged(id, checker.step_round(&chain, id).await);
			});
			self.steps.insert(id, task);
		}
		self.sweeper.sweep(chain, &self.rounds.config.data_dir, retention::Role::Validator).await;
		Ok(())
	}
}

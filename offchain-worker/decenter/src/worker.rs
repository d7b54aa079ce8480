//! The worker role: register with a measured capacity, take assignments, fetch and verify the
//! inputs, train (resuming from disk after a restart), commit and reveal the proof of train,
//! report its own probe steps, post a checkpoint a validator says it could not fetch, and
//! serve checkpoints, model and progress to the order's client and validators.

use std::{
	collections::HashMap,
	path::PathBuf,
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc, Mutex, MutexGuard, PoisonError,
	},
};

use codec::{Decode, Encode};
use decenter_primitives::{
	order::OrderSpec,
	proof::{self, PotCommitment},
	spec::{Initialization, TrainingSpec},
	validation::{Claim, Report},
	Hash256,
};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::{
	chain::{AccountId, Chain, Order, OrderStatus, Phase},
	daemon::{logged, Role},
	fetch::{FetchError, Fetcher},
	metrics::Metrics,
	retention::{self, Sweeper},
	runtime::{api, api::runtime_types::bounded_collections::bounded_vec::BoundedVec, convert},
	training::{self, Device, SavedTrace, SkipAfter},
	workdir::{write_atomic, OrderDir},
};

/// What a worker is started with.
pub struct WorkerConfig {
	pub data_dir: PathBuf,
	/// The URL others reach this worker's server at (registered on chain).
	pub public_url: String,
	pub device: Device,
	/// Declared capacity; measured by a calibration run when not given.
	pub capacity: Option<u32>,
	/// Adversarial tests only: stop training at this step and fake the rest.
	pub cheat: Option<SkipAfter>,
}

/// The secrets of an order's commit–reveal rounds, on disk before any commit goes out.
#[derive(Default, Serialize, Deserialize)]
pub struct Secrets {
	pub proof_salt: Option<String>,
	pub report_salt: Option<String>,
	/// The sealed report, SCALE-encoded (hex).
	pub report: Option<String>,
}

impl Secrets {
	pub fn load(dir: &OrderDir) -> Secrets {
		std::fs::read(dir.salts())
			.ok()
			.and_then(|bytes| serde_json::from_slice(&bytes).ok())
			.unwrap_or_default()
	}

	pub fn save(&self, dir: &OrderDir) -> Result<(), String> {
		let bytes = serde_json::to_vec(self).map_err(|e| e.to_string())?;
		write_atomic(&dir.salts(), &bytes).map_err(|e| format!("cannot save salts: {e}"))
	}
}

pub fn fresh_salt() -> Hash256 {
	rand::random()
}

pub fn decode_hash(text: &str) -> Result<Hash256, String> {
	hex::decode(text).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| "bad hex hash".into())
}

/// Commits `report` (sealed with a fresh salt saved first), or reveals it once the phase
/// allows; `sealed`/`revealed` say where this reporter stands on chain.
pub async fn commit_or_reveal_report(
	chain: &Chain,
	dir: &OrderDir,
	id: u64,
	revealing: bool,
	make: impl std::future::Future<Output = Result<Report, String>>,
) -> Result<(), String> {
	let me = chain.account();
	let on_chain = chain.report(id, &me).await.map_err(|e| e.to_string())?;
	let mut secrets = Secrets::load(dir);
	match (on_chain, revealing) {
		(None, false) => {
			// A report is made and salted once; a retried commit seals the same one.
			let (report, salt) = match (&secrets.report, &secrets.report_salt) {
				(Some(report), Some(salt)) => {
					let bytes = hex::decode(report).map_err(|e| e.to_string())?;
					(
						Report::decode(&mut &bytes[..]).map_err(|e| e.to_string())?,
						decode_hash(salt)?,
					)
				},
				_ => {
					let report = make.await?;
					let salt = fresh_salt();
					secrets.report_salt = Some(hex::encode(salt));
					secrets.report = Some(hex::encode(report.encode()));
					secrets.save(dir)?;
					(report, salt)
				},
			};
			let seal = proof::seal(&report.hash(), &salt, &me.0);
			chain
				.submit(
					&format!("commit_report {id}"),
					&api::tx().proof_of_train().commit_report(id, seal),
				)
				.await
				.map_err(|e| e.to_string())?;
		},
		(Some(sealed), true) if sealed.report.is_none() => {
			let (Some(salt), Some(report)) = (&secrets.report_salt, &secrets.report) else {
				return Err(format!("order {id}: the sealed report's salt is lost; cannot reveal"));
			};
			let bytes = hex::decode(report).map_err(|e| e.to_string())?;
			let report = Report::decode(&mut &bytes[..]).map_err(|e| e.to_string())?;
			let call = api::tx().proof_of_train().reveal_report(
				id,
				convert(&report).map_err(|e| e.to_string())?,
				decode_hash(salt)?,
			);
			chain.submit(&format!("reveal_report {id}"), &call).await.map_err(|e| e.to_string())?;
		},
		_ => {},
	}
	Ok(())
}

/// A training run in progress, and the flag that stops it when its order ends.
struct TrainingJob {
	handle: JoinHandle<Result<(), String>>,
	stop: Arc<AtomicBool>,
}

/// The worker daemon: each order it is assigned is stepped in a task of its own, so that a
/// slow fetch, a long training or a re-execution of one order never holds up another's
/// deadlines.
pub struct Worker {
	orders: Orders,
	/// Each order's step in progress: one at a time per order, orders side by side.
	steps: HashMap<u64, JoinHandle<()>>,
	/// Removes the files of orders that are over (`retention`).
	sweeper: Sweeper,
}

/// What every order's task shares.
#[derive(Clone)]
struct Orders {
	config: Arc<WorkerConfig>,
	fetcher: Fetcher,
	metrics: Metrics,
	/// Training runs in progress, by order.
	jobs: Arc<Mutex<HashMap<u64, TrainingJob>>>,
}

impl Worker {
	pub fn new(config: WorkerConfig, fetcher: Fetcher, metrics: Metrics) -> Self {
		let orders =
			Orders { config: Arc::new(config), fetcher, metrics, jobs: Default::default() };
		Worker { orders, steps: HashMap::new(), sweeper: Sweeper::default() }
	}
}

/// A lock that a panicked holder did not poison: the maps it guards stay consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
	mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Orders {
	/// Stops the training of every order that is no longer this worker's to train
	/// (cancelled, expired, or moved on to proving without it). A failed read stops nothing.
	async fn stop_ended(&self, chain: &Chain, assigned: &[u64]) {
		let running: Vec<u64> = lock(&self.jobs).keys().copied().collect();
		for id in running {
			let ended = !assigned.contains(&id)
				|| match chain.order(id).await {
					Ok(order) => order.is_none_or(|o| !matches!(o.status, OrderStatus::Training)),
					Err(_) => false,
				};
			if !ended {
				continue;
			}
			let mut jobs = lock(&self.jobs);
			match jobs.get(&id) {
				// Nobody steps an order that is not assigned any more: forget its run.
				Some(job) if job.handle.is_finished() && !assigned.contains(&id) => {
					jobs.remove(&id);
					tracing::info!(order = id, "training stopped");
				},
				Some(job) if !job.stop.swap(true, Ordering::Relaxed) => {
					tracing::info!(order = id, "the order ended: stopping its training");
				},
				_ => {},
			}
		}
	}

	/// Fetches (once) and verifies the training data and initial weights of order `id`.
	async fn fetch_inputs(
		&self,
		dir: &OrderDir,
		id: u64,
		spec: &OrderSpec,
	) -> Result<(), FetchError> {
		let local = |e: String| FetchError::Unavailable(e);
		dir.create().map_err(|e| local(format!("cannot create {}: {e}", dir.path().display())))?;
		// Each input goes to disk chunk by chunk (a cut-off fetch resumes), then is checked
		// against what the spec says of it; what does not match is deleted.
		let path = dir.dataset();
		if !path.exists() {
			let chunks = self.fetcher.artifact_to_file(id, &spec.dataset.artifact, &path).await?;
			let bytes = std::fs::read(&path).map_err(|e| local(e.to_string()))?;
			if let Err(e) = training::dataset("dataset", &spec.dataset, &bytes) {
				let _ = std::fs::remove_file(&path);
				return Err(FetchError::Corrupt(format!(
					"the dataset does not match its commitment: {e}"
				)));
			}
			tracing::info!(order = id, bytes = bytes.len(), chunks, "dataset fetched and verified");
		}
		if let Initialization::Uploaded(weights) = &spec.training.initialization {
			let path = dir.weights();
			if !path.exists() {
				self.fetcher.artifact_to_file(id, weights, &path).await?;
				let bytes = std::fs::read(&path).map_err(|e| local(e.to_string()))?;
				// Weights that do not fit the model would fail training after confirming.
				if let Err(e) = training::initial_checkpoint(&spec.training, Some(&bytes)) {
					let _ = std::fs::remove_file(&path);
					return Err(FetchError::Corrupt(format!(
						"the initial weights do not fit the spec: {e}"
					)));
				}
			}
		}
		Ok(())
	}

	/// Confirms an assignment once the inputs are fetched and verified, or declines it (no
	/// penalty, no blame) when they cannot be had: at once when the server refuses or the bytes
	/// do not match their commitments, else once half the confirmation window has gone by
	/// retrying, so that the decline lands in the window.
	async fn confirm_or_decline(
		&self,
		chain: &Chain,
		order: &Order,
		dir: &OrderDir,
		id: u64,
		spec: &OrderSpec,
		training: &TrainingSpec,
	) -> Result<(), String> {
		if let Some(available) = available_memory() {
			if let Err(why) = fits_in_memory(spec.dataset.artifact.size, training, available) {
				return self.decline(chain, dir, id, &why).await;
			}
		}
		let window = chain.confirm_window(order).await.map_err(|e| e.to_string())?;
		let assigned = order.assigned_at.unwrap_or_default();
		// The chain's confirmation deadline, which never passes the training deadline.
		let deadline = assigned.saturating_add(window).min(order.timetable.training_deadline);
		let halfway = u64::from(assigned + deadline.saturating_sub(assigned) / 2);
		// A store that answers, but too slowly (or with `429` after `429`), must not keep the
		// worker past the point where a decline still lands in the window.
		let fetched = tokio::select! {
			fetched = self.fetch_inputs(dir, id, spec) => fetched,
			() = until_finalized(chain, halfway) => Err(FetchError::Unavailable(format!(
				"the inputs had not all arrived by block {halfway}, half the confirmation window"
			))),
		};
		let error = match fetched {
			Ok(()) => {
				let call = api::tx().training_orders().confirm_assignment(id);
				chain
					.submit(&format!("confirm_assignment {id}"), &call)
					.await
					.map_err(|e| e.to_string())?;
				return Ok(());
			},
			Err(error) => error,
		};
		if !error.is_final() {
			let now = chain.finalized_number().await.map_err(|e| e.to_string())?;
			if now < halfway {
				return Err(format!("cannot fetch the inputs yet, retrying: {error}"));
			}
		}
		self.decline(chain, dir, id, &format!("its inputs cannot be had: {error}")).await
	}

	/// Gives assignment `id` back (no penalty, docs/orders.md) for the reason `why`, and
	/// deletes what was fetched for it.
	async fn decline(
		&self,
		chain: &Chain,
		dir: &OrderDir,
		id: u64,
		why: &str,
	) -> Result<(), String> {
		tracing::warn!(order = id, "declining the assignment: {why}");
		self.metrics.job("declined");
		// Nothing of an order given back is kept.
		let _ = std::fs::remove_dir_all(dir.path());
		let call = api::tx().training_orders().decline_assignment(id);
		chain
			.submit(&format!("decline_assignment {id}"), &call)
			.await
			.map_err(|e| e.to_string())?;
		Ok(())
	}

	/// Starts (or resumes) training order `id` in the background.
	fn start_training(&self, dir: OrderDir, id: u64, spec: &OrderSpec, training: TrainingSpec) {
		let (device, metrics, cheat) =
			(self.config.device, self.metrics.clone(), self.config.cheat);
		let stop = Arc::new(AtomicBool::new(false));
		let stopped = stop.clone();
		let commitment = spec.dataset.clone();
		self.metrics.job("started");
		tracing::info!(order = id, steps = training.steps, ?device, "training");
		let job = tokio::task::spawn_blocking(move || {
			let bytes = std::fs::read(dir.dataset()).map_err(|e| e.to_string())?;
			let data = training::dataset("dataset", &commitment, &bytes)?;
			let weights = std::fs::read(dir.weights()).ok();
			let initial = training::initial_checkpoint(&training, weights.as_deref())?;
			training::run(device, &dir, &training, &data, initial, &metrics, cheat, &stopped)
				.map(|_| ())
		});
		lock(&self.jobs).insert(id, TrainingJob { handle: job, stop });
	}

	/// Whether training of `id` is finished on disk; starts or resumes it otherwise.
	async fn trained(
		&self,
		dir: &OrderDir,
		id: u64,
		spec: &OrderSpec,
		training: TrainingSpec,
	) -> Result<bool, String> {
		let finished = {
			let mut jobs = lock(&self.jobs);
			match jobs.get(&id) {
				Some(job) if !job.handle.is_finished() => return Ok(false),
				Some(_) => jobs.remove(&id),
				None => None,
			}
		};
		if let Some(job) = finished {
			match job.handle.await {
				Ok(Ok(())) => {
					self.metrics.job("finished");
					tracing::info!(order = id, "training finished");
				},
				Ok(Err(_)) if job.stop.load(Ordering::Relaxed) => {
					self.metrics.job("stopped");
					return Err(format!("order {id}: training stopped, the order ended"));
				},
				Ok(Err(e)) => {
					self.metrics.job("failed");
					return Err(format!("order {id}: training failed: {e}"));
				},
				Err(e) => return Err(format!("order {id}: the training task died: {e}")),
			}
		}
		if SavedTrace::load(dir).is_some_and(|t| t.done) {
			return Ok(true);
		}
		self.start_training(dir.clone(), id, spec, training);
		Ok(false)
	}

	/// The commitment of a finished run, from disk.
	fn commitment(
		dir: &OrderDir,
		training: &TrainingSpec,
	) -> Result<(PotCommitment, Vec<Hash256>), String> {
		let trace = SavedTrace::load(dir).ok_or("no trace on disk")?.trace()?;
		let last = (trace.checkpoints.len() as u32).saturating_sub(1);
		let bytes = std::fs::read(dir.checkpoint(last)).map_err(|e| e.to_string())?;
		let last = training::checkpoint_of(training, "last checkpoint", &bytes)?;
		Ok((trace.commitment(&last), trace.checkpoints))
	}

	async fn step_order(&self, chain: &Chain, id: u64) -> Result<(), String> {
		let me = chain.account();
		let Some(order) = chain.order(id).await.map_err(|e| e.to_string())? else { return Ok(()) };
		let Some(slot) = order.workers.0.iter().position(|w| w.account == me) else {
			return Ok(());
		};
		let spec = Chain::spec_of(&order).map_err(|e| e.to_string())?;
		let training = spec.variant(slot as u32).ok_or("no spec for this worker slot")?;
		let dir = OrderDir::new(&self.config.data_dir, id);
		let genesis = format!("{:?}", chain.client.genesis_hash());
		dir.bind(&genesis).map_err(|e| format!("{}: {e}", dir.path().display()))?;
		match order.status {
			OrderStatus::Assigned if !order.workers.0[slot].confirmed => {
				self.confirm_or_decline(chain, &order, &dir, id, &spec, &training).await?;
			},
			OrderStatus::Training => {
				self.fetch_inputs(&dir, id, &spec).await?;
				if self.trained(&dir, id, &spec, training.clone()).await? {
					self.prove(chain, &order, &dir, id, slot as u32, &training).await?;
				}
			},
			// Training is over: a run finished in time is proven; one that did not is never
			// started again (its order moved on without it).
			OrderStatus::Proving | OrderStatus::Validating => {
				if SavedTrace::load(&dir).is_some_and(|trace| trace.done) {
					self.prove(chain, &order, &dir, id, slot as u32, &training).await?;
				}
			},
			_ => {},
		}
		Ok(())
	}

	/// Seals the commitment with a fresh salt (saved first) and commits it.
	async fn commit_proof(
		&self,
		chain: &Chain,
		dir: &OrderDir,
		id: u64,
		commitment: &PotCommitment,
		secrets: &mut Secrets,
	) -> Result<(), String> {
		// One salt per order, kept: a commit retried after a restart must seal the same way.
		let salt = match secrets.proof_salt.as_deref() {
			Some(salt) => decode_hash(salt)?,
			None => {
				let salt = fresh_salt();
				secrets.proof_salt = Some(hex::encode(salt));
				secrets.save(dir)?;
				salt
			},
		};
		let seal = proof::seal(&commitment.hash(), &salt, &chain.account().0);
		let call = api::tx().proof_of_train().commit_proof(id, seal);
		chain.submit(&format!("commit_proof {id}"), &call).await.map_err(|e| e.to_string())?;
		Ok(())
	}

	/// The proof-of-train game from the worker's side.
	async fn prove(
		&self,
		chain: &Chain,
		order: &Order,
		dir: &OrderDir,
		id: u64,
		slot: u32,
		training: &TrainingSpec,
	) -> Result<(), String> {
		let (commitment, checkpoints) = Self::commitment(dir, training)?;
		let mut secrets = Secrets::load(dir);
		// The round starts with the first commit.
		let Some(round) = chain.round(id).await.map_err(|e| e.to_string())? else {
			if matches!(order.status, OrderStatus::Training) {
				return self.commit_proof(chain, dir, id, &commitment, &mut secrets).await;
			}
			return Ok(());
		};
		let Some(mine) = round.workers.0.get(slot as usize) else { return Ok(()) };
		if mine.fault.is_some() {
			return Ok(());
		}
		match &round.phase {
			Phase::Committing if mine.seal.is_none() => {
				self.commit_proof(chain, dir, id, &commitment, &mut secrets).await?;
			},
			Phase::Revealing { .. } if mine.commitment.is_none() && mine.seal.is_some() => {
				let salt = secrets.proof_salt.as_deref().ok_or("the proof's salt is lost")?;
				let call = api::tx().proof_of_train().reveal_proof(
					id,
					convert(&commitment).map_err(|e| e.to_string())?,
					decode_hash(salt)?,
					BoundedVec(checkpoints),
				);
				chain
					.submit(&format!("reveal_proof {id}"), &call)
					.await
					.map_err(|e| e.to_string())?;
			},
			Phase::Reporting { .. } | Phase::RevealingReports { .. } => {
				let revealing = matches!(round.phase, Phase::RevealingReports { .. });
				let tasks =
					chain.tasks_of(id, &chain.account()).await.map_err(|e| e.to_string())?;
				if tasks.is_empty() {
					return Ok(());
				}
				let device = self.config.device;
				let (training, dir_for_report) = (training.clone(), dir.clone());
				let spec = Chain::spec_of(order).map_err(|e| e.to_string())?;
				let make = async move {
					tokio::task::spawn_blocking(move || {
						own_report(device, &dir_for_report, &spec, &training, &checkpoints, &tasks)
					})
					.await
					.map_err(|e| e.to_string())?
				};
				commit_or_reveal_report(chain, dir, id, revealing, make).await?;
			},
			Phase::Refereeing { .. } => {
				use crate::chain::TaskStatus;
				for task in round.tasks.0.iter().filter(|t| t.worker == slot) {
					if matches!(task.status, TaskStatus::Withheld) {
						let bytes = std::fs::read(dir.checkpoint(task.segment))
							.map_err(|e| e.to_string())?;
						let checkpoint = training::checkpoint_of(training, "checkpoint", &bytes)?;
						let canonical = training::canonical_bytes(&checkpoint);
						let call = api::tx().proof_of_train().post_checkpoint(
							id,
							task.segment,
							BoundedVec(canonical),
						);
						chain
							.submit(&format!("post_checkpoint {id} {}", task.segment), &call)
							.await
							.map_err(|e| e.to_string())?;
					}
				}
			},
			_ => {},
		}
		Ok(())
	}
}

/// Memory this machine has for new work (`MemAvailable`), or `None` where it cannot be read.
fn available_memory() -> Option<u64> {
	let info = std::fs::read_to_string("/proc/meminfo").ok()?;
	let line = info.lines().find(|line| line.starts_with("MemAvailable:"))?;
	let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
	kib.checked_mul(1024)
}

/// Whether training `training` on a dataset of `dataset_bytes` fits in `available` bytes: one
/// step (`TrainingSpec::step_memory_bytes`) and the dataset held three times over (its bytes,
/// and its records as f32, up to twice the size of their text). An order that does not fit is
/// declined before it is taken, rather than confirmed and failed.
fn fits_in_memory(
	dataset_bytes: u64,
	training: &TrainingSpec,
	available: u64,
) -> Result<(), String> {
	let need = training.step_memory_bytes().saturating_add(dataset_bytes.saturating_mul(3));
	if need <= available {
		return Ok(());
	}
	Err(format!(
		"training it needs about {} MiB of memory and this machine has {} MiB available",
		need.div_ceil(1 << 20),
		available >> 20
	))
}

/// The worker's own report: for each of its sampled segments, its published end hash and the
/// probe hash at the probe step, re-executed from its own checkpoint.
fn own_report(
	device: Device,
	dir: &OrderDir,
	spec: &OrderSpec,
	training: &TrainingSpec,
	checkpoints: &[Hash256],
	tasks: &[(u32, crate::chain::SegmentCheck)],
) -> Result<Report, String> {
	let bytes = std::fs::read(dir.dataset()).map_err(|e| e.to_string())?;
	let data = training::dataset("dataset", &spec.dataset, &bytes)?;
	let mut claims = Vec::new();
	// Every checker of a segment has the same probe step: one re-execution per segment, as
	// the chain's report window counts them.
	let mut probes = std::collections::BTreeMap::new();
	for (_, task) in tasks {
		let end =
			*checkpoints.get(task.segment as usize + 1).ok_or("task past the last checkpoint")?;
		let probe = match probes.get(&(task.segment, task.probe_step)) {
			Some(probe) => *probe,
			None => {
				let bytes =
					std::fs::read(dir.checkpoint(task.segment)).map_err(|e| e.to_string())?;
				let from = training::checkpoint_of(training, "checkpoint", &bytes)?;
				let (_, probe) = training::probe(device, training, &data, &from, task.probe_step)
					.map_err(|e| e.to_string())?;
				probes.insert((task.segment, task.probe_step), probe);
				probe
			},
		};
		claims.push(Claim::Computed { end, probe });
	}
	Ok(Report {
		claims: claims.try_into().map_err(|_| "too many claims")?,
		metrics: Default::default(),
	})
}

impl Role for Worker {
	async fn setup(&mut self, chain: &Chain) -> Result<(), String> {
		let config = &self.orders.config;
		register(
			chain,
			crate::chain::RoleKind::Worker,
			&config.public_url,
			config.device,
			config.capacity,
		)
		.await
	}

	/// Starts a task for every assigned order that has none running, stops the training of
	/// orders that ended and drops the tasks of orders no longer assigned. Each task logs its
	/// own errors; a node that fails shows in reading the assignments.
	async fn tick(&mut self, chain: &Chain) -> Result<(), String> {
		let me: AccountId = chain.account();
		let assigned = chain.assignments_of(&me).await.map_err(|e| e.to_string())?;
		self.orders.stop_ended(chain, &assigned).await;
		self.steps.retain(|id, task| {
			if !assigned.contains(id) {
				task.abort();
			}
			assigned.contains(id) && !task.is_finished()
		});
		for id in assigned {
			if self.steps.contains_key(&id) {
				continue;
			}
			let (orders, chain) = (self.orders.clone(), chain.clone());
			let task = tokio::spawn(async move {
				let _ = logged(id, orders.step_order(&chain, id).await);
			});
			self.steps.insert(id, task);
		}
		self.sweeper.sweep(chain, &self.orders.config.data_dir, retention::Role::Worker).await;
		Ok(())
	}
}

/// Registers the account in the worker or validator pool (capacity measured unless given),
/// or updates its endpoint if it moved.
pub async fn register(
	chain: &Chain,
	role: crate::chain::RoleKind,
	public_url: &str,
	device: Device,
	capacity: Option<u32>,
) -> Result<(), String> {
	let me = chain.account();
	match chain.participant(&me).await.map_err(|e| e.to_string())? {
		Some(participant) => {
			if participant.endpoint.0 != public_url.as_bytes() {
				let call = api::tx()
					.compute_staking()
					.set_endpoint(BoundedVec(public_url.as_bytes().to_vec()));
				chain.submit("set_endpoint", &call).await.map_err(|e| e.to_string())?;
			}
		},
		None => {
			let capacity = match capacity {
				Some(capacity) => capacity,
				None => {
					let measured = tokio::task::spawn_blocking(move || training::calibrate(device))
						.await
						.map_err(|e| e.to_string())?
						.map_err(|e| format!("calibration failed: {e}"))?;
					tracing::info!(gflops = measured, "calibrated");
					measured
				},
			};
			let bond = chain.required_bond(capacity).await.map_err(|e| e.to_string())?;
			let device_text = BoundedVec(device.describe().into_bytes());
			let endpoint = BoundedVec(public_url.as_bytes().to_vec());
			let staking = api::tx().compute_staking();
			let (what, result) = match role {
				crate::chain::RoleKind::Worker => (
					"register_worker",
					chain
						.submit(
							"register_worker",
							&staking.register_worker(capacity, device_text, endpoint, bond),
						)
						.await,
				),
				crate::chain::RoleKind::Validator => (
					"register_validator",
					chain
						.submit(
							"register_validator",
							&staking.register_validator(capacity, device_text, endpoint, bond),
						)
						.await,
				),
			};
			result.map_err(|e| e.to_string())?;
			tracing::info!(capacity, bond, "{what}: registered");
		},
	}
	Ok(())
}

/// Returns once the chain has finalized block `block` (checked every 2 s; a failing node only
/// delays it).
async fn until_finalized(chain: &Chain, block: u64) {
	loop {
		if chain.finalized_number().await.is_ok_and(|now| now >= block) {
			return;
		}
		tokio::time::sleep(std::time::Duration::from_secs(2)).await;
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use decenter_primitives::spec::{Activation, Fixed9, Loss, ModelSpec, Optimizer, Schedule};

	fn spec(width: u32) -> TrainingSpec {
		TrainingSpec {
			model: ModelSpec {
				inputs: 64,
				hidden: vec![width, width].try_into().expect("two layers"),
				outputs: 10,
				activation: Activation::Relu,
				loss: Loss::SoftmaxCrossEntropy,
			},
			optimizer: Optimizer::Sgd,
			learning_rate: Fixed9(1),
			schedule: Schedule::Constant,
			batch_size: 1_024,
			steps: 10,
			seed: 1,
			checkpoint_interval: 10,
			initialization: Initialization::Seeded,
		}
	}

	/// A spec that would not fit is refused with what it needs and what the machine has; one
	/// that fits is taken.
	#[test]
	fn an_order_too_big_for_this_machines_memory_is_refused_before_it_is_taken() {
		let gib = 1u64 << 30;
		assert_eq!(fits_in_memory(200_000, &spec(128), gib), Ok(()));
		// 16,384-wide layers: 269M parameters × 16 bytes, over 4 GiB.
		let refused = fits_in_memory(200_000, &spec(16_384), 4 * gib).unwrap_err();
		assert!(
			refused.contains("MiB of memory") && refused.contains("4096 MiB available"),
			"{refused}"
		);
		// The dataset counts too: 2 GiB of text is too much for 4 GiB.
		assert!(fits_in_memory(2 * gib, &spec(128), 4 * gib).is_err());
		assert!(available_memory().is_some_and(|bytes| bytes > 0), "/proc/meminfo is readable");
	}
}

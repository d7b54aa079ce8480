//! The client role: upload datasets and weights to the local store (served by `decenter
//! serve`), grant them to other accounts' orders, create an order from a spec file, watch it
//! to the end with a progress bar and the loss curve, download an order's artifacts and the
//! certified model, and show certificates.

use std::{path::Path, time::Duration};

use decenter_primitives::{
	order::{DatasetCommitment, LabelLayout, OrderSpec, Workload},
	proof::model_hash,
	spec::{
		Activation, ArtifactCommitment, Fixed9, Initialization, Loss, ModelSpec, Optimizer,
		Schedule, TrainingSpec,
	},
	Hash256,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::{
	chain::{Certificate, Chain, OrderStatus},
	fetch::{trained_work_bytes, Fetcher, PROGRESS_BYTES},
	grant,
	runtime::{api, convert},
	store::{parse_root, ArtifactStore},
	tls::Identity,
	training,
	workdir::Progress,
};

/// One DCEN in planck.
pub const DCEN: u128 = 1_000_000_000_000;

/// What `upload` records about a stored artifact, next to it in the store.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Uploaded {
	pub root: String,
	pub size: u64,
	/// Where the order tells others to fetch it.
	pub location: String,
	/// Datasets: records, features and the label layout; absent for weights.
	pub records: Option<u64>,
	pub features: Option<u32>,
	pub classes: Option<u32>,
	pub targets: Option<u32>,
}

impl Uploaded {
	fn commitment(&self) -> Result<ArtifactCommitment, String> {
		Ok(ArtifactCommitment {
			root: parse_root(&self.root).ok_or("bad root in the store index")?,
			size: self.size,
			location: self.location.as_bytes().to_vec().try_into().map_err(|_| {
				format!(
					"the location `{}` is {} bytes; the chain takes at most {}: serve the store \
					 under a shorter host name",
					self.location,
					self.location.len(),
					decenter_primitives::spec::MAX_LOCATION_LEN
				)
			})?,
		})
	}

	fn dataset(&self) -> Result<DatasetCommitment, String> {
		let label = match (self.classes, self.targets) {
			(Some(classes), None) => LabelLayout::Class { classes },
			(None, Some(width)) => LabelLayout::Targets { width },
			_ => {
				return Err(format!("{} is not a dataset (upload it without --weights)", self.root))
			},
		};
		Ok(DatasetCommitment {
			artifact: self.commitment()?,
			records: self.records.ok_or("no record count")?,
			features: self.features.ok_or("no feature count")?,
			label,
		})
	}

	/// The upload named by its root, by the path (relative to `base`) of the uploaded file,
	/// or by the path of a record file ending in `.json` (what `decenter grant` writes).
	fn load(store: &Path, base: &Path, name: &str) -> Result<Uploaded, String> {
		if name.ends_with(".json") {
			let path = base.join(name);
			let bytes =
				std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
			return serde_json::from_slice(&bytes)
				.map_err(|e| format!("{} is not an artifact record: {e}", path.display()));
		}
		let root = match parse_root(name) {
			Some(root) => root,
			None => {
				let path = base.join(name);
				let bytes = std::fs::read(&path).map_err(|e| {
					format!("`{name}` is neither a root (64 hex digits) nor a readable file: {e}")
				})?;
				decenter_primitives::proof::chunk_root(&bytes)
			},
		};
		let path = store.join(format!("{}.json", hex::encode(root)));
		let bytes = std::fs::read(&path).map_err(|_| {
			format!("{} was not uploaded to {}", hex::encode(root), store.display())
		})?;
		serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
	}
}

/// How labels are read from an uploaded dataset.
#[derive(Clone, Copy, Debug)]
pub enum LabelKind {
	/// Class indices in the last column; the class count is `Some` or inferred.
	Classes(Option<u32>),
	/// This many regression targets in the last columns.
	Targets(u32),
	/// Not a dataset: initial weights (safetensors).
	Weights,
}

/// Stores `file` and returns what an order needs to name it.
pub fn upload(
	store: &ArtifactStore,
	store_dir: &Path,
	file: &Path,
	base_url: &str,
	label: LabelKind,
) -> Result<Uploaded, String> {
	let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
	let source = file.display().to_string();
	if bytes.is_empty() {
		return Err(format!("{source} is empty"));
	}
	let (records, features, classes, targets) = match label {
		LabelKind::Weights => (None, None, None, None),
		LabelKind::Classes(given) => {
			let data = training::parse_dataset(&source, LabelLayout::Class { classes: 0 }, &bytes)?;
			let largest = data.targets.iter().fold(0f32, |a, &b| a.max(b)) as u32;
			let classes = given.unwrap_or(largest + 1);
			if largest >= classes {
				return Err(format!("{source} has label {largest}, but --classes is {classes}"));
			}
			(Some(data.records as u64), Some(data.feature_width as u32), Some(classes), None)
		},
		LabelKind::Targets(width) => {
			let data = training::parse_dataset(&source, LabelLayout::Targets { width }, &bytes)?;
			(Some(data.records as u64), Some(data.feature_width as u32), None, Some(width))
		},
	};
	let location = Identity::load_or_create(store_dir)?.url(base_url)?;
	let artifact = store.put(bytes)?;
	let root = hex::encode(artifact.root());
	let uploaded = Uploaded {
		location,
		root: root.clone(),
		size: artifact.size(),
		records,
		features,
		classes,
		targets,
	};
	uploaded.commitment()?;
	let index = serde_json::to_vec_pretty(&uploaded).map_err(|e| e.to_string())?;
	std::fs::write(store_dir.join(format!("{root}.json")), index).map_err(|e| e.to_string())?;
	Ok(uploaded)
}

/// The record of an artifact of the store granted to the orders of `grantee` (SS58 or 0x
/// hex): the upload's record with the owner's signed grant in its location.
pub fn grant(
	owner: &subxt_signer::sr25519::Keypair,
	store_dir: &Path,
	root: &str,
	grantee: &str,
	base_url: &str,
) -> Result<Uploaded, String> {
	let parsed = parse_root(root).ok_or("the root must be 64 hex digits")?;
	let grantee: [u8; 32] = match grantee.strip_prefix("0x") {
		Some(hex) => hex::decode(hex).ok().and_then(|bytes| bytes.try_into().ok()),
		None => grantee.parse::<subxt::utils::AccountId32>().ok().map(|account| account.0),
	}
	.ok_or_else(|| format!("`{grantee}` is neither an SS58 address nor 0x and 64 hex digits"))?;
	let path = store_dir.join(format!("{}.json", hex::encode(parsed)));
	let bytes = std::fs::read(&path)
		.map_err(|_| format!("{root} was not uploaded to {}", store_dir.display()))?;
	let mut record: Uploaded =
		serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
	ArtifactStore::open(store_dir, u64::MAX)?.claim_owner(&owner.public_key().0)?;
	let signature = grant::sign(owner, &parsed, &grantee);
	record.location =
		format!("{}&grant={}", Identity::load(store_dir)?.url(base_url)?, hex::encode(signature));
	// Checked here so that the grantee does not learn it from a refused order.
	record.commitment()?;
	Ok(record)
}

/// An order as a client writes it (JSON).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderFile {
	/// Hidden layer widths.
	pub hidden: Vec<u32>,
	#[serde(default)]
	pub activation: ActivationFile,
	pub optimizer: OptimizerFile,
	pub learning_rate: f64,
	#[serde(default)]
	pub schedule: ScheduleFile,
	pub batch_size: u32,
	pub steps: u32,
	pub seed: u64,
	pub checkpoint_interval: u32,
	/// The uploaded training set: its root, or the path of the uploaded file (relative to
	/// the spec file).
	pub dataset: String,
	/// The uploaded validation set, likewise.
	pub validation: String,
	/// Uploaded initial weights (fine-tuning), likewise.
	#[serde(default)]
	pub initial_weights: Option<String>,
	/// Workers training the same spec independently.
	#[serde(default = "one")]
	pub replicas: u32,
	/// GFLOP/s each worker must have free.
	pub capacity: u32,
	/// Budget in DCEN.
	pub budget: u128,
	/// Start this many blocks after the finalized head (scheduled training); in the block after
	/// the order is included if absent.
	#[serde(default)]
	pub start_in_blocks: Option<u32>,
	/// Blocks from the start by which workers must deliver their proofs; when absent, the
	/// shortest window the chain accepts for this spec and capacity
	/// (`TrainingOrdersApi::quote`) plus two assignment retries, so that the order can be drawn
	/// again if too few workers are free or a drawn worker declines.
	#[serde(default)]
	pub training_blocks: Option<u32>,
	/// Blocks after the training deadline by which validation must be done; the chain's
	/// shortest validation window for this spec (the time the proof-of-train game and its
	/// checkers' work may take, `TrainingOrdersApi::quote`) when absent.
	#[serde(default)]
	pub validation_blocks: Option<u32>,
}

fn one() -> u32 {
	1
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationFile {
	#[default]
	Relu,
	Tanh,
}

// Externally tagged (`"sgd"`, `{"adam": {...}}`): an internally tagged enum buffers its
// fields, which fails for numbers when serde_json's `arbitrary_precision` is on (as it is in
// this workspace through polkadot-sdk).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerFile {
	Sgd,
	Momentum { momentum: f64 },
	Adam { beta1: f64, beta2: f64, epsilon: f64 },
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum ScheduleFile {
	#[default]
	Constant,
	StepDecay {
		every: u32,
		factor: f64,
	},
	WarmupLinearDecay {
		warmup: u32,
	},
}

fn fixed(name: &str, value: f64) -> Result<Fixed9, String> {
	let scaled = (value * 1e9).round();
	if !(0.0..=u32::MAX as f64).contains(&scaled) {
		return Err(format!("{name} = {value} is outside 0 ..= 4.29"));
	}
	Ok(Fixed9(scaled as u32))
}

impl OrderFile {
	pub fn read(path: &Path) -> Result<OrderFile, String> {
		let text = std::fs::read_to_string(path)
			.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
		serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
	}

	/// The order spec, with the datasets looked up in the store's upload index (file paths
	/// relative to `base`).
	pub fn spec(&self, store: &Path, base: &Path) -> Result<OrderSpec, String> {
		let dataset = Uploaded::load(store, base, &self.dataset)?.dataset()?;
		let validation = Uploaded::load(store, base, &self.validation)?.dataset()?;
		let (outputs, loss) = match dataset.label {
			LabelLayout::Class { classes } => (classes, Loss::SoftmaxCrossEntropy),
			LabelLayout::Targets { width } => (width, Loss::MeanSquaredError),
		};
		let initialization = match &self.initial_weights {
			Some(name) => {
				Initialization::Uploaded(Uploaded::load(store, base, name)?.commitment()?)
			},
			None => Initialization::Seeded,
		};
		let weights = match &initialization {
			Initialization::Uploaded(weights) => Some(weights.root),
			Initialization::Seeded => None,
		};
		let spec = OrderSpec {
			training: TrainingSpec {
				model: ModelSpec {
					inputs: dataset.features,
					hidden: self.hidden.clone().try_into().map_err(|_| "too many hidden layers")?,
					outputs,
					activation: match self.activation {
						ActivationFile::Relu => Activation::Relu,
						ActivationFile::Tanh => Activation::Tanh,
					},
					loss,
				},
				optimizer: match self.optimizer {
					OptimizerFile::Sgd => Optimizer::Sgd,
					OptimizerFile::Momentum { momentum } => {
						Optimizer::Momentum { momentum: fixed("momentum", momentum)? }
					},
					OptimizerFile::Adam { beta1, beta2, epsilon } => Optimizer::Adam {
						beta1: fixed("beta1", beta1)?,
						beta2: fixed("beta2", beta2)?,
						epsilon: fixed("epsilon", epsilon)?,
					},
				},
				learning_rate: fixed("learning_rate", self.learning_rate)?,
				schedule: match self.schedule {
					ScheduleFile::Constant => Schedule::Constant,
					ScheduleFile::StepDecay { every, factor } => {
						Schedule::StepDecay { every, factor: fixed("factor", factor)? }
					},
					ScheduleFile::WarmupLinearDecay { warmup } => {
						Schedule::WarmupLinearDecay { warmup }
					},
				},
				batch_size: self.batch_size,
				steps: self.steps,
				seed: self.seed,
				checkpoint_interval: self.checkpoint_interval,
				initialization,
			},
			dataset,
			validation,
			workload: Workload::Replicas(self.replicas),
		};
		spec.validate().map_err(|e| format!("the order is not acceptable: {e:?}"))?;
		// Weights in this store are checked against the model now, not by the workers later.
		let stored = weights.and_then(|root| std::fs::read(store.join(hex::encode(root))).ok());
		if let Some(bytes) = stored {
			training::initial_checkpoint(&spec.training, Some(&bytes))
				.map_err(|e| format!("the initial weights do not fit this order's model: {e}"))?;
		}
		Ok(spec)
	}
}

/// Draws a default training window leaves room for after the first: one if the first finds
/// too few workers or a drawn worker declines, one more if that happens again.
const REDRAWS: u32 = 2;

/// The order file's training and validation windows, checked against the chain's quote for
/// this spec and capacity (`TrainingOrdersApi::quote`), so that a window the chain would
/// refuse is explained, with its bound, before anything is signed. A validation window left
/// out is the shortest the chain accepts; a training window left out is the shortest plus
/// `REDRAWS` assignment retries (within the longest), since an order with the shortest window
/// cannot be drawn again once its start has passed.
async fn windows(
	chain: &Chain,
	file: &OrderFile,
	spec: &OrderSpec,
	margin: u32,
) -> Result<(u32, u32), String> {
	let quote = chain
		.quote(spec, file.capacity)
		.await
		.map_err(|e| format!("cannot ask the chain for a quote: {e}"))?
		.map_err(|e| {
			format!(
				"the chain refuses this spec at {} GFLOP/s per worker ({e}): the capacity must \
				 be between 1 and the staking pallet's MaxCapacity, the spec within the chain's \
				 bounds, and the work must fit in the longest training window",
				file.capacity
			)
		})?;
	let at = chain.at().await.map_err(|e| e.to_string())?;
	let retry = at
		.constants()
		.entry(api::constants().training_orders().assignment_retry())
		.map_err(|e| format!("cannot read the chain's assignment retry: {e}"))?;
	let pick =
		|name: &str, given: Option<u32>, slack: u32, min: u32, max: u32, why: &str| match given {
			None => Ok(min.saturating_add(slack).min(max).max(min)),
			Some(blocks) if blocks < min => Err(format!(
			"{name} is {blocks}, below the chain's minimum of {min} blocks for this order ({why}): \
			 raise it, or leave it out to use the minimum"
		)),
			Some(blocks) if blocks > max => Err(format!(
				"{name} is {blocks}, above the chain's maximum of {max} blocks: lower it"
			)),
			Some(blocks) => Ok(blocks),
		};
	let training = pick(
		"training_blocks",
		file.training_blocks,
		REDRAWS.saturating_mul(retry),
		quote.min_training_window,
		quote.max_training_window.saturating_sub(margin),
		"fetching the inputs, a multiple of the compute time at this capacity, and delivering \
		 the proof",
	)?;
	let validation = pick(
		"validation_blocks",
		file.validation_blocks,
		0,
		quote.min_validation_window,
		quote.max_validation_window,
		"the time the proof-of-train game and its checkers' work on this spec may take",
	)?;
	Ok((training, validation))
}

/// Blocks an unscheduled order's training deadline leaves beyond its window: the finalized
/// head, which deadlines are counted from, lags the best block, and inclusion takes time.
const INCLUSION_BLOCKS: u32 = 20;

/// Creates the order; returns its id.
pub async fn create_order(chain: &Chain, file: &OrderFile, spec: OrderSpec) -> Result<u64, String> {
	let now = chain.finalized_number().await.map_err(|e| e.to_string())? as u32;
	// A scheduled order's window counts from its start block; an unscheduled one starts in the
	// block after the one that includes it, so its deadline leaves the finalized head's lag and
	// the time to inclusion on top of the window.
	let margin = if file.start_in_blocks.is_some() { 0 } else { INCLUSION_BLOCKS };
	let (training, validation) = windows(chain, file, &spec, margin).await?;
	let start_at = file.start_in_blocks.map(|blocks| now.saturating_add(blocks));
	let training_deadline = start_at.unwrap_or(now).saturating_add(margin).saturating_add(training);
	let validation_deadline = training_deadline.saturating_add(validation);
	let call = api::tx().training_orders().create_order(
		convert(&spec).map_err(|e| e.to_string())?,
		file.capacity,
		start_at,
		training_deadline,
		validation_deadline,
		file.budget.saturating_mul(DCEN),
	);
	let events = chain.submit_finalized("create_order", &call).await.map_err(|e| e.to_string())?;
	let created = events
		.find_first::<api::training_orders::events::OrderCreated>()
		.ok_or("no OrderCreated event")?
		.map_err(|e| e.to_string())?;
	Ok(created.order)
}

/// How an order ended, as `order watch` saw it.
pub struct Outcome {
	pub status: String,
	pub certificate: Option<(u32, Certificate)>,
	pub losses: Vec<f32>,
}

fn status_name(status: &OrderStatus) -> String {
	format!("{status:?}")
}

/// The progress of each worker of the order (client's view).
async fn worker_progress(
	chain: &Chain,
	fetcher: &Fetcher,
	id: u64,
	workers: &[crate::chain::AccountId],
) -> Vec<Progress> {
	let mut all = Vec::new();
	for worker in workers {
		let Ok(base) = chain.endpoint_of(worker).await else { continue };
		if let Ok(bytes) =
			fetcher.get(&base, &format!("/orders/{id}/progress"), PROGRESS_BYTES).await
		{
			if let Ok(progress) = serde_json::from_slice::<Progress>(&bytes) {
				all.push(progress);
			}
		}
	}
	all
}

/// Follows order `id` until it is final, showing its state and the workers' training.
pub async fn watch(
	chain: &Chain,
	fetcher: &Fetcher,
	id: u64,
	png: Option<&Path>,
) -> Result<Outcome, String> {
	let bar = ProgressBar::new(1);
	bar.set_style(
		ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps {msg}")
			.map_err(|e| e.to_string())?
			.progress_chars("=> "),
	);
	let mut last_state = String::new();
	let mut losses = Vec::new();
	loop {
		let order = existing_order(chain, id).await?;
		let block = chain.finalized_number().await.map_err(|e| e.to_string())?;
		let round = chain.round(id).await.map_err(|e| e.to_string())?;
		// The phase's name, without its window.
		let phase = round
			.as_ref()
			.and_then(|r| format!("{:?}", r.phase).split_whitespace().next().map(str::to_string))
			.map(|name| format!(" (proof of train: {name})"))
			.unwrap_or_default();
		let state = format!("{}{phase}", status_name(&order.status));
		if state != last_state {
			let line = format!("block #{block}: order {id} {state}");
			if bar.is_hidden() {
				println!("{line}");
			} else {
				bar.println(line);
			}
			last_state = state;
		}
		let workers: Vec<_> = order.workers.0.iter().map(|w| w.account.clone()).collect();
		if matches!(
			order.status,
			OrderStatus::Training | OrderStatus::Proving | OrderStatus::Validating
		) {
			if let Some(progress) = worker_progress(chain, fetcher, id, &workers)
				.await
				.into_iter()
				.min_by_key(|p| p.step)
			{
				bar.set_prefix(format!("training on {}", progress.device));
				bar.set_length(u64::from(progress.steps));
				bar.set_position(u64::from(progress.step));
				if let Some(loss) = progress.losses.last() {
					bar.set_message(format!("loss {loss:.4}"));
				}
				losses = progress.losses;
			}
		}
		let final_status = matches!(
			order.status,
			OrderStatus::Completed
				| OrderStatus::Failed
				| OrderStatus::Expired
				| OrderStatus::Cancelled
		);
		if final_status {
			bar.finish_and_clear();
			if let Some(progress) =
				worker_progress(chain, fetcher, id, &workers).await.into_iter().next()
			{
				losses = progress.losses;
			}
			let certificate = model_certificate(chain, id, &order.client).await?;
			if let (Some(png), false) = (png, losses.is_empty()) {
				decenter_engine::plot::loss_curve_png(
					&losses,
					png,
					&format!("order {id}: training loss"),
				)
				.map_err(|e| e.to_string())?;
			}
			return Ok(Outcome { status: status_name(&order.status), certificate, losses });
		}
		tokio::time::sleep(Duration::from_secs(2)).await;
	}
}

/// The model certificate of order `id`, issued to `client`.
pub async fn model_certificate(
	chain: &Chain,
	id: u64,
	client: &crate::chain::AccountId,
) -> Result<Option<(u32, Certificate)>, String> {
	use api::runtime_types::pallet_certificates::types::CertificateKind;
	for cert in chain.certificates_of(client).await.map_err(|e| e.to_string())? {
		if let Some(certificate) = chain.certificate(cert).await.map_err(|e| e.to_string())? {
			if certificate.record.order == id && matches!(certificate.kind, CertificateKind::Model)
			{
				return Ok(Some((cert, certificate)));
			}
		}
	}
	Ok(None)
}

/// One of the input artifacts an order names.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ArtifactKind {
	Dataset,
	Validation,
	Weights,
}

/// Order `id`, which must exist.
async fn existing_order(chain: &Chain, id: u64) -> Result<crate::chain::Order, String> {
	chain.order(id).await.map_err(|e| e.to_string())?.ok_or(format!("there is no order {id}"))
}

/// Downloads artifact `which` of order `id` from where the order locates it, verified against
/// its root, into `out`; returns its size.
pub async fn download_artifact(
	chain: &Chain,
	fetcher: &Fetcher,
	id: u64,
	which: ArtifactKind,
	out: &Path,
) -> Result<u64, String> {
	let order = existing_order(chain, id).await?;
	let spec = Chain::spec_of(&order).map_err(|e| e.to_string())?;
	let commitment = match (which, &spec.training.initialization) {
		(ArtifactKind::Dataset, _) => &spec.dataset.artifact,
		(ArtifactKind::Validation, _) => &spec.validation.artifact,
		(ArtifactKind::Weights, Initialization::Uploaded(weights)) => weights,
		(ArtifactKind::Weights, Initialization::Seeded) => {
			return Err(format!("order {id} starts from seeded weights, not uploaded ones"))
		},
	};
	let bytes = fetcher.artifact(id, commitment).await?;
	std::fs::write(out, &bytes).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
	Ok(commitment.size)
}

/// Downloads the certified model of order `id` from one of its workers into `out`, checking it
/// hashes to the certificate's model hash. Returns the hash.
pub async fn download_model(
	chain: &Chain,
	fetcher: &Fetcher,
	id: u64,
	out: &Path,
) -> Result<Hash256, String> {
	let order = existing_order(chain, id).await?;
	let (_, certificate) = model_certificate(chain, id, &order.client)
		.await?
		.ok_or(format!("order {id} has no model certificate (is it completed?)"))?;
	let spec = Chain::spec_of(&order).map_err(|e| e.to_string())?;
	let mut errors = Vec::new();
	for (slot, worker) in order.workers.0.iter().enumerate() {
		let attempt = async {
			let training = spec.variant(slot as u32).ok_or("no spec for the slot")?;
			let base = chain.endpoint_of(&worker.account).await.map_err(|e| e.to_string())?;
			let limit = trained_work_bytes(&training);
			let bytes = fetcher.get(&base, &format!("/orders/{id}/model"), limit).await?;
			let parameters = training::model_parameters(&training, &bytes)?;
			let views: Vec<&[f32]> = parameters.iter().map(Vec::as_slice).collect();
			if model_hash(&views) != certificate.record.model_hash {
				return Err("its model is not the certified one".to_string());
			}
			std::fs::write(out, &bytes)
				.map_err(|e| format!("cannot write {}: {e}", out.display()))?;
			Ok::<_, String>(())
		};
		match attempt.await {
			Ok(()) => return Ok(certificate.record.model_hash),
			Err(e) => errors.push(format!("worker {slot}: {e}")),
		}
	}
	Err(format!("no worker served the certified model: {}", errors.join("; ")))
}

/// A certificate, in words.
pub fn describe(id: u32, certificate: &Certificate) -> String {
	let metrics = &certificate.record.metrics;
	format!(
		"certificate {id}: {:?} certificate of order {}\n  recipient   {}\n  model hash  0x{}\n  PoT root    0x{}\n  loss        {:.6}\n  accuracy    {:.4}\n  issued at   block #{}",
		certificate.kind,
		certificate.record.order,
		certificate.recipient,
		hex::encode(certificate.record.model_hash),
		hex::encode(certificate.record.pot_root),
		metrics.loss as f64 / 1e9,
		f64::from(metrics.accuracy) / 1e6,
		certificate.issued_at,
	)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_example_order_file_reads() {
		let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
			.join("../../examples/digits-order.json");
		let file = OrderFile::read(&path).unwrap();
		assert!(matches!(file.optimizer, OptimizerFile::Adam { beta1, .. } if beta1 == 0.9));
		assert!(matches!(file.schedule, ScheduleFile::Constant));
		assert_eq!((file.steps, file.replicas, file.budget), (300, 2, 100));
		// Windows left out: the shortest the chain quotes for the spec.
		assert_eq!((file.training_blocks, file.validation_blocks), (None, None));
		let decay: OrderFile = serde_json::from_str(
			&std::fs::read_to_string(&path)
				.unwrap()
				.replace("\"constant\"", "{\"step-decay\": {\"every\": 100, \"factor\": 0.5}}"),
		)
		.unwrap();
		assert!(matches!(decay.schedule, ScheduleFile::StepDecay { every: 100, .. }));
		assert!(fixed("learning_rate", 5.0).is_err());
	}

	#[test]
	fn weights_that_do_not_fit_the_model_are_refused_before_signing() {
		let dir = std::env::temp_dir().join(format!(
			"decenter-weights-{}-{}",
			std::process::id(),
			rand::random::<u32>()
		));
		let store_dir = dir.join("store");
		let store = ArtifactStore::open(&store_dir, 1 << 30).unwrap();
		std::fs::write(dir.join("train.csv"), "1,2,0\n3,4,1\n5,6,0\n").unwrap();
		let url = "https://127.0.0.1:8700";
		upload(&store, &store_dir, &dir.join("train.csv"), url, LabelKind::Classes(Some(2)))
			.unwrap();
		// Weights of a 2-3-2 model.
		let shapes = decenter_engine::model::Shapes { widths: vec![2, 3, 2] };
		let parameters = vec![vec![0.1; 6], vec![0.0; 3], vec![0.1; 6], vec![0.0; 2]];
		let bytes = decenter_engine::data::model_to_safetensors(&shapes, &parameters).unwrap();
		std::fs::write(dir.join("weights.safetensors"), bytes).unwrap();
		upload(&store, &store_dir, &dir.join("weights.safetensors"), url, LabelKind::Weights)
			.unwrap();
		let order = |hidden: u32| -> OrderFile {
			serde_json::from_value(serde_json::json!({
				"hidden": [hidden],
				"optimizer": "sgd",
				"learning_rate": 0.1,
				"batch_size": 1,
				"steps": 10,
				"seed": 1,
				"checkpoint_interval": 5,
				"dataset": "train.csv",
				"validation": "train.csv",
				"initial_weights": "weights.safetensors",
				"capacity": 1,
				"budget": 10,
			}))
			.unwrap()
		};
		let error = order(4).spec(&store_dir, &dir).unwrap_err();
		assert!(error.contains("do not fit this order's model"), "{error}");
		assert!(error.contains("layers.0.weight"), "{error}");
		assert!(order(3).spec(&store_dir, &dir).is_ok());
	}
}

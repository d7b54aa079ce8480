//! `decenter`: the program GPU owners, validators and clients run against a DeCenter chain.
//!
//! - `decenter worker` / `decenter validator`: the daemons (with their artifact servers);
//! - `decenter serve`, `upload`, `grant`, `order create|watch`, `artifact download`,
//!   `model download`, `certificate show`: the client;
//! - `decenter demo`: a dev chain, a client, two workers and two validators training the
//!   digits MLP from upload to certificate.

mod access;
mod auth;
mod chain;
mod client;
mod daemon;
mod demo;
mod fetch;
mod grant;
mod keys;
mod limits;
mod metrics;
mod retention;
mod runtime;
mod server;
mod store;
mod tls;
mod training;
mod validator;
mod workdir;
mod worker;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use clap::{Args, Parser, Subcommand};
use subxt_signer::sr25519::Keypair;

use crate::{
	chain::Chain,
	fetch::Fetcher,
	metrics::Metrics,
	server::{AccessList, ChainSlot, ServerState, WorkerOutputs},
	store::ArtifactStore,
	tls::Identity,
	training::{Device, DeviceChoice, SkipAfter},
};

#[derive(Parser)]
#[command(name = "decenter", version, about = "Worker, validator and client of a DeCenter chain")]
struct Cli {
	/// WebSocket RPC endpoint of a DeCenter node.
	#[arg(long, global = true, env = "DECENTER_NODE_URL", default_value = "ws://127.0.0.1:9944")]
	node: String,
	#[command(subcommand)]
	command: Command,
}

#[derive(Args, Clone)]
struct KeyArgs {
	/// Secret URI of the signing account (dev chains: //Alice, //Bob, ...).
	#[arg(long, env = "DECENTER_SURI", hide_env_values = true)]
	suri: Option<String>,
	/// File holding the secret phrase or URI (a `decenter-node key insert` keystore file).
	#[arg(long)]
	keystore_file: Option<PathBuf>,
}

impl KeyArgs {
	fn load(&self) -> Result<Arc<Keypair>, String> {
		keys::load(self.suri.as_deref(), self.keystore_file.as_deref()).map(Arc::new)
	}
}

#[derive(Args, Clone)]
struct DaemonArgs {
	#[command(flatten)]
	key: KeyArgs,
	/// Address the artifact and metrics server listens on.
	#[arg(long, default_value = "127.0.0.1:8700")]
	listen: SocketAddr,
	/// https://HOST:PORT others reach that server at; registered on chain with the pin of the
	/// server's certificate appended. Defaults to https://LISTEN.
	#[arg(long)]
	public_url: Option<String>,
	/// Where orders' data, checkpoints and salts are kept.
	#[arg(long)]
	data_dir: PathBuf,
	/// Where to train and re-execute: auto (GPU 0 if one opens, else the CPU), cpu, cuda (GPU
	/// 0) or cuda:N.
	#[arg(long, default_value = "auto")]
	device: DeviceChoice,
	/// Declared capacity in GFLOP/s; measured by a one-second calibration run when absent.
	#[arg(long)]
	capacity: Option<u32>,
}

impl DaemonArgs {
	/// The registered URL: the public base with the certificate's pin.
	fn public_url(&self, identity: &Identity) -> Result<String, String> {
		let base = self.public_url.clone().unwrap_or_else(|| format!("https://{}", self.listen));
		identity.url(&base).map_err(|e| format!("--public-url: {e}"))
	}
}

#[derive(Subcommand)]
enum Command {
	/// Run a worker: register, train assigned orders, prove them, serve checkpoints.
	Worker {
		#[command(flatten)]
		daemon: DaemonArgs,
		/// Adversarial testing only: stop training at this step and fake the rest.
		#[arg(long, hide = true)]
		skip_training_after: Option<u32>,
	},
	/// Run a validator: register, re-execute sampled segments, evaluate, report.
	Validator {
		#[command(flatten)]
		daemon: DaemonArgs,
	},
	/// Serve uploaded datasets and weights, over TLS, to this account's orders and to orders
	/// it granted them to (the client's daemon).
	Serve {
		#[command(flatten)]
		key: KeyArgs,
		#[arg(long, default_value = "127.0.0.1:8700")]
		listen: SocketAddr,
		/// The artifact store directory.
		#[arg(long)]
		store: PathBuf,
		/// Most bytes the store may hold.
		#[arg(long, default_value_t = 8 << 30)]
		store_limit: u64,
	},
	/// Add a dataset (CSV or safetensors) or initial weights to the store; prints its record
	/// (root, size, and the location orders name: the store's URL with its certificate pin).
	Upload {
		file: PathBuf,
		#[arg(long)]
		store: PathBuf,
		/// https://HOST:PORT of the `decenter serve` that serves this store.
		#[arg(long)]
		url: String,
		/// Classes of a classification dataset (default: largest label + 1).
		#[arg(long, conflicts_with_all = ["targets", "weights"])]
		classes: Option<u32>,
		/// Regression targets in the last columns.
		#[arg(long, conflicts_with = "weights")]
		targets: Option<u32>,
		/// The file is initial weights (safetensors), not a dataset.
		#[arg(long)]
		weights: bool,
		#[arg(long, default_value_t = 8 << 30)]
		store_limit: u64,
	},
	/// Let another account's orders use an artifact of this store: prints the artifact's
	/// record with the signed grant in its location, for the grantee's order file. Sign with
	/// the key `decenter serve` runs with.
	Grant {
		#[command(flatten)]
		key: KeyArgs,
		/// The artifact's root (64 hex digits).
		root: String,
		/// The grantee: the account (SS58 or 0x hex) whose orders may use it.
		#[arg(long)]
		to: String,
		#[arg(long)]
		store: PathBuf,
		/// https://HOST:PORT of the `decenter serve` that serves this store.
		#[arg(long)]
		url: String,
		/// Write the record here instead of printing it.
		#[arg(long)]
		out: Option<PathBuf>,
	},
	/// Orders: create one, or watch one to the end.
	Order {
		#[command(subcommand)]
		command: OrderCommand,
	},
	/// An order's input artifacts.
	Artifact {
		#[command(subcommand)]
		command: ArtifactCommand,
	},
	/// The trained model of an order.
	Model {
		#[command(subcommand)]
		command: ModelCommand,
	},
	/// Certificate NFTs.
	Certificate {
		#[command(subcommand)]
		command: CertificateCommand,
	},
	/// Start a dev chain, a client, two workers and two validators, and train the digits MLP
	/// from upload to certificate.
	Demo(demo::DemoArgs),
}

#[derive(Subcommand)]
enum OrderCommand {
	/// Create an order from a JSON spec file (see examples/digits-order.json).
	Create {
		#[command(flatten)]
		key: KeyArgs,
		#[arg(long)]
		spec: PathBuf,
		/// The store the spec's datasets were uploaded to.
		#[arg(long)]
		store: PathBuf,
		/// Override the spec's steps.
		#[arg(long)]
		steps: Option<u32>,
		/// Override the spec's replicas.
		#[arg(long)]
		replicas: Option<u32>,
		/// Override the spec's budget (DCEN).
		#[arg(long)]
		budget: Option<u128>,
	},
	/// Follow an order to the end: state, training progress, then the loss curve as a PNG.
	Watch {
		#[command(flatten)]
		key: KeyArgs,
		id: u64,
		#[arg(long, default_value = "loss.png")]
		png: PathBuf,
	},
}

#[derive(Subcommand)]
enum ArtifactCommand {
	/// Download an artifact an order names, verified chunk by chunk against its root; the
	/// store serves it only if the chain lists you on the order and the order is entitled to
	/// it.
	Download {
		#[command(flatten)]
		key: KeyArgs,
		/// The order.
		id: u64,
		/// Which of the order's artifacts.
		#[arg(long, value_enum)]
		which: client::ArtifactKind,
		#[arg(long)]
		out: PathBuf,
	},
}

#[derive(Subcommand)]
enum ModelCommand {
	/// Download the certified model (safetensors), checked against the certificate's hash.
	Download {
		#[command(flatten)]
		key: KeyArgs,
		id: u64,
		#[arg(long, default_value = "model.safetensors")]
		out: PathBuf,
	},
}

#[derive(Subcommand)]
enum CertificateCommand {
	/// Show a certificate.
	Show { id: u32 },
}

async fn connect(node: &str, key: Arc<Keypair>) -> Result<Chain, String> {
	Chain::connect(node, key, Metrics::new()).await.map_err(|e| {
		format!(
			"{e}\n  is a node running there? start one with `decenter-node --dev` or pass --node"
		)
	})
}

/// Keeps `slot` holding a live connection, reconnecting with backoff.
fn keep_connected(node: String, key: Arc<Keypair>, metrics: Metrics, slot: ChainSlot) {
	tokio::spawn(async move {
		loop {
			let chain = Chain::connect_with_backoff(&node, key.clone(), metrics.clone()).await;
			*slot.write().await = Some(chain.clone());
			while chain.finalized_number().await.is_ok() {
				tokio::time::sleep(Duration::from_secs(5)).await;
			}
			tracing::warn!("lost the node at {node}; reconnecting");
			*slot.write().await = None;
		}
	});
}

async fn run_daemon(
	node: &str,
	args: DaemonArgs,
	role: &str,
	cheat: Option<SkipAfter>,
) -> Result<(), String> {
	let key = args.key.load()?;
	let device = Device::pick(args.device)?;
	let metrics = Metrics::new();
	let slot = ChainSlot::default();
	std::fs::create_dir_all(&args.data_dir)
		.map_err(|e| format!("cannot create {}: {e}", args.data_dir.display()))?;
	let identity = Identity::load_or_create(&args.data_dir)?;
	let public_url = args.public_url(&identity)?;
	let state = Arc::new(ServerState {
		access: AccessList::Chain(slot.clone(), Default::default()),
		store: None,
		owner: key.public_key().0,
		outputs: (role == "worker")
			.then(|| WorkerOutputs { dir: args.data_dir.clone(), worker: key.public_key().0 }),
		challenges: Default::default(),
		metrics: metrics.clone(),
		limits: Default::default(),
	});
	let bound = server::serve(args.listen, state, identity.acceptor()?).await?;
	tracing::info!(%bound, public = public_url, ?device, "{role} serving");
	let fetcher = Fetcher::new(key.clone());
	let daemon = async {
		if role == "worker" {
			let config = worker::WorkerConfig {
				data_dir: args.data_dir.clone(),
				public_url: public_url.clone(),
				device,
				capacity: args.capacity,
				cheat,
			};
			let mut worker = worker::Worker::new(config, fetcher, metrics.clone());
			daemon::run(node, key.clone(), metrics.clone(), slot, &mut worker).await
		} else {
			let config = validator::ValidatorConfig {
				data_dir: args.data_dir.clone(),
				public_url: public_url.clone(),
				device,
				capacity: args.capacity,
			};
			let mut validator = validator::Validator::new(config, fetcher, metrics.clone());
			daemon::run(node, key.clone(), metrics.clone(), slot, &mut validator).await
		}
	};
	tokio::select! {
		() = daemon => Ok(()),
		_ = tokio::signal::ctrl_c() => Ok(()),
	}
}

async fn run(cli: Cli) -> Result<(), String> {
	let node = cli.node;
	match cli.command {
		Command::Worker { daemon, skip_training_after } => {
			run_daemon(&node, daemon, "worker", skip_training_after.map(SkipAfter)).await
		},
		Command::Validator { daemon } => run_daemon(&node, daemon, "validator", None).await,
		Command::Serve { key, listen, store, store_limit } => {
			let key = key.load()?;
			let metrics = Metrics::new();
			let slot = ChainSlot::default();
			let owner = key.public_key().0;
			keep_connected(node.clone(), key, metrics.clone(), slot.clone());
			let artifacts = ArtifactStore::open(&store, store_limit)?;
			artifacts.claim_owner(&owner)?;
			let identity = Identity::load_or_create(&store)?;
			let state = Arc::new(ServerState {
				access: AccessList::Chain(slot, Default::default()),
				store: Some(artifacts),
				owner,
				outputs: None,
				challenges: Default::default(),
				metrics,
				limits: Default::default(),
			});
			let bound = server::serve(listen, state, identity.acceptor()?).await?;
			tracing::info!(
				%bound,
				store = %store.display(),
				pin = hex::encode(identity.fingerprint()),
				"serving the artifact store"
			);
			let _ = tokio::signal::ctrl_c().await;
			Ok(())
		},
		Command::Upload { file, store, url, classes, targets, weights, store_limit } => {
			let label = match (weights, targets) {
				(true, _) => client::LabelKind::Weights,
				(false, Some(width)) => client::LabelKind::Targets(width),
				(false, None) => client::LabelKind::Classes(classes),
			};
			let artifacts = ArtifactStore::open(&store, store_limit)?;
			let uploaded = client::upload(&artifacts, &store, &file, &url, label)?;
			println!("{}", serde_json::to_string_pretty(&uploaded).map_err(|e| e.to_string())?);
			Ok(())
		},
		Command::Grant { key, root, to, store, url, out } => {
			let record = client::grant(&*key.load()?, &store, &root, &to, &url)?;
			let text = serde_json::to_string_pretty(&record).map_err(|e| e.to_string())?;
			match out {
				Some(path) => std::fs::write(&path, text)
					.map_err(|e| format!("cannot write {}: {e}", path.display()))?,
				None => println!("{text}"),
			}
			Ok(())
		},
		Command::Artifact { command: ArtifactCommand::Download { key, id, which, out } } => {
			let key = key.load()?;
			let chain = connect(&node, key.clone()).await?;
			let size =
				client::download_artifact(&chain, &Fetcher::new(key), id, which, &out).await?;
			println!("{which:?} of order {id} ({size} bytes) written to {}", out.display());
			Ok(())
		},
		Command::Order {
			command: OrderCommand::Create { key, spec, store, steps, replicas, budget },
		} => {
			let mut file = client::OrderFile::read(&spec)?;
			file.steps = steps.unwrap_or(file.steps);
			file.replicas = replicas.unwrap_or(file.replicas);
			file.budget = budget.unwrap_or(file.budget);
			let base = spec.parent().map(PathBuf::from).unwrap_or_default();
			let order_spec = file.spec(&store, &base)?;
			let chain = connect(&node, key.load()?).await?;
			let id = client::create_order(&chain, &file, order_spec).await?;
			println!("{id}");
			Ok(())
		},
		Command::Order { command: OrderCommand::Watch { key, id, png } } => {
			let key = key.load()?;
			let chain = connect(&node, key.clone()).await?;
			let outcome = client::watch(&chain, &Fetcher::new(key), id, Some(&png)).await?;
			println!("order {id}: {}", outcome.status);
			if let Some((cert, certificate)) = &outcome.certificate {
				println!("{}", client::describe(*cert, certificate));
			}
			if !outcome.losses.is_empty() {
				println!("loss curve: {}", png.display());
			}
			Ok(())
		},
		Command::Model { command: ModelCommand::Download { key, id, out } } => {
			let key = key.load()?;
			let chain = connect(&node, key.clone()).await?;
			let hash = client::download_model(&chain, &Fetcher::new(key), id, &out).await?;
			println!(
				"model of order {id} (hash 0x{}) written to {}",
				hex::encode(hash),
				out.display()
			);
			Ok(())
		},
		Command::Certificate { command: CertificateCommand::Show { id } } => {
			// Reading needs no account: a throwaway key that signs nothing.
			let key = Keypair::from_secret_key(rand::random()).map_err(|e| e.to_string())?;
			let chain = connect(&node, Arc::new(key)).await?;
			let certificate = chain.certificate(id).await.map_err(|e| e.to_string())?;
			let certificate = certificate.ok_or(format!("there is no certificate {id}"))?;
			println!("{}", client::describe(id, &certificate));
			Ok(())
		},
		Command::Demo(args) => demo::run(args).await,
	}
}

fn main() -> ExitCode {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
		)
		.with_writer(std::io::stderr)
		.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
		.init();
	let cli = Cli::parse();
	let runtime = match tokio::runtime::Runtime::new() {
		Ok(runtime) => runtime,
		Err(e) => {
			eprintln!("error: cannot start the async runtime: {e}");
			return ExitCode::FAILURE;
		},
	};
	match runtime.block_on(run(cli)) {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			eprintln!("error: {e}");
			ExitCode::FAILURE
		},
	}
}

//! `decenter demo`: a dev node, a client (`serve`), two workers and two validators as child
//! processes with the dev accounts, then the client's side in this process: upload the digits
//! data, order two replicas of the 64-128-10 MLP, watch, download the certified model.

use std::{
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::Arc,
	time::{Duration, Instant},
};

use subxt_signer::sr25519::dev;

use crate::{
	chain::Chain,
	client::{self, ActivationFile, OptimizerFile, OrderFile, ScheduleFile},
	fetch::Fetcher,
	metrics::Metrics,
	store::ArtifactStore,
};

#[derive(clap::Args)]
pub struct DemoArgs {
	/// Where the demo writes logs, stores, the model and the loss curve (emptied first).
	#[arg(long, default_value = "target/decenter-demo")]
	work_dir: PathBuf,
	/// The `decenter-node` binary (default: next to this program).
	#[arg(long, env = "DECENTER_NODE_BINARY")]
	node_binary: Option<PathBuf>,
	/// The digits CSV (default: examples/data/digits.csv).
	#[arg(long)]
	data: Option<PathBuf>,
	/// Training steps.
	#[arg(long, default_value_t = 1000)]
	steps: u32,
	/// Seconds to wait for the order to finish.
	#[arg(long, default_value_t = 600)]
	timeout: u64,
	/// First of seven consecutive ports to use (node RPC, node p2p, client, 2 workers, 2
	/// validators); free ports are picked when absent.
	#[arg(long)]
	base_port: Option<u16>,
}

/// Child processes, killed when the demo ends however it ends.
struct Children(Vec<(String, Child)>);

impl Drop for Children {
	fn drop(&mut self) {
		for (_, child) in &mut self.0 {
			let _ = child.kill();
			let _ = child.wait();
		}
	}
}

impl Children {
	fn spawn(
		&mut self,
		name: &str,
		program: &Path,
		args: &[String],
		logs: &Path,
	) -> Result<(), String> {
		let log =
			std::fs::File::create(logs.join(format!("{name}.log"))).map_err(|e| e.to_string())?;
		let child = Command::new(program)
			.args(args)
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.map_err(|e| format!("cannot start {}: {e}", program.display()))?;
		self.0.push((name.to_string(), child));
		Ok(())
	}

	/// Fails if a child exited.
	fn check(&mut self, logs: &Path) -> Result<(), String> {
		for (name, child) in &mut self.0 {
			if let Ok(Some(status)) = child.try_wait() {
				return Err(format!(
					"{name} exited ({status}); see {}",
					logs.join(format!("{name}.log")).display()
				));
			}
		}
		Ok(())
	}
}

/// A port the system considers free now.
fn free_port() -> Result<u16, String> {
	std::net::TcpListener::bind("127.0.0.1:0")
		.and_then(|listener| listener.local_addr())
		.map(|addr| addr.port())
		.map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

fn find_node(given: Option<PathBuf>) -> Result<PathBuf, String> {
	if let Some(path) = given {
		return Ok(path);
	}
	let exe = std::env::current_exe().map_err(|e| e.to_string())?;
	let sibling = exe.with_file_name("decenter-node");
	if sibling.exists() {
		return Ok(sibling);
	}
	Err(format!(
		"no decenter-node next to {}: build it (cargo build -p decenter-node) or pass --node-binary",
		exe.display()
	))
}

fn find_data(given: Option<PathBuf>) -> Result<PathBuf, String> {
	let candidates = given.into_iter().chain([
		PathBuf::from("examples/data/digits.csv"),
		PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/digits.csv"),
	]);
	for candidate in candidates {
		if candidate.exists() {
			return Ok(candidate);
		}
	}
	Err("examples/data/digits.csv not found: run from the repository root or pass --data".into())
}

/// The first `train` rows for training, the rest for validation.
fn split_csv(source: &Path, train: usize, dir: &Path) -> Result<(PathBuf, PathBuf), String> {
	let text = std::fs::read_to_string(source)
		.map_err(|e| format!("cannot read {}: {e}", source.display()))?;
	let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
	if lines.len() <= train {
		return Err(format!(
			"{} has {} rows; the demo needs more than {train}",
			source.display(),
			lines.len()
		));
	}
	let (head, tail) = lines.split_at(train);
	let paths = (dir.join("train.csv"), dir.join("validation.csv"));
	std::fs::write(&paths.0, head.join("\n") + "\n").map_err(|e| e.to_string())?;
	std::fs::write(&paths.1, tail.join("\n") + "\n").map_err(|e| e.to_string())?;
	Ok(paths)
}

pub async fn run(args: DemoArgs) -> Result<(), String> {
	let begun = Instant::now();
	let work = args.work_dir.clone();
	let _ = std::fs::remove_dir_all(&work);
	let logs = work.join("logs");
	std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
	let node_binary = find_node(args.node_binary)?;
	let data = find_data(args.data)?;
	let exe = std::env::current_exe().map_err(|e| e.to_string())?;
	let ports: Vec<u16> = match args.base_port {
		Some(base) => (0..7).map(|i| base + i).collect(),
		None => (0..7).map(|_| free_port()).collect::<Result<_, _>>()?,
	};
	let port = |offset: u16| ports[offset as usize];
	let url = format!("ws://127.0.0.1:{}", port(0));
	let mut children = Children(Vec::new());

	println!("starting a dev chain ({}), logs in {}", node_binary.display(), logs.display());
	children.spawn(
		"node",
		&node_binary,
		&[
			"--dev".into(),
			"--tmp".into(),
			"--no-mdns".into(),
			"--no-telemetry".into(),
			"--no-prometheus".into(),
			"--rpc-port".into(),
			port(0).to_string(),
			"--listen-addr".into(),
			format!("/ip4/127.0.0.1/tcp/{}", port(1)),
		],
		&logs,
	)?;
	let client_key = Arc::new(dev::alice());
	let chain = {
		let deadline = Instant::now() + Duration::from_secs(120);
		loop {
			match Chain::connect(&url, client_key.clone(), Metrics::new()).await {
				Ok(chain) => break chain,
				Err(e) if Instant::now() > deadline => {
					return Err(format!("the dev node never answered: {e}"))
				},
				Err(_) => {
					children.check(&logs)?;
					tokio::time::sleep(Duration::from_millis(500)).await;
				},
			}
		}
	};

	let serve_url = format!("https://127.0.0.1:{}", port(2));
	let store_dir = work.join("client/store");
	let command = |name: &str, suri: &str| {
		vec![name.to_string(), "--node".into(), url.clone(), "--suri".into(), suri.into()]
	};
	let mut serve = command("serve", "//Alice");
	serve.extend(["--listen".into(), format!("127.0.0.1:{}", port(2)), "--store".into()]);
	serve.push(store_dir.display().to_string());
	children.spawn("client-serve", &exe, &serve, &logs)?;
	let daemons = [
		("worker-bob", "worker", "//Bob"),
		("worker-charlie", "worker", "//Charlie"),
		("validator-dave", "validator", "//Dave"),
		("validator-eve", "validator", "//Eve"),
	];
	for (i, (name, role, suri)) in daemons.iter().enumerate() {
		let listen = format!("127.0.0.1:{}", port(3 + i as u16));
		let mut daemon_args = command(role, suri);
		daemon_args.extend(["--listen".into(), listen, "--data-dir".into()]);
		daemon_args.push(work.join(name).display().to_string());
		children.spawn(name, &exe, &daemon_args, &logs)?;
	}
	println!("client, 2 workers (Bob, Charlie) and 2 validators (Dave, Eve) started; waiting for their registration");
	let accounts = [dev::bob(), dev::charlie(), dev::dave(), dev::eve()]
		.map(|k| k.public_key().to_account_id());
	let deadline = Instant::now() + Duration::from_secs(180);
	loop {
		children.check(&logs)?;
		let mut registered = 0;
		for account in &accounts {
			if chain.participant(account).await.map_err(|e| e.to_string())?.is_some() {
				registered += 1;
			}
		}
		if registered == accounts.len() {
			break;
		}
		if Instant::now() > deadline {
			return Err(format!(
				"only {registered} of 4 daemons registered within 180 s; see {}",
				logs.display()
			));
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}

	let (train_csv, validation_csv) = split_csv(&data, 1500, &work)?;
	let store = ArtifactStore::open(&store_dir, 1 << 30)?;
	let train = client::upload(
		&store,
		&store_dir,
		&train_csv,
		&serve_url,
		client::LabelKind::Classes(Some(10)),
	)?;
	let validation = client::upload(
		&store,
		&store_dir,
		&validation_csv,
		&serve_url,
		client::LabelKind::Classes(Some(10)),
	)?;
	println!(
		"uploaded {} ({} records) and {} ({} records)",
		train_csv.display(),
		train.records.unwrap_or(0),
		validation_csv.display(),
		validation.records.unwrap_or(0)
	);
	let file = OrderFile {
		hidden: vec![128],
		activation: ActivationFile::Relu,
		optimizer: OptimizerFile::Adam { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
		learning_rate: 0.001,
		schedule: ScheduleFile::Constant,
		batch_size: 32,
		steps: args.steps,
		seed: 42,
		checkpoint_interval: args.steps.div_ceil(10).max(1),
		dataset: train.root.clone(),
		validation: validation.root.clone(),
		initial_weights: None,
		replicas: 2,
		capacity: 1,
		budget: 100,
		start_in_blocks: None,
		training_blocks: Some(200),
		validation_blocks: None,
	};
	let spec = file.spec(&store_dir, &work)?;
	let ordered_at = chain.finalized_number().await.map_err(|e| e.to_string())?;
	let ordered = Instant::now();
	let id = client::create_order(&chain, &file, spec).await?;
	println!("order {id} created: 2 replicas of 64-128-10, Adam, {} steps, 100 DCEN", args.steps);
	let fetcher = Fetcher::new(client_key);
	let png = work.join("loss.png");
	let watched = tokio::time::timeout(
		Duration::from_secs(args.timeout),
		client::watch(&chain, &fetcher, id, Some(&png)),
	);
	let outcome = tokio::select! {
		outcome = watched => outcome.map_err(|_| {
			format!("order {id} did not finish within {} s; see the logs in {}", args.timeout, logs.display())
		})??,
		_ = tokio::signal::ctrl_c() => return Err("interrupted".into()),
	};
	let (cert, certificate) = outcome.certificate.ok_or(format!(
		"order {id} ended {} without a certificate; see {}",
		outcome.status,
		logs.display()
	))?;
	let certified_at = chain.finalized_number().await.map_err(|e| e.to_string())?;
	let model = work.join("model.safetensors");
	let hash = client::download_model(&chain, &fetcher, id, &model).await?;
	let collection = chain.certificate_collection().await.map_err(|e| e.to_string())?;
	println!();
	println!("{}", client::describe(cert, &certificate));
	println!();
	println!("certified model hash   0x{}", hex::encode(hash));
	println!(
		"validation accuracy    {:.2}% (loss {:.4})",
		f64::from(certificate.record.metrics.accuracy) / 1e4,
		certificate.record.metrics.loss as f64 / 1e9
	);
	println!("certificate NFT        item {cert} of pallet-nfts collection {collection}");
	println!("downloaded model       {}", model.display());
	println!("loss curve             {}", png.display());
	println!(
		"order to certificate   {} blocks, {:.0} s (demo total {:.0} s)",
		certified_at.saturating_sub(ordered_at),
		ordered.elapsed().as_secs_f64(),
		begun.elapsed().as_secs_f64()
	);
	Ok(())
}

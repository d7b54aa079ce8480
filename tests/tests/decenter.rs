//! The `decenter` program end to end, as separate processes against a dev node: the demo from
//! upload to certificate; a worker that skips training is slashed while the honest replica is
//! paid, and an account the chain does not list is refused the order's data; a worker killed
//! mid-training resumes from its checkpoint and the node restarted mid-order does not stop
//! the order; an outsider who copies a victim's order gets none of its data, a worker drawn
//! for an order whose data it cannot have declines it without losing bond, a cancelled order's
//! training stops at once, and orders nobody can serve are expired by the node's off-chain
//! worker, with nobody calling `expire_order`.

use std::{
	path::PathBuf,
	time::{Duration, Instant},
};

use decenter_e2e::{crate_dir, decenter, decenter_binary, free_port, node_binary, Node, Program};
use subxt::{dynamic, OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::Keypair;

fn temp_dir(name: &str) -> PathBuf {
	let dir = std::env::temp_dir().join(format!("decenter-e2e-{name}-{}", std::process::id()));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(&dir).expect("temp dir is writable");
	dir
}

/// Account id of a secret URI.
fn account(suri: &str) -> [u8; 32] {
	Keypair::from_uri(&suri.parse().expect("valid uri")).expect("valid key").public_key().0
}

#[derive(Debug, scale_decode::DecodeAsType)]
struct Participant {
	bond: u128,
}

async fn bond_of(client: &OnlineClient<PolkadotConfig>, who: [u8; 32]) -> Option<u128> {
	let participants =
		dynamic::storage::<([u8; 32],), Participant>("ComputeStaking", "Participants");
	let at = client.at_current_block().await.ok()?;
	let value = at.storage().try_fetch(participants, (who,)).await.ok()??;
	value.decode().ok().map(|p: Participant| p.bond)
}

/// A dev node, the client's artifact server, workers and validators.
struct Network {
	node: Node,
	dir: PathBuf,
	store: PathBuf,
	serve_url: String,
	serve: Program,
	daemons: Vec<(String, Program)>,
}

impl Network {
	/// `workers`: (secret URI, skip training after this step); `validators`: secret URIs.
	async fn start(
		name: &str,
		node: Node,
		workers: &[(&str, Option<u32>)],
		validators: &[&str],
	) -> Network {
		let dir = temp_dir(name);
		let client = node.client(Duration::from_secs(120)).await;
		let url = node.ws_url();
		let store = dir.join("store");
		let serve_port = free_port();
		let serve_url = format!("https://127.0.0.1:{serve_port}");
		let args = |role: &str, suri: &str| -> Vec<String> {
			vec![role.into(), "--node".into(), url.clone(), "--suri".into(), suri.into()]
		};
		let mut serve_args = args("serve", "//Alice");
		serve_args.extend(["--listen".into(), format!("127.0.0.1:{serve_port}")]);
		serve_args.extend(["--store".into(), store.display().to_string()]);
		let serve = Program::start(&format!("{name}-serve"), &serve_args);
		let mut daemons = Vec::new();
		let roles = workers
			.iter()
			.map(|(suri, cheat)| ("worker", *suri, *cheat))
			.chain(validators.iter().map(|suri| ("validator", *suri, None)));
		for (role, suri, cheat) in roles {
			let label = format!("{name}-{role}-{}", suri.replace('/', ""));
			let mut daemon = args(role, suri);
			daemon.extend(["--listen".into(), format!("127.0.0.1:{}", free_port())]);
			daemon.extend(["--data-dir".into(), dir.join(&label).display().to_string()]);
			// A fixed capacity keeps registration quick; calibration is exercised by the demo.
			daemon.extend(["--capacity".into(), "10".into()]);
			if let Some(step) = cheat {
				daemon.extend(["--skip-training-after".into(), step.to_string()]);
			}
			daemons.push((suri.to_string(), Program::start(&label, &daemon)));
		}
		let deadline = Instant::now() + Duration::from_secs(120);
		for (suri, program) in &daemons {
			while bond_of(&client, account(suri)).await.is_none() {
				assert!(
					Instant::now() < deadline,
					"{suri} never registered:\n{}",
					program.log_text()
				);
				tokio::time::sleep(Duration::from_millis(500)).await;
			}
		}
		Network { node, dir, store, serve_url, serve, daemons }
	}

	fn daemon(&self, suri: &str) -> &Program {
		&self.daemons.iter().find(|(s, _)| s == suri).expect("daemon started").1
	}

	/// Uploads the digits split and orders `replicas` replicas of `steps` steps, to be trained
	/// within `training_blocks` (the chain's shortest window for the work if `None`); returns
	/// the id. The validation window is the chain's shortest.
	fn order(&self, steps: u32, interval: u32, replicas: u32, training_blocks: Option<u32>) -> u64 {
		self.upload_digits();
		let data = ("train.csv", "validation.csv");
		self.create_order(
			"//Alice",
			&self.store,
			data,
			steps,
			interval,
			replicas,
			training_blocks,
			None,
		)
	}

	/// Uploads the digits split (train.csv, validation.csv) to the client's store.
	fn upload_digits(&self) {
		let digits = crate_dir().join("../examples/data/digits.csv");
		let text = std::fs::read_to_string(digits).expect("examples/data/digits.csv");
		let lines: Vec<&str> = text.lines().collect();
		std::fs::write(self.dir.join("train.csv"), lines[..1500].join("\n")).expect("write");
		std::fs::write(self.dir.join("validation.csv"), lines[1500..].join("\n")).expect("write");
		for file in ["train.csv", "validation.csv"] {
			decenter(&[
				"upload".into(),
				self.dir.join(file).display().to_string(),
				"--store".into(),
				self.store.display().to_string(),
				"--url".into(),
				self.serve_url.clone(),
			]);
		}
	}

	/// `decenter order create` signed by `suri`, naming the datasets `data` (files or records,
	/// relative to the test's directory) looked up in `store`, starting `start_in_blocks` after
	/// the finalized head (at once when `None`); returns the order's id.
	#[allow(clippy::too_many_arguments)]
	fn create_order(
		&self,
		suri: &str,
		store: &std::path::Path,
		data: (&str, &str),
		steps: u32,
		interval: u32,
		replicas: u32,
		training_blocks: Option<u32>,
		start_in_blocks: Option<u32>,
	) -> u64 {
		let spec = serde_json::json!({
			"hidden": [64],
			"optimizer": { "adam": { "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8 } },
			"learning_rate": 0.001,
			"batch_size": 32,
			"steps": steps,
			"seed": 7,
			"checkpoint_interval": interval,
			"dataset": data.0,
			"validation": data.1,
			"replicas": replicas,
			"capacity": 1,
			"budget": 100,
			"training_blocks": training_blocks,
			"start_in_blocks": start_in_blocks,
		});
		let spec_path = self.dir.join(format!("order-{}.json", suri.replace('/', "")));
		std::fs::write(&spec_path, spec.to_string()).expect("write");
		let out = decenter(&[
			"order".into(),
			"create".into(),
			"--node".into(),
			self.node.ws_url(),
			"--suri".into(),
			suri.into(),
			"--spec".into(),
			spec_path.display().to_string(),
			"--store".into(),
			store.display().to_string(),
		]);
		out.trim().parse().unwrap_or_else(|_| panic!("order create printed {out:?}"))
	}

	/// `decenter order watch` until the order ends; returns what it printed.
	async fn watch(&self, id: u64, timeout: Duration) -> String {
		let child = tokio::process::Command::new(decenter_binary())
			.args(["order", "watch", "--node", &self.node.ws_url(), "--suri", "//Alice"])
			.arg(id.to_string())
			.args(["--png", &self.dir.join("loss.png").display().to_string()])
			.kill_on_drop(true)
			.output();
		match tokio::time::timeout(timeout, child).await {
			Ok(Ok(output)) => {
				assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
				String::from_utf8_lossy(&output.stdout).to_string()
			},
			_ => panic!("order {id} did not end within {timeout:?}\n{}", self.logs()),
		}
	}

	fn logs(&self) -> String {
		let tail = |text: String| {
			text.lines()
				.rev()
				.take(15)
				.collect::<Vec<_>>()
				.into_iter()
				.rev()
				.collect::<Vec<_>>()
				.join("\n")
		};
		let mut all = format!("--- client server ---\n{}\n", tail(self.serve.log_text()));
		for (suri, program) in &self.daemons {
			all += &format!("--- {suri} ---\n{}\n", tail(program.log_text()));
		}
		all + &self.node.log_tail()
	}
}

impl Network {
	/// `decenter artifact download` of order `id`'s `which` artifact, signed by `suri`: the
	/// artifact's bytes, or what the program said when it was refused.
	fn download(&self, suri: &str, id: u64, which: &str) -> Result<Vec<u8>, String> {
		let out = self.dir.join(format!("download-{}-{id}-{which}", suri.replace('/', "")));
		let output = std::process::Command::new(decenter_binary())
			.args(["artifact", "download", "--node", &self.node.ws_url(), "--suri", suri])
			.args([id.to_string().as_str(), "--which", which, "--out"])
			.arg(&out)
			.output()
			.expect("decenter runs");
		if output.status.success() {
			Ok(std::fs::read(&out).expect("the download was written"))
		} else {
			Err(String::from_utf8_lossy(&output.stderr).to_string())
		}
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_trains_digits_from_upload_to_certificate() {
	let work = temp_dir("demo");
	let output = tokio::process::Command::new(decenter_binary())
		.args(["demo", "--steps", "200", "--timeout", "400", "--base-port"])
		.arg(decenter_e2e::free_ports(7).to_string())
		.arg("--work-dir")
		.arg(&work)
		.arg("--node-binary")
		.arg(node_binary())
		.arg("--data")
		.arg(crate_dir().join("../examples/data/digits.csv"))
		.kill_on_drop(true)
		.output();
	let output = tokio::time::timeout(Duration::from_secs(540), output)
		.await
		.expect("the demo ends within 9 minutes")
		.expect("the demo runs");
	let stdout = String::from_utf8_lossy(&output.stdout);
	assert!(
		output.status.success(),
		"demo failed:\n{stdout}\n{}",
		String::from_utf8_lossy(&output.stderr)
	);
	let field = |name: &str| -> String {
		stdout
			.lines()
			.find_map(|line| line.strip_prefix(name))
			.unwrap_or_else(|| panic!("no `{name}` in the demo's output:\n{stdout}"))
			.trim()
			.to_string()
	};
	let hash = field("certified model hash");
	assert!(hash.starts_with("0x") && hash.len() == 66, "{hash}");
	let accuracy: f64 = field("validation accuracy")
		.split('%')
		.next()
		.and_then(|a| a.parse().ok())
		.expect("a percentage");
	assert!(accuracy > 50.0, "the certified model is barely better than chance: {accuracy}%");
	assert!(field("certificate NFT").starts_with("item "), "{stdout}");
	// The downloaded model hashes to the certificate's hash (computed here independently).
	let model = std::fs::read(work.join("model.safetensors")).expect("the model was downloaded");
	let shapes = decenter_engine::model::Shapes::of(&decenter_primitives::spec::ModelSpec {
		inputs: 64,
		hidden: vec![128].try_into().expect("one layer"),
		outputs: 10,
		activation: decenter_primitives::spec::Activation::Relu,
		loss: decenter_primitives::spec::Loss::SoftmaxCrossEntropy,
	});
	let parameters = decenter_engine::data::parameters_from_safetensors("model", &shapes, &model)
		.expect("the model is safetensors of the digits MLP");
	let views: Vec<&[f32]> = parameters.iter().map(Vec::as_slice).collect();
	assert_eq!(format!("0x{}", hex::encode(decenter_primitives::proof::model_hash(&views))), hash);
	let png = std::fs::read(work.join("loss.png")).expect("the loss curve was written");
	assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn cheating_worker_is_slashed_and_unlisted_accounts_are_refused() {
	let node = Node::start("cheat", &["--dev"]);
	// Four validators: three are drawn to check, the fourth referees the dispute.
	let net = Network::start(
		"cheat",
		node,
		&[("//Bob", None), ("//Charlie", Some(40))],
		&["//Dave", "//Eve", "//Ferdie", "//Dave//stash"],
	)
	.await;
	let client = net.node.client(Duration::from_secs(30)).await;
	let charlie_bond = bond_of(&client, account("//Charlie")).await.expect("registered");
	let bob_bond = bond_of(&client, account("//Bob")).await.expect("registered");
	let id = net.order(200, 20, 2, Some(400));

	// The order's data goes to its workers, not to an account the chain does not list.
	let train = std::fs::read(net.dir.join("train.csv")).expect("train.csv");
	let deadline = Instant::now() + Duration::from_secs(60);
	loop {
		match net.download("//Bob", id, "dataset") {
			Ok(bytes) => {
				assert_eq!(bytes, train);
				break;
			},
			// Bob is listed once the order has assigned its workers.
			Err(e) => assert!(Instant::now() < deadline, "the assigned worker was refused: {e}"),
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	let refused = net.download("//Stranger", id, "dataset").unwrap_err();
	assert!(refused.contains("403"), "an unlisted account got: {refused}");

	let watched = net.watch(id, Duration::from_secs(420)).await;
	assert!(watched.contains(&format!("order {id}: Completed")), "{watched}\n{}", net.logs());
	let slashed =
		charlie_bond - bond_of(&client, account("//Charlie")).await.expect("still registered");
	assert_eq!(slashed, charlie_bond / 10, "the cheater loses 10% of its bond\n{}", net.logs());
	assert_eq!(
		bond_of(&client, account("//Bob")).await,
		Some(bob_bond),
		"the honest replica keeps its bond"
	);
	assert!(watched.contains("Model certificate"), "{watched}");
	assert!(
		net.daemon("//Dave//stash").log_text().contains("commit_report"),
		"the referee never reported"
	);
}

/// Waits until `program`'s log has a line with every one of `words`.
async fn logged(program: &decenter_e2e::Program, words: &[&str], timeout: Duration) {
	let deadline = Instant::now() + timeout;
	while !program.log_text().lines().any(|line| words.iter().all(|w| line.contains(w))) {
		assert!(Instant::now() < deadline, "no {words:?} in:\n{}", program.log_text());
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn copied_or_unserved_orders_get_no_data_are_declined_free_and_expire_without_a_caller() {
	let node = Node::start("lapsed", &["--dev"]);
	let net = Network::start("lapsed", node, &[("//Bob", None)], &[]).await;
	let client = net.node.client(Duration::from_secs(30)).await;
	let bob_bond = bond_of(&client, account("//Bob")).await.expect("registered");
	// The victim: Alice's order, starting long after this test ends, so never drawn here.
	net.upload_digits();
	let data = ("train.csv", "validation.csv");
	let victim = net.create_order("//Alice", &net.store, data, 100, 10, 1, None, Some(2_000));

	// Eve copies it from chain storage (roots, sizes, locations: the records below hold exactly
	// what the spec on chain says) into an order of her own, as its client.
	for file in ["train.csv", "validation.csv"] {
		let bytes = std::fs::read(net.dir.join(file)).expect("uploaded file");
		let root = hex::encode(decenter_primitives::proof::chunk_root(&bytes));
		let record = std::fs::read(net.store.join(format!("{root}.json"))).expect("record");
		std::fs::write(net.dir.join(format!("copied-{file}.json")), record).expect("write");
	}
	let copied = ("copied-train.csv.json", "copied-validation.csv.json");
	let copy =
		net.create_order("//Eve", &net.dir.join("eve-store"), copied, 100, 10, 1, None, None);
	for which in ["dataset", "validation"] {
		let refused = net.download("//Eve", copy, which).unwrap_err();
		assert!(refused.contains("403") && refused.contains("no grant"), "Eve got: {refused}");
	}
	// Bob, drawn for the copy, is refused its data too, and declines it at once.
	let bob = net.daemon("//Bob");
	let field = format!("order={copy}");
	logged(bob, &["declining the assignment", &field, "no grant"], Duration::from_secs(90)).await;
	// The owner's own order is served (to its client here; to its workers when drawn).
	let train = std::fs::read(net.dir.join("train.csv")).expect("train.csv");
	assert_eq!(net.download("//Alice", victim, "dataset").expect("Alice's own data"), train);

	// Alice orders a long run and cancels it while Bob trains it: Bob stops training within
	// a step of seeing the order end, rather than computing for nobody until the run is done.
	// (2,000,000 steps: minutes of training even in an optimized build.)
	let long = net.create_order("//Alice", &net.store, data, 2_000_000, 200_000, 1, None, None);
	let cancelled = format!("order={long}");
	logged(bob, &["training", &cancelled, "steps=2000000"], Duration::from_secs(120)).await;
	let cancel =
		dynamic::tx("TrainingOrders", "cancel_order", vec![dynamic::Value::u128(long.into())]);
	let alice = Keypair::from_uri(&"//Alice".parse().expect("valid uri")).expect("derivation");
	client
		.at_current_block()
		.await
		.expect("current block")
		.tx()
		.sign_and_submit_then_watch_default(&cancel, &alice)
		.await
		.expect("cancel submitted")
		.wait_for_finalized_success()
		.await
		.expect("the order was cancelled");
	logged(bob, &["stopping its training", &cancelled], Duration::from_secs(30)).await;
	logged(bob, &["training stopped", &cancelled], Duration::from_secs(30)).await;

	// Alice stops serving, then orders: Bob, drawn, cannot reach the data, retries for half
	// the confirmation window and declines; nobody else is left to draw.
	net.serve.kill();
	let unserved = net.create_order("//Alice", &net.store, data, 100, 10, 1, None, None);
	let field = format!("order={unserved}");
	logged(bob, &["declining the assignment", &field], Duration::from_secs(120)).await;

	// No program calls `expire_order`: the node's off-chain worker submits `expire_lapsed` once
	// neither order can start any more, and both end.
	for order in [copy, unserved] {
		let watched = net.watch(order, Duration::from_secs(240)).await;
		let expired = format!("order {order}: Expired");
		assert!(watched.contains(&expired), "{watched}\n{}", net.logs());
	}
	assert_eq!(
		bond_of(&client, account("//Bob")).await,
		Some(bob_bond),
		"declining cost Bob his bond\n{}",
		net.logs()
	);
	// Nobody may fetch anything of the cancelled order: Bob's files of it are gone within a
	// minute (the retention sweep), the run unfinished.
	logged(bob, &["removed its files", &cancelled], Duration::from_secs(90)).await;
	assert!(!net.dir.join(format!("lapsed-worker-Bob/orders/{long}")).exists());
	assert!(
		!bob.log_text().lines().any(|l| l.contains("training finished") && l.contains(&cancelled)),
		"Bob finished the cancelled run"
	);
}

/// Long enough that a worker can be killed between its checkpoints 2 and 10.
const STEPS: u32 = 20_000;

#[tokio::test(flavor = "multi_thread")]
async fn killed_worker_resumes_and_the_node_restarts_mid_order() {
	let base_path = temp_dir("restart-node");
	let node = Node::start_persistent("restart", &["--dev"], &base_path);
	let net = Network::start(
		"restart",
		node,
		&[("//Bob", None), ("//Charlie", None)],
		&["//Dave", "//Eve"],
	)
	.await;
	let client = net.node.client(Duration::from_secs(30)).await;
	let bonds =
		[bond_of(&client, account("//Bob")).await, bond_of(&client, account("//Charlie")).await];
	let id = net.order(STEPS, STEPS / 10, 2, Some(400));

	// Kill Bob once it has taken a few checkpoints, and start it again.
	let bob_dir = net.dir.join("restart-worker-Bob");
	let checkpoint = bob_dir.join(format!("orders/{id}/checkpoint-2.safetensors"));
	let deadline = Instant::now() + Duration::from_secs(240);
	while !checkpoint.exists() {
		assert!(Instant::now() < deadline, "Bob never reached checkpoint 2\n{}", net.logs());
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	let bob = net.daemon("//Bob");
	bob.kill();
	let trace: serde_json::Value = serde_json::from_slice(
		&std::fs::read(bob_dir.join(format!("orders/{id}/trace.json"))).expect("trace"),
	)
	.expect("trace JSON");
	assert_eq!(trace["done"], false, "Bob finished before it could be killed");
	bob.restart();

	// Restart the node while the order is under way; the daemons reconnect.
	tokio::time::sleep(Duration::from_secs(3)).await;
	net.node.restart();
	net.node.client(Duration::from_secs(120)).await;

	let watched = net.watch(id, Duration::from_secs(480)).await;
	assert!(watched.contains(&format!("order {id}: Completed")), "{watched}\n{}", net.logs());
	assert!(bob.log_text().contains("resuming from checkpoint"), "{}", bob.log_text());
	assert!(bob.log_text().contains("reconnecting"), "Bob did not notice the node restart");
	// The resumed run is the uninterrupted one, bit for bit: every checkpoint hash agrees.
	let checkpoints = |who: &str| -> serde_json::Value {
		let trace = net.dir.join(format!("restart-worker-{who}/orders/{id}/trace.json"));
		let trace: serde_json::Value =
			serde_json::from_slice(&std::fs::read(trace).expect("trace")).expect("trace JSON");
		trace["checkpoints"].clone()
	};
	assert_eq!(checkpoints("Bob"), checkpoints("Charlie"));
	assert_eq!(checkpoints("Bob").as_array().map(Vec::len), Some(11));
	let client = net.node.client(Duration::from_secs(30)).await;
	for (who, before) in ["//Bob", "//Charlie"].into_iter().zip(bonds) {
		assert_eq!(
			bond_of(&client, account(who)).await,
			before,
			"{who} was slashed\n{}",
			net.logs()
		);
	}
}

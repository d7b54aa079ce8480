//! polkadot.js (@polkadot/api) against real dev nodes: connects, decodes the metadata, submits a
//! transfer and sees it finalized (tests/polkadotjs/check.mjs); registers a worker, chills,
//! unbonds and withdraws (tests/polkadotjs/staking.mjs); creates an order with escrow, sees it
//! assigned, cancels it, and sees an unserved one expired by the off-chain worker
//! (tests/polkadotjs/orders.mjs); plays an honest order through proof of train to certificate
//! NFTs (tests/polkadotjs/proof.mjs).

use std::{process::Command, time::Duration};

use decenter_e2e::{crate_dir, Node};

/// Starts a dev node, runs `script` with Node.js against it and checks that it printed `passed`.
async fn run_script(name: &str, script: &str, passed: &str) {
	let project = crate_dir().join("polkadotjs");
	assert!(
		project.join("node_modules/@polkadot/api").exists(),
		"@polkadot/api is not installed: run `npm ci` in {}",
		project.display()
	);
	let node = Node::start(name, &["--dev"]);
	let client = node.client(Duration::from_secs(120)).await;
	node.wait_finalized(&client, 1, Duration::from_secs(90)).await;

	let output = Command::new("node")
		.arg(script)
		.arg(node.ws_url())
		.current_dir(&project)
		.output()
		.expect("Node.js runs (install nodejs)");
	let stdout = String::from_utf8_lossy(&output.stdout);
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(
		output.status.success(),
		"{script} failed\nstdout:\n{stdout}\nstderr:\n{stderr}\n{}",
		node.log_tail()
	);
	assert!(stdout.contains(passed), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn polkadot_js_connects_and_transfers() {
	run_script("polkadotjs", "check.mjs", "polkadot.js check passed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn polkadot_js_registers_chills_unbonds_and_withdraws_a_worker() {
	run_script("polkadotjs-staking", "staking.mjs", "staking check passed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn polkadot_js_creates_assigns_cancels_and_expires_orders() {
	run_script("polkadotjs-orders", "orders.mjs", "orders check passed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn polkadot_js_proves_validates_pays_and_certifies_an_order() {
	run_script("polkadotjs-proof", "proof.mjs", "proof check passed").await;
}

//! polkadot.js (@polkadot/api) against a real dev node: connects, decodes the metadata,
//! submits a transfer and sees it finalized (tests/polkadotjs/check.mjs).

use std::{path::PathBuf, process::Command, time::Duration};

use decenter_e2e::Node;

#[tokio::test(flavor = "multi_thread")]
async fn polkadot_js_connects_and_transfers() {
	let project = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("polkadotjs");
	assert!(
		project.join("node_modules/@polkadot/api").exists(),
		"@polkadot/api is not installed: run `npm ci` in {}",
		project.display()
	);
	let node = Node::start("polkadotjs", &["--dev"]);
	let client = node.client(Duration::from_secs(120)).await;
	node.wait_finalized(&client, 1, Duration::from_secs(90)).await;

	let output = Command::new("node")
		.arg("check.mjs")
		.arg(node.ws_url())
		.current_dir(&project)
		.output()
		.expect("Node.js runs (install nodejs)");
	let stdout = String::from_utf8_lossy(&output.stdout);
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(
		output.status.success(),
		"polkadot.js check failed\nstdout:\n{stdout}\nstderr:\n{stderr}\n{}",
		node.log_tail()
	);
	assert!(stdout.contains("polkadot.js check passed"), "{stdout}");
}

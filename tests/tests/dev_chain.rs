//! `decenter-node --dev`: blocks are produced and finalized, and a balance transfer made
//! through subxt lands in a finalized block.

use std::time::Duration;

use decenter_e2e::{http_get, node_output, Node};
use subxt::dynamic::{self, Value};
use subxt_signer::sr25519::{dev, Keypair};

const DCEN: u128 = 1_000_000_000_000;

#[tokio::test(flavor = "multi_thread")]
async fn dev_chain_finalizes_and_transfers() {
	let node = Node::start("dev", &["--dev"]);
	let client = node.client(Duration::from_secs(120)).await;
	node.wait_finalized(&client, 2, Duration::from_secs(90)).await;

	// Prometheus metrics are on by default.
	let metrics = http_get(node.prometheus_port, "/metrics");
	assert!(
		metrics.lines().any(|line| line.starts_with("substrate_block_height{")
			&& line.contains("status=\"finalized\"")),
		"no finalized block height in the metrics"
	);

	// `export-genesis-state` computes, without a database, the genesis the node runs on.
	let exported: serde_json::Value =
		serde_json::from_str(&node_output(&["export-genesis-state", "--chain", "dev"]))
			.expect("export-genesis-state prints JSON");
	assert_eq!(
		exported["genesisHash"].as_str(),
		Some(format!("{:?}", client.genesis_hash()).as_str())
	);

	let recipient = Keypair::from_uri(&"//DeCenterE2ERecipient".parse().expect("valid uri"))
		.expect("valid derivation");
	let recipient_id: [u8; 32] = recipient.public_key().0;
	let amount = 7 * DCEN;

	let transfer = dynamic::tx(
		"Balances",
		"transfer_keep_alive",
		(Value::unnamed_variant("Id", [Value::from_bytes(recipient_id)]), Value::u128(amount)),
	);
	let at = client.at_current_block().await.expect("current block");
	let events = at
		.tx()
		.sign_and_submit_then_watch_default(&transfer, &dev::alice())
		.await
		.expect("transfer submitted")
		.wait_for_finalized_success()
		.await
		.expect("transfer finalized without error");
	let transferred = events
		.iter()
		.filter_map(Result::ok)
		.any(|event| event.pallet_name() == "Balances" && event.event_name() == "Transfer");
	assert!(transferred, "no Balances.Transfer event in the finalized block");

	#[derive(Debug, scale_decode::DecodeAsType)]
	struct AccountInfo {
		data: AccountData,
	}
	#[derive(Debug, scale_decode::DecodeAsType)]
	struct AccountData {
		free: u128,
	}
	let account = dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	let finalized = client.at_current_block().await.expect("current block");
	let info = finalized
		.storage()
		.fetch(account, (recipient_id,))
		.await
		.expect("account storage")
		.decode()
		.expect("account decodes");
	assert_eq!(info.data.free, amount);
}

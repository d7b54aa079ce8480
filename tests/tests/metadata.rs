//! The `decenter` program's chain client is generated from
//! `offchain-worker/decenter/metadata/decenter.scale`; this fails when a dev node's runtime
//! has moved on without it. `DECENTER_BLESS_METADATA=1` rewrites the file (then rebuild the
//! `decenter` crate and fix what no longer compiles).

use std::time::Duration;

use decenter_e2e::{crate_dir, Node};
use subxt::{
	config::RpcConfigFor,
	ext::codec::Decode,
	rpcs::{LegacyRpcMethods, RpcClient},
	PolkadotConfig,
};

#[tokio::test(flavor = "multi_thread")]
async fn checked_in_metadata_is_the_runtimes() {
	let node = Node::start("metadata", &["--dev"]);
	node.client(Duration::from_secs(120)).await;
	let rpc = RpcClient::from_insecure_url(node.ws_url()).await.expect("RPC connects");
	let methods = LegacyRpcMethods::<RpcConfigFor<PolkadotConfig>>::new(rpc);
	let version = 16u32.to_le_bytes();
	let answer = methods
		.state_call("Metadata_metadata_at_version", Some(&version), None)
		.await
		.expect("the runtime answers Metadata_metadata_at_version");
	let metadata = Option::<Vec<u8>>::decode(&mut &answer[..])
		.expect("an optional byte vector")
		.expect("the runtime serves metadata version 16");
	let path = crate_dir().join("../offchain-worker/decenter/metadata/decenter.scale");
	if std::env::var("DECENTER_BLESS_METADATA").as_deref() == Ok("1") {
		std::fs::write(&path, &metadata).expect("metadata file is writable");
		return;
	}
	let checked_in = std::fs::read(&path).expect("the metadata file is checked in");
	assert!(
		checked_in == metadata,
		"{} differs from the dev node's metadata: run `DECENTER_BLESS_METADATA=1 cargo test -p \
		 decenter-e2e --test metadata`, rebuild the decenter crate and fix what no longer compiles",
		path.display()
	);
}

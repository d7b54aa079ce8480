//! `--chain local`: Alice and Bob, two nodes on loopback, author and finalize together.

use std::time::Duration;

use decenter_e2e::{Node, BOOTNODE_KEY, BOOTNODE_PEER_ID};

#[tokio::test(flavor = "multi_thread")]
async fn two_node_local_network_finalizes() {
	let alice = Node::start("alice", &["--chain", "local", "--alice", "--node-key", BOOTNODE_KEY]);
	let bootnode = alice.multiaddr(BOOTNODE_PEER_ID);
	// An authority of a live chain must be given its network key; Bob's is fixed here too.
	let bob_key = "0000000000000000000000000000000000000000000000000000000000000002";
	let bob = Node::start(
		"bob",
		&["--chain", "local", "--bob", "--node-key", bob_key, "--bootnodes", &bootnode],
	);

	let alice_client = alice.client(Duration::from_secs(120)).await;
	let bob_client = bob.client(Duration::from_secs(120)).await;

	// GRANDPA needs both of the two authorities' votes: a finalized block on either node
	// proves that they reached each other and agree.
	let finalized = alice.wait_finalized(&alice_client, 3, Duration::from_secs(120)).await;
	bob.wait_finalized(&bob_client, finalized, Duration::from_secs(60)).await;
}

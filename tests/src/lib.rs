//! Harness for end-to-end tests: starts real `decenter-node` processes on free loopback
//! ports and stops them when dropped.

use std::{
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use subxt::{OnlineClient, PolkadotConfig};

/// Node key of the first node of a multi-node test, so its peer id is known in advance.
pub const BOOTNODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";
/// Peer id that follows from [`BOOTNODE_KEY`].
pub const BOOTNODE_PEER_ID: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";

/// The `decenter-node` binary: `DECENTER_NODE` if set, else the one built beside this
/// test binary (`cargo build -p decenter-node` first).
/// This crate's directory, read when the test runs: cargo sets `CARGO_MANIFEST_DIR` for the
/// test process. The compile-time value would be wrong when a cached test binary built in
/// another checkout is reused (cargo's artifact hashes use workspace-relative paths).
pub fn crate_dir() -> PathBuf {
	std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

pub fn node_binary() -> PathBuf {
	if let Ok(path) = std::env::var("DECENTER_NODE") {
		return PathBuf::from(path);
	}
	let exe = std::env::current_exe().expect("the test binary knows its own path");
	// target/<profile>/deps/<test> -> target/<profile>/decenter-node
	let profile_dir =
		exe.parent().and_then(Path::parent).expect("test binary lives in target/<profile>/deps");
	let node = profile_dir.join("decenter-node");
	assert!(
		node.exists(),
		"{} does not exist: run `cargo build -p decenter-node` first, or set DECENTER_NODE",
		node.display()
	);
	node
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|listener| listener.local_addr())
		.map(|addr| addr.port())
		.expect("the loopback interface has a free port")
}

/// A running node process; killed on drop.
pub struct Node {
	child: std::sync::Mutex<Child>,
	/// Port of its JSON-RPC server.
	pub rpc_port: u16,
	/// Port of its libp2p listener.
	pub p2p_port: u16,
	/// Port of its prometheus exporter.
	pub prometheus_port: u16,
	log: PathBuf,
}

impl Node {
	/// Starts `decenter-node` with `args`, on fresh ports, in a temporary base path.
	/// Only loopback is used: no mDNS, no telemetry, listening on 127.0.0.1.
	pub fn start(name: &str, args: &[&str]) -> Node {
		let (rpc_port, p2p_port, prometheus_port) = (free_port(), free_port(), free_port());
		let log = std::env::temp_dir().join(format!("decenter-e2e-{name}-{rpc_port}.log"));
		let log_file = std::fs::File::create(&log).expect("temp dir is writable");
		let child = Command::new(node_binary())
			.args(args)
			.args(["--tmp", "--no-mdns", "--no-telemetry"])
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--listen-addr", &format!("/ip4/127.0.0.1/tcp/{p2p_port}")])
			.args(["--prometheus-port", &prometheus_port.to_string()])
			.stdout(Stdio::null())
			.stderr(log_file)
			.spawn()
			.expect("decenter-node starts");
		Node { child: std::sync::Mutex::new(child), rpc_port, p2p_port, prometheus_port, log }
	}

	/// WebSocket URL of its RPC server.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// Multiaddress other nodes can use to reach it, given its peer id.
	pub fn multiaddr(&self, peer_id: &str) -> String {
		format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}", self.p2p_port)
	}

	/// Connects a subxt client, retrying while the node starts.
	pub async fn client(&self, timeout: Duration) -> OnlineClient<PolkadotConfig> {
		let deadline = Instant::now() + timeout;
		loop {
			match OnlineClient::<PolkadotConfig>::from_insecure_url(self.ws_url()).await {
				Ok(client) => return client,
				Err(_) if Instant::now() < deadline => {
					if let Some(status) = self.exited() {
						panic!("decenter-node exited with {status}\n{}", self.log_tail());
					}
					tokio::time::sleep(Duration::from_millis(250)).await;
				},
				Err(e) => {
					panic!("node never answered on {}: {e}\n{}", self.ws_url(), self.log_tail())
				},
			}
		}
	}

	/// Waits until the node has finalized a block numbered at least `number`; returns it.
	pub async fn wait_finalized(
		&self,
		client: &OnlineClient<PolkadotConfig>,
		number: u64,
		timeout: Duration,
	) -> u64 {
		let wait = async {
			let mut blocks = client.stream_blocks().await.expect("finalized-block subscription");
			while let Some(block) = blocks.next().await {
				let block = block.expect("finalized block");
				if block.number() >= number {
					return block.number();
				}
			}
			panic!("finalized-block subscription ended")
		};
		match tokio::time::timeout(timeout, wait).await {
			Ok(n) => n,
			Err(_) => {
				panic!("no finalized block #{number} within {timeout:?}\n{}", self.log_tail())
			},
		}
	}

	/// The exit status, if the process has ended.
	fn exited(&self) -> Option<std::process::ExitStatus> {
		self.child.lock().ok()?.try_wait().ok().flatten()
	}

	/// The last lines the node logged, for failure messages.
	pub fn log_tail(&self) -> String {
		let text = std::fs::read_to_string(&self.log).unwrap_or_default();
		let lines: Vec<&str> = text.lines().collect();
		let start = lines.len().saturating_sub(40);
		format!("--- last lines of {} ---\n{}", self.log.display(), lines[start..].join("\n"))
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		if let Ok(child) = self.child.get_mut() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}
}

/// GETs `path` from `127.0.0.1:port` over plain HTTP/1.0 and returns the body.
pub fn http_get(port: u16, path: &str) -> String {
	use std::io::{Read, Write};
	let mut stream =
		std::net::TcpStream::connect(("127.0.0.1", port)).expect("HTTP server is listening");
	stream.set_read_timeout(Some(Duration::from_secs(10))).expect("socket timeout");
	write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request sent");
	let mut response = String::new();
	stream.read_to_string(&mut response).expect("response read");
	let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response has a body");
	assert!(head.starts_with("HTTP/1.") && head.contains(" 200 "), "{head}");
	body.to_string()
}

/// Runs `decenter-node` with `args` to completion and returns its stdout.
pub fn node_output(args: &[&str]) -> String {
	let output = Command::new(node_binary()).args(args).output().expect("decenter-node runs");
	assert!(
		output.status.success(),
		"decenter-node {args:?} failed: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	String::from_utf8(output.stdout).expect("decenter-node prints UTF-8")
}

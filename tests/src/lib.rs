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
	built_binary("decenter-node", "DECENTER_NODE")
}

/// The program `name`: the path in `env_var` if set, else the one built beside this test
/// binary (target/<profile>/deps/<test> -> target/<profile>/<name>).
fn built_binary(name: &str, env_var: &str) -> PathBuf {
	if let Ok(path) = std::env::var(env_var) {
		return PathBuf::from(path);
	}
	let exe = std::env::current_exe().expect("the test binary knows its own path");
	let profile_dir =
		exe.parent().and_then(Path::parent).expect("test binary lives in target/<profile>/deps");
	let program = profile_dir.join(name);
	assert!(
		program.exists(),
		"{} does not exist: run `cargo build -p {name}` first, or set {env_var}",
		program.display()
	);
	program
}

/// A TCP port on 127.0.0.1 that is free now, for a process started later to listen on.
pub fn free_port() -> u16 {
	free_ports(1)
}

/// The first of `count` consecutive TCP ports on 127.0.0.1 that are free now. They are taken
/// below the kernel's ephemeral range (32768 and up on Linux), so that no outgoing
/// connection's source port can take one before the process given it binds it (a port the
/// kernel handed out and got back, as `bind(0)` gives, can be reused that way), and no two
/// calls in this process get the same port.
pub fn free_ports(count: u16) -> u16 {
	use std::sync::atomic::{AtomicU32, Ordering};
	const FIRST: u32 = 20_000;
	const SPAN: u32 = 12_000;
	static NEXT: AtomicU32 = AtomicU32::new(0);
	// Test binaries of one run start from different places, in case two overlap.
	let origin = (std::process::id() % 600) * 20;
	for _ in 0..SPAN {
		let offset = NEXT.fetch_add(u32::from(count), Ordering::SeqCst);
		let first = FIRST + (origin + offset) % (SPAN - u32::from(count));
		let free = (0..u32::from(count))
			.all(|i| TcpListener::bind(("127.0.0.1", (first + i) as u16)).is_ok());
		if free {
			return first as u16;
		}
	}
	panic!("no {count} consecutive free ports on 127.0.0.1 between {FIRST} and {}", FIRST + SPAN)
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
	/// Everything it was started with, to start it again.
	args: Vec<String>,
	log: PathBuf,
}

impl Node {
	/// Starts `decenter-node` with `args`, on fresh ports, in a temporary base path.
	/// Only loopback is used: no mDNS, no telemetry, listening on 127.0.0.1.
	pub fn start(name: &str, args: &[&str]) -> Node {
		Self::start_in(name, args, None)
	}

	/// As [`Node::start`], with its database in `base_path`, which outlives a restart.
	pub fn start_persistent(name: &str, args: &[&str], base_path: &Path) -> Node {
		Self::start_in(name, args, Some(base_path))
	}

	fn start_in(name: &str, args: &[&str], base_path: Option<&Path>) -> Node {
		let (rpc_port, p2p_port, prometheus_port) = (free_port(), free_port(), free_port());
		let log = std::env::temp_dir().join(format!("decenter-e2e-{name}-{rpc_port}.log"));
		let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
		match base_path {
			Some(path) => all.extend(["--base-path".into(), path.display().to_string()]),
			None => all.push("--tmp".into()),
		}
		all.extend(["--no-mdns".into(), "--no-telemetry".into()]);
		all.extend(["--rpc-port".into(), rpc_port.to_string()]);
		all.extend(["--listen-addr".into(), format!("/ip4/127.0.0.1/tcp/{p2p_port}")]);
		all.extend(["--prometheus-port".into(), prometheus_port.to_string()]);
		let child = Self::spawn(&all, &log);
		Node {
			child: std::sync::Mutex::new(child),
			rpc_port,
			p2p_port,
			prometheus_port,
			args: all,
			log,
		}
	}

	fn spawn(args: &[String], log: &Path) -> Child {
		let log_file = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(log)
			.expect("temp dir is writable");
		Command::new(node_binary())
			.args(args)
			.stdout(Stdio::null())
			.stderr(log_file)
			.spawn()
			.expect("decenter-node starts")
	}

	/// Kills the node and starts it again with the same arguments and ports.
	pub fn restart(&self) {
		let mut child = self.child.lock().expect("node process lock");
		let _ = child.kill();
		let _ = child.wait();
		*child = Self::spawn(&self.args, &self.log);
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

/// The `decenter` program: `DECENTER_BIN` if set, else the one built beside this test binary
/// (`cargo build -p decenter` first).
pub fn decenter_binary() -> PathBuf {
	built_binary("decenter", "DECENTER_BIN")
}

/// A running `decenter` daemon (worker, validator or client server); killed on drop.
pub struct Program {
	child: std::sync::Mutex<Child>,
	args: Vec<String>,
	/// Its stderr (the tracing log), appended across restarts.
	pub log: PathBuf,
}

impl Program {
	/// Starts `decenter ARGS`, logging to a file named after `name`.
	pub fn start(name: &str, args: &[String]) -> Program {
		let log = std::env::temp_dir().join(format!(
			"decenter-e2e-{name}-{}-{}.log",
			std::process::id(),
			free_port()
		));
		let child = Self::spawn(args, &log);
		Program { child: std::sync::Mutex::new(child), args: args.to_vec(), log }
	}

	fn spawn(args: &[String], log: &Path) -> Child {
		let log_file = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(log)
			.expect("temp dir is writable");
		Command::new(decenter_binary())
			.args(args)
			.env("RUST_LOG", "info")
			.stdout(Stdio::null())
			.stderr(log_file)
			.spawn()
			.expect("decenter starts")
	}

	/// Kills the process (SIGKILL: no chance to clean up).
	pub fn kill(&self) {
		if let Ok(mut child) = self.child.lock() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}

	/// Starts it again with the same arguments.
	pub fn restart(&self) {
		self.kill();
		if let Ok(mut child) = self.child.lock() {
			*child = Self::spawn(&self.args, &self.log);
		}
	}

	/// Its log so far.
	pub fn log_text(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}
}

impl Drop for Program {
	fn drop(&mut self) {
		self.kill();
	}
}

/// Runs `decenter ARGS` to completion; returns its stdout, or panics with its stderr.
pub fn decenter(args: &[String]) -> String {
	let output = Command::new(decenter_binary()).args(args).output().expect("decenter runs");
	assert!(
		output.status.success(),
		"decenter {args:?} failed:\n{}",
		String::from_utf8_lossy(&output.stderr)
	);
	String::from_utf8(output.stdout).expect("decenter prints UTF-8")
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

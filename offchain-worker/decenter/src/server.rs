//! The artifact server every daemon runs, over TLS with the certificate the chain pins (see
//! [`crate::tls`]): content-addressed chunks from the store (clients), checkpoints, final
//! models and training progress (workers), and `/metrics`. Every artifact request is
//! authenticated (see [`crate::auth`]) and checked against the order's access list on chain;
//! a stored artifact also needs the order to be entitled to it (see [`crate::access`]).
//!
//! Routes:
//! - `GET /challenge`: a fresh single-use challenge (hex);
//! - `GET /metrics`: prometheus text;
//! - `GET /artifacts/{root}/{chunk}?order={id}`: SCALE `(chunk bytes, Merkle proof)`;
//! - `GET /orders/{id}/checkpoints/{index}`, `/orders/{id}/model`, `/orders/{id}/progress`.

use std::{
	convert::Infallible,
	net::{IpAddr, SocketAddr},
	path::PathBuf,
	sync::Arc,
	time::{Duration, Instant},
};

use bytes::Bytes;
use codec::Encode;
use http_body_util::Full;
use hyper::{
	body::Incoming, server::conn::http1, service::service_fn, Request, Response, StatusCode,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
	net::TcpListener,
	sync::{RwLock, Semaphore},
};
use tokio_rustls::TlsAcceptor;

use crate::{
	access::{AccessCache, OrderAccess, Resource},
	auth::Challenges,
	chain::Chain,
	limits::Limits,
	metrics::Metrics,
	store::{parse_root, ArtifactStore},
	workdir::OrderDir,
};

/// The daemon's current chain connection, replaced when it reconnects.
pub type ChainSlot = Arc<RwLock<Option<Chain>>>;

/// Where the server learns an order's access list.
pub enum AccessList {
	/// From the chain, each order's list kept for [`crate::access::ACCESS_TTL`].
	Chain(ChainSlot, AccessCache),
	/// Fixed lists, for tests of the server alone.
	#[cfg(test)]
	Fixed(std::collections::HashMap<u64, OrderAccess>),
}

/// What a daemon serves.
pub struct ServerState {
	pub access: AccessList,
	/// Uploaded artifacts (a client's datasets).
	pub store: Option<ArtifactStore>,
	/// The account running this server: the store serves its artifacts to this account's
	/// orders and to those it granted them to.
	pub owner: [u8; 32],
	/// A worker's outputs (checkpoints, models, progress).
	pub outputs: Option<WorkerOutputs>,
	pub challenges: Challenges,
	pub metrics: Metrics,
	/// What one address or account may use of the server.
	pub limits: Limits,
}

/// Where a worker's outputs are, and whose they are.
pub struct WorkerOutputs {
	/// The worker's data directory.
	pub dir: PathBuf,
	/// The worker's account: the client may fetch them once this account's work is paid for.
	pub worker: [u8; 32],
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
	let mut response = Response::new(Full::new(body.into()));
	*response.status_mut() = status;
	response
}

/// How long a connection may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request's headers may take to arrive, and an idle kept-alive connection may
/// wait for its next request.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once; further ones wait in the listen backlog.
const MAX_CONNECTIONS: usize = 512;
/// Most bytes of a request's head (every request is a GET with a few headers).
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Pause after a failed `accept` (out of file descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How often sources whose budget is full again are forgotten.
const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

/// Binds `addr` and serves over TLS until the process ends; returns the bound address.
///
/// Slow or idle peers cannot hold the server: the TLS handshake and each request's headers
/// have 10 s, at most `MAX_CONNECTIONS` connections are served at once (and a share of them
/// per address, [`Limits`]), request heads are capped at 16 KiB, and a failing `accept` backs
/// off instead of spinning.
pub async fn serve(
	addr: SocketAddr,
	state: Arc<ServerState>,
	tls: TlsAcceptor,
) -> Result<SocketAddr, String> {
	let listener = TcpListener::bind(addr)
		.await
		.map_err(|e| format!("cannot listen on {addr}: {e} (is another daemon using it?)"))?;
	let bound = listener.local_addr().map_err(|e| e.to_string())?;
	let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
	let forgetting = Arc::downgrade(&state);
	tokio::spawn(async move {
		let mut every = tokio::time::interval(FORGET_IDLE_EVERY);
		loop {
			every.tick().await;
			let Some(state) = forgetting.upgrade() else { return };
			state.limits.forget_idle();
		}
	});
	tokio::spawn(async move {
		loop {
			// Never closed, so this only waits for a free slot.
			let Ok(slot) = slots.clone().acquire_owned().await else { return };
			let (stream, peer) = match listener.accept().await {
				Ok(accepted) => accepted,
				Err(e) => {
					tracing::warn!(error = %e, "accepting a connection failed; backing off");
					tokio::time::sleep(ACCEPT_BACKOFF).await;
					continue;
				},
			};
			let peer = peer.ip();
			let Some(counted) = state.limits.connect(peer) else {
				// Closed at once, before any handshake: this source holds its share of
				// connections already, or is over its budget.
				state.metrics.refused();
				continue;
			};
			let (state, tls) = (state.clone(), tls.clone());
			tokio::spawn(async move {
				let _slot = (slot, counted);
				let Ok(Ok(stream)) =
					tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await
				else {
					return;
				};
				let service = service_fn(move |request| {
					let state = state.clone();
					async move { Ok::<_, Infallible>(handle(&state, peer, request).await) }
				});
				let _ = http1::Builder::new()
					.timer(TokioTimer::new())
					.header_read_timeout(HEADER_TIMEOUT)
					.max_buf_size(MAX_REQUEST_HEAD)
					.serve_connection(TokioIo::new(stream), service)
					.await;
			});
		}
	});
	Ok(bound)
}

/// `429 Too Many Requests`, saying when to try again.
fn too_many(wait: Duration, whose: &str) -> Reply {
	let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
	let mut response = reply(
		StatusCode::TOO_MANY_REQUESTS,
		format!("{whose} made too many requests: try again in {seconds} s"),
	);
	response.headers_mut().insert(hyper::header::RETRY_AFTER, seconds.into());
	response
}

async fn handle(state: &ServerState, peer: IpAddr, request: Request<Incoming>) -> Reply {
	// Before anything that costs the server work: a challenge kept, a signature checked.
	if let Err(wait) = state.limits.request_from(peer) {
		state.metrics.refused();
		return too_many(wait, "this address");
	}
	if request.method() != hyper::Method::GET {
		return reply(StatusCode::METHOD_NOT_ALLOWED, "only GET is served");
	}
	let path = request.uri().path().to_string();
	let signed = request
		.uri()
		.path_and_query()
		.map(|p| p.as_str().to_string())
		.unwrap_or_else(|| path.clone());
	let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
	match segments.as_slice() {
		["challenge"] => reply(StatusCode::OK, hex::encode(state.challenges.issue())),
		["metrics"] => reply(StatusCode::OK, state.metrics.render()),
		_ => {
			let header = |name: &str| {
				request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
			};
			let response = match state.challenges.authenticate(header, &signed) {
				Ok(who) => match state.limits.request_by(&who) {
					Ok(()) => route(state, &who, &segments, request.uri().query()).await,
					Err(wait) => too_many(wait, "this account"),
				},
				Err(e) => reply(StatusCode::UNAUTHORIZED, e.to_string()),
			};
			if response.status() == StatusCode::OK {
				state.metrics.served(hyper::body::Body::size_hint(response.body()).lower());
			} else {
				state.metrics.refused();
			}
			response
		},
	}
}

async fn route(
	state: &ServerState,
	who: &[u8; 32],
	segments: &[&str],
	query: Option<&str>,
) -> Reply {
	let bad = |what: &str| reply(StatusCode::BAD_REQUEST, what.to_string());
	match segments {
		["artifacts", root, chunk] => {
			let Some(root) = parse_root(root) else { return bad("the root must be 64 hex digits") };
			let Ok(chunk) = chunk.parse::<u32>() else { return bad("the chunk must be a number") };
			let order = query
				.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("order=")))
				.and_then(|id| id.parse::<u64>().ok());
			let Some(order) = order else { return bad("name the order: ?order=ID") };
			let access = match check(state, order, who, Resource::Artifact(root)).await {
				Ok(access) => access,
				Err(refusal) => return refusal,
			};
			if let Err(why) = access.entitled(&state.owner, &root) {
				tracing::info!(order, who = hex::encode(who), why, "artifact request refused");
				let mut refusal = reply(StatusCode::FORBIDDEN, why);
				// Final, unlike "not listed" (this store's node may lag): a worker declines.
				refusal.headers_mut().insert(
					crate::auth::REFUSAL_HEADER,
					hyper::header::HeaderValue::from_static(crate::auth::NOT_ENTITLED),
				);
				return refusal;
			}
			let Some(store) = state.store.clone() else {
				return reply(StatusCode::NOT_FOUND, "no such artifact here");
			};
			// Indexing a large file and reading a chunk block: off the async threads.
			match tokio::task::spawn_blocking(move || store.chunk(&root, chunk)).await {
				Ok(Some((bytes, proof))) => reply(StatusCode::OK, (bytes, proof).encode()),
				_ => reply(StatusCode::NOT_FOUND, "no such artifact or chunk here"),
			}
		},
		["orders", id, rest @ ..] => {
			let Ok(order) = id.parse::<u64>() else { return bad("the order must be a number") };
			let Some(outputs) = &state.outputs else {
				return reply(StatusCode::NOT_FOUND, "this daemon serves no training outputs");
			};
			let dir = OrderDir::new(&outputs.dir, order);
			let work = Resource::TrainedWork(outputs.worker);
			let (file, resource) = match rest {
				["checkpoints", index] => match index.parse::<u32>() {
					Ok(index) => (dir.checkpoint(index), work),
					Err(_) => return bad("the checkpoint index must be a number"),
				},
				["model"] => (dir.model(), work),
				["progress"] => (dir.progress(), Resource::Progress),
				_ => return reply(StatusCode::NOT_FOUND, "no such route"),
			};
			if let Err(refusal) = check(state, order, who, resource).await {
				return refusal;
			}
			match tokio::fs::read(&file).await {
				Ok(bytes) => reply(StatusCode::OK, bytes),
				Err(_) => reply(StatusCode::NOT_FOUND, "not produced (yet)"),
			}
		},
		_ => reply(StatusCode::NOT_FOUND, "no such route"),
	}
}

/// The order's access list, if it allows `who` to fetch `resource`, or the reply refusing it.
async fn check(
	state: &ServerState,
	order: u64,
	who: &[u8; 32],
	resource: Resource,
) -> Result<OrderAccess, Reply> {
	let access = match &state.access {
		AccessList::Chain(slot, cache) => {
			// Served from the cache only when it allows; a refusal is decided on a fresh read.
			if let Some(access) = cache.get(order, Instant::now()) {
				if access.allows(who, resource).is_ok() {
					return Ok(access);
				}
			}
			let guard = slot.read().await;
			let Some(chain) = guard.as_ref() else {
				return Err(reply(StatusCode::SERVICE_UNAVAILABLE, "not connected to the chain"));
			};
			let read = Instant::now();
			let access = match chain.order(order).await {
				Ok(Some(record)) => OrderAccess::of(&record)
					.map_err(|e| reply(StatusCode::INTERNAL_SERVER_ERROR, e))?,
				Ok(None) => return Err(reply(StatusCode::NOT_FOUND, "no such order")),
				Err(e) => return Err(reply(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
			};
			cache.keep(order, access.clone(), read);
			access
		},
		#[cfg(test)]
		AccessList::Fixed(lists) => match lists.get(&order) {
			Some(access) => access.clone(),
			None => return Err(reply(StatusCode::NOT_FOUND, "no such order")),
		},
	};
	match access.allows(who, resource) {
		Ok(()) => Ok(access),
		Err(why) => {
			tracing::info!(order, who = hex::encode(who), why, "artifact request refused");
			Err(reply(StatusCode::FORBIDDEN, why))
		},
	}
}

#[cfg(test)]
mod tests {
	use std::collections::HashMap;

	use decenter_primitives::{spec::ArtifactCommitment, Hash256};
	use subxt_signer::sr25519::dev;

	use super::*;
	use crate::{auth, fetch::Fetcher, grant, tls::Identity};

	/// A server run by Alice whose order 1 lists Alice (client), Bob (worker) and Dave
	/// (validator), with a 2.5-chunk training set and a validation set in its store. Returns
	/// its pinned URL, the two commitments and its directory.
	async fn server_with(
		extra: impl FnOnce(&str, Hash256, Hash256) -> Vec<(u64, OrderAccess)>,
	) -> (String, ArtifactCommitment, ArtifactCommitment, std::path::PathBuf) {
		limited_server_with(Limits::default(), extra).await
	}

	/// [`server_with`] with `limits` instead of the defaults.
	async fn limited_server_with(
		limits: Limits,
		extra: impl FnOnce(&str, Hash256, Hash256) -> Vec<(u64, OrderAccess)>,
	) -> (String, ArtifactCommitment, ArtifactCommitment, std::path::PathBuf) {
		let dir = std::env::temp_dir().join(format!(
			"decenter-server-{}-{}",
			std::process::id(),
			rand::random::<u32>()
		));
		let store = ArtifactStore::open(&dir.join("store"), 1 << 30).unwrap();
		let train = store.put((0..(5 << 19)).map(|i| (i % 251) as u8).collect()).unwrap();
		let validation = store.put(b"1,2,3\n".to_vec()).unwrap();
		let outputs = dir.join("outputs");
		let order_dir = OrderDir::new(&outputs, 1);
		order_dir.create().unwrap();
		std::fs::write(order_dir.model(), b"model bytes").unwrap();
		std::fs::write(order_dir.progress(), b"progress").unwrap();
		std::fs::write(dir.join("secret"), b"do not serve").unwrap();
		let identity = Identity::load_or_create(&dir.join("store")).unwrap();
		let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
		let bound = listener.local_addr().unwrap();
		drop(listener);
		let base = identity.url(&format!("https://{bound}")).unwrap();
		let access = OrderAccess {
			client: dev::alice().public_key().0,
			workers: vec![dev::bob().public_key().0],
			validators: vec![dev::dave().public_key().0],
			live: true,
			paid: Vec::new(),
			shared: vec![train.root()],
			validation: validation.root(),
			locations: vec![(train.root(), base.clone()), (validation.root(), base.clone())],
		};
		let mut lists = HashMap::from([(1, access)]);
		lists.extend(extra(&base, train.root(), validation.root()));
		let state = Arc::new(ServerState {
			access: AccessList::Fixed(lists),
			store: Some(store),
			owner: dev::alice().public_key().0,
			outputs: Some(WorkerOutputs { dir: outputs, worker: dev::bob().public_key().0 }),
			challenges: Default::default(),
			metrics: Metrics::new(),
			limits,
		});
		serve(bound, state, identity.acceptor().unwrap()).await.unwrap();
		let commitment = |root, size| ArtifactCommitment {
			root,
			size,
			location: base.clone().into_bytes().try_into().unwrap(),
		};
		(
			base.clone(),
			commitment(train.root(), train.size()),
			commitment(validation.root(), validation.size()),
			dir,
		)
	}

	async fn server() -> (String, ArtifactCommitment, ArtifactCommitment, std::path::PathBuf) {
		server_with(|_, _, _| Vec::new()).await
	}

	/// Body limit of the tests' requests.
	const LIMIT: usize = 1 << 20;

	fn fetcher(key: subxt_signer::sr25519::Keypair) -> Fetcher {
		Fetcher::new(Arc::new(key))
	}

	#[tokio::test]
	async fn listed_accounts_fetch_verified_chunks() {
		let (base, train, validation, _) = server().await;
		let bytes = fetcher(dev::bob()).artifact(1, &train).await.unwrap();
		assert_eq!(bytes.len(), 5 << 19);
		assert_eq!(fetcher(dev::dave()).artifact(1, &validation).await.unwrap(), b"1,2,3\n");
		assert_eq!(
			&fetcher(dev::dave()).get(&base, "/orders/1/model", LIMIT).await.unwrap()[..],
			b"model bytes"
		);
		assert_eq!(
			&fetcher(dev::alice()).get(&base, "/orders/1/progress", LIMIT).await.unwrap()[..],
			b"progress"
		);
		let metrics = Fetcher::raw_get(&base, "/metrics", &[], LIMIT).await.unwrap().2;
		assert!(String::from_utf8_lossy(&metrics).contains("decenter_artifact_bytes_served_total"));
	}

	/// A download cut off after its first chunk, in the middle of writing its second (what a
	/// killed fetch leaves), resumes after the last whole verified chunk: it fetches only the
	/// other two, and the file is the artifact.
	#[tokio::test]
	async fn a_cut_off_download_resumes_after_its_last_verified_chunk() {
		use decenter_primitives::proof::CHUNK_SIZE;
		let (_, train, _, dir) = server().await;
		let expected: Vec<u8> = (0..(5 << 19)).map(|i| (i % 251) as u8).collect();
		let path = dir.join("dataset");
		let mut partial = expected[..CHUNK_SIZE].to_vec();
		partial.extend_from_slice(&[0xee; 1_000]);
		std::fs::write(path.with_extension("fetching"), &partial).unwrap();
		let fetched = fetcher(dev::bob()).artifact_to_file(1, &train, &path).await.unwrap();
		assert_eq!(fetched, 2);
		assert_eq!(std::fs::read(&path).unwrap(), expected);
		assert!(!path.with_extension("fetching").exists());
		// A file left from something else is found out at the end and fetched again.
		let stale = dir.join("stale");
		std::fs::write(stale.with_extension("fetching"), vec![7u8; CHUNK_SIZE]).unwrap();
		let error = fetcher(dev::bob()).artifact_to_file(1, &train, &stale).await.unwrap_err();
		assert!(error.to_string().contains("does not have the committed root"), "{error}");
		assert!(!stale.exists() && !stale.with_extension("fetching").exists());
		assert_eq!(fetcher(dev::bob()).artifact_to_file(1, &train, &stale).await.unwrap(), 3);
		assert_eq!(std::fs::read(&stale).unwrap(), expected);
		// From nothing, every chunk.
		let fresh = dir.join("fresh");
		assert_eq!(fetcher(dev::bob()).artifact_to_file(1, &train, &fresh).await.unwrap(), 3);
		assert_eq!(std::fs::read(&fresh).unwrap(), expected);
	}

	#[tokio::test]
	async fn unlisted_accounts_and_wrong_resources_are_refused() {
		let (base, train, validation, _) = server().await;
		let error = fetcher(dev::ferdie()).artifact(1, &train).await.unwrap_err();
		// Not final: the store's node may not list an account that was just drawn.
		assert!(matches!(error, crate::fetch::FetchError::Unavailable(_)), "{error}");
		let error = error.to_string();
		assert!(error.contains("403"), "{error}");
		// A worker never sees the validation set, nor another replica's outputs.
		let error = fetcher(dev::bob()).artifact(1, &validation).await.unwrap_err().to_string();
		assert!(error.contains("403"), "{error}");
		let error =
			fetcher(dev::bob()).get(&base, "/orders/1/model", LIMIT).await.unwrap_err().to_string();
		assert!(error.contains("403"), "{error}");
		// The client gets the model and checkpoints only once the order is completed (paid).
		let error = fetcher(dev::alice())
			.get(&base, "/orders/1/model", LIMIT)
			.await
			.unwrap_err()
			.to_string();
		assert!(error.contains("403") && error.contains("completed"), "{error}");
		let error = fetcher(dev::alice())
			.get(&base, "/orders/1/checkpoints/0", LIMIT)
			.await
			.unwrap_err()
			.to_string();
		assert!(error.contains("403"), "{error}");
		// Listed for order 1 is not listed for order 2.
		let error = fetcher(dev::alice())
			.get(&base, "/orders/2/model", LIMIT)
			.await
			.unwrap_err()
			.to_string();
		assert!(error.contains("404"), "{error}");
	}

	#[tokio::test]
	async fn wrong_key_and_replayed_signature_are_refused() {
		let (base, _, _, _) = server().await;
		let path = "/orders/1/progress";
		let challenge = |body: Bytes| -> [u8; 32] {
			hex::decode(std::str::from_utf8(&body).unwrap()).unwrap().try_into().unwrap()
		};
		// Ferdie signs, claiming to be Alice.
		let (_, _, body) = Fetcher::raw_get(&base, "/challenge", &[], LIMIT).await.unwrap();
		let mut forged = auth::headers(&dev::ferdie(), &challenge(body), path);
		forged[0].1 = hex::encode(dev::alice().public_key().0);
		let (status, _, _) = Fetcher::raw_get(&base, path, &forged, LIMIT).await.unwrap();
		assert_eq!(status, hyper::StatusCode::UNAUTHORIZED);
		// Alice's genuine request works once; the same headers again are refused.
		let (_, _, body) = Fetcher::raw_get(&base, "/challenge", &[], LIMIT).await.unwrap();
		let signed = auth::headers(&dev::alice(), &challenge(body), path);
		assert_eq!(
			Fetcher::raw_get(&base, path, &signed, LIMIT).await.unwrap().0,
			hyper::StatusCode::OK
		);
		let (status, _, body) = Fetcher::raw_get(&base, path, &signed, LIMIT).await.unwrap();
		assert_eq!(status, hyper::StatusCode::UNAUTHORIZED);
		assert!(String::from_utf8_lossy(&body).contains("challenge"));
		// No headers at all.
		assert_eq!(
			Fetcher::raw_get(&base, path, &[], LIMIT).await.unwrap().0,
			hyper::StatusCode::UNAUTHORIZED
		);
	}

	#[tokio::test]
	async fn path_traversal_reaches_nothing() {
		let (base, _, _, _) = server().await;
		let alice = fetcher(dev::alice());
		for path in [
			"/artifacts/..%2F..%2Fsecret/0?order=1",
			"/artifacts/../../secret/0?order=1",
			"/orders/1/../../secret",
			"/orders/1/checkpoints/..%2F..%2F..%2Fsecret",
			"/orders/..%2F..%2Fsecret/model",
			"/orders/1/model/../../../secret",
		] {
			let error = alice.get(&base, path, LIMIT).await.unwrap_err().to_string();
			assert!(!error.contains("do not serve"), "{path}: {error}");
			assert!(error.contains("400") || error.contains("404"), "{path}: {error}");
		}
	}

	#[tokio::test]
	async fn attack_copy_a_victims_order_to_fetch_its_data() {
		// Order 2 is Eve's copy of Alice's spec: same roots and locations, Eve as client and
		// worker. Order 3 is Bob's, with Alice's grant of the training set to Bob.
		let (_, train, validation, _) = server_with(|base, train, validation| {
			let copy = |client: [u8; 32], location: String| OrderAccess {
				client,
				workers: vec![client],
				validators: vec![dev::dave().public_key().0],
				live: true,
				paid: Vec::new(),
				shared: vec![train],
				validation,
				locations: vec![(train, location.clone()), (validation, location)],
			};
			let bob = dev::bob().public_key().0;
			let grant = hex::encode(grant::sign(&dev::alice(), &train, &bob));
			vec![
				(2, copy(dev::eve().public_key().0, base.to_string())),
				(3, copy(bob, format!("{base}&grant={grant}"))),
			]
		})
		.await;
		for (who, artifact) in [(dev::eve(), &train), (dev::eve(), &validation)] {
			let error = fetcher(who).artifact(2, artifact).await.unwrap_err();
			// Final: a worker drawn for the copy declines at once.
			assert!(matches!(error, crate::fetch::FetchError::Refused(_)), "{error}");
			assert!(error.to_string().contains("no grant"), "{error}");
		}
		// The validator of the copy is refused as well: the order, not the account, is judged.
		let error = fetcher(dev::dave()).artifact(2, &validation).await.unwrap_err().to_string();
		assert!(error.contains("403"), "{error}");
		// The grantee's order gets the granted artifact and nothing else.
		assert_eq!(fetcher(dev::bob()).artifact(3, &train).await.unwrap().len(), 5 << 19);
		let error = fetcher(dev::dave()).artifact(3, &validation).await.unwrap_err().to_string();
		assert!(error.contains("403"), "{error}");
	}

	#[tokio::test]
	async fn transfers_are_encrypted_and_pinned() {
		let (base, train, _, dir) = server().await;
		let endpoint = crate::tls::Endpoint::parse(&base).unwrap();
		// A plain HTTP request gets no HTTP answer, let alone data.
		{
			use tokio::io::{AsyncReadExt, AsyncWriteExt};
			let mut stream = tokio::net::TcpStream::connect(&endpoint.authority).await.unwrap();
			stream.write_all(b"GET /challenge HTTP/1.0\r\n\r\n").await.unwrap();
			let mut answer = Vec::new();
			let _ = tokio::time::timeout(
				std::time::Duration::from_secs(5),
				stream.read_to_end(&mut answer),
			)
			.await;
			assert!(!String::from_utf8_lossy(&answer).contains("HTTP/1"), "served in clear");
		}
		// A server whose certificate is not the pinned one is refused (a stand-in, say).
		let other = Identity::load_or_create(&dir.join("other")).unwrap();
		let wrong_pin = other.url(&format!("https://{}", endpoint.authority)).unwrap();
		let error = fetcher(dev::bob())
			.get(&wrong_pin, "/orders/1/progress", LIMIT)
			.await
			.unwrap_err()
			.to_string();
		assert!(error.contains("not the one the chain names"), "{error}");
		let location = wrong_pin.into_bytes().try_into().unwrap();
		let pinned_elsewhere = ArtifactCommitment { location, ..train };
		assert!(fetcher(dev::bob()).artifact(1, &pinned_elsewhere).await.is_err());
	}

	#[tokio::test]
	async fn an_answer_longer_than_its_limit_is_cut_off() {
		let (base, _, _, dir) = server().await;
		let model = OrderDir::new(&dir.join("outputs"), 1).model();
		std::fs::write(&model, vec![7u8; 3 << 20]).unwrap();
		let error = fetcher(dev::dave()).get(&base, "/orders/1/model", LIMIT).await.unwrap_err();
		assert!(matches!(error, crate::fetch::FetchError::Corrupt(_)), "{error}");
		assert!(error.to_string().contains("longer than the 1048576 bytes"), "{error}");
		let whole = fetcher(dev::dave()).get(&base, "/orders/1/model", 4 << 20).await.unwrap();
		assert_eq!(whole.len(), 3 << 20);
	}

	#[tokio::test]
	async fn a_connection_that_sends_no_request_is_closed() {
		use tokio::io::AsyncReadExt;
		let (base, _, _, _) = server().await;
		let endpoint = crate::tls::Endpoint::parse(&base).unwrap();
		let tcp = tokio::net::TcpStream::connect(&endpoint.authority).await.unwrap();
		let mut tls = endpoint
			.connector()
			.unwrap()
			.connect(endpoint.server_name().unwrap(), tcp)
			.await
			.unwrap();
		let started = std::time::Instant::now();
		let mut byte = [0u8; 1];
		let read = tokio::time::timeout(Duration::from_secs(30), tls.read(&mut byte)).await;
		assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "still open: {read:?}");
		assert!(started.elapsed() >= HEADER_TIMEOUT - Duration::from_secs(1));
	}

	fn budget(interval: Duration, burst: u32, connections: usize) -> Limits {
		Limits::new(crate::limits::Budget {
			interval,
			burst: std::num::NonZeroU32::new(burst).unwrap(),
			connections,
		})
	}

	#[tokio::test]
	async fn attack_flood_one_server_from_one_address() {
		// Eleven at once, then one a minute: no test is slow enough to earn another.
		let minute = Duration::from_secs(60);
		let (base, _, _, _) =
			limited_server_with(budget(minute, 11, 8), |_, _, _| Vec::new()).await;
		// Each try costs two: its connection and its request.
		for _ in 0..5 {
			let (status, _, _) = Fetcher::raw_get(&base, "/challenge", &[], LIMIT).await.unwrap();
			assert_eq!(status, StatusCode::OK);
		}
		// Over its burst, the address is told to wait, before any challenge is issued or
		// signature checked.
		let (status, _, body) = Fetcher::raw_get(&base, "/challenge", &[], LIMIT).await.unwrap();
		assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
		assert!(String::from_utf8_lossy(&body).contains("try again in"), "{body:?}");
		// And its next connection is closed before a handshake.
		assert!(Fetcher::raw_get(&base, "/orders/1/model", &[], LIMIT).await.is_err());
	}

	#[tokio::test]
	async fn attack_hold_every_connection_from_one_address() {
		use tokio::io::AsyncReadExt;
		let budget = budget(Duration::from_millis(1), 100, 2);
		let (base, _, _, _) = limited_server_with(budget, |_, _, _| Vec::new()).await;
		let endpoint = crate::tls::Endpoint::parse(&base).unwrap();
		let open = || async {
			let tcp = tokio::net::TcpStream::connect(&endpoint.authority).await.unwrap();
			endpoint.connector().unwrap().connect(endpoint.server_name().unwrap(), tcp).await
		};
		let first = open().await.expect("first connection");
		let _second = open().await.expect("second connection");
		// The third is closed at once: no TLS session, or one that reads end of stream.
		if let Ok(mut third) = open().await {
			let mut byte = [0u8; 1];
			let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut byte)).await;
			assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "third still open: {read:?}");
		}
		drop(first);
		tokio::time::sleep(Duration::from_millis(200)).await;
		let (status, _, _) = Fetcher::raw_get(&base, "/challenge", &[], LIMIT).await.unwrap();
		assert_eq!(status, StatusCode::OK, "a closed connection frees its place");
	}

	#[tokio::test]
	async fn an_honest_fetcher_over_its_budget_waits_and_still_gets_everything() {
		let budget = budget(Duration::from_millis(100), 3, 8);
		let (_, train, _, _) = limited_server_with(budget, |_, _, _| Vec::new()).await;
		// Three chunks, each a connection, a challenge and a request: nine at three a burst.
		let bytes = fetcher(dev::bob()).artifact(1, &train).await.unwrap();
		assert_eq!(bytes.len() as u64, train.size);
	}
}

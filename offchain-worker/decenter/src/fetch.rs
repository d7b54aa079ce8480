//! The authenticated HTTPS client for other participants' artifact servers: TLS pinned to
//! the certificate the chain names (see [`crate::tls`]), requests signed by the daemon's key.

use std::{path::Path, sync::Arc, time::Duration};

use bytes::Bytes;
use codec::Decode;
use decenter_engine::artifact::{ArtifactIndex, ChunkVerifier};
use decenter_primitives::{
	merkle::MerkleProof,
	proof::CHUNK_SIZE,
	spec::{ArtifactCommitment, TrainingSpec},
};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use subxt_signer::sr25519::Keypair;
use tokio::net::TcpStream;

use crate::{auth, tls::Endpoint};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Fresh challenges a request tries before giving up on authentication.
const CHALLENGE_ATTEMPTS: u32 = 3;
/// Times a request waits and tries again when the server says this fetcher made too many
/// requests (`429`), waiting 250 ms, then twice as long each time up to 4 s (about 20 s in
/// all).
const THROTTLED_ATTEMPTS: u32 = 8;

/// After a `429` (the server limits each address and account), waits before the next try and
/// says to make it, while `THROTTLED_ATTEMPTS` remain: 250 ms, doubling up to 4 s.
async fn waited_out(status: StatusCode, throttled: &mut u32) -> bool {
	if status != StatusCode::TOO_MANY_REQUESTS || *throttled >= THROTTLED_ATTEMPTS {
		return false;
	}
	*throttled += 1;
	tokio::time::sleep(Duration::from_millis(250 << (*throttled - 1).min(4))).await;
	true
}
/// How long reaching a server may take; a dead host fails fast instead of using up a
/// worker's confirmation window.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a fetch failed, as far as whoever fetched can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
	/// No answer, a broken connection, a server error, or a refusal that may change (the
	/// server's node not yet listing the requester, a spent challenge): it may work later.
	Unavailable(String),
	/// The server says the order is not entitled to the artifact, or the URL is not one the
	/// program can use: no retry can help.
	Refused(String),
	/// The bytes do not match their commitment.
	Corrupt(String),
}

impl FetchError {
	/// Whether trying again cannot help.
	pub fn is_final(&self) -> bool {
		!matches!(self, FetchError::Unavailable(_))
	}
}

impl std::fmt::Display for FetchError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			FetchError::Unavailable(e) | FetchError::Refused(e) | FetchError::Corrupt(e) => {
				f.write_str(e)
			},
		}
	}
}

impl From<FetchError> for String {
	fn from(error: FetchError) -> String {
		error.to_string()
	}
}

/// Signs requests with the daemon's key.
#[derive(Clone)]
pub struct Fetcher {
	key: Arc<Keypair>,
}

impl Fetcher {
	pub fn new(key: Arc<Keypair>) -> Self {
		Fetcher { key }
	}

	/// Opens a pinned TLS connection to the server at `base` (its pinned URL), over which
	/// requests go one after another (HTTP/1.1 keep-alive).
	async fn connect(base: &str) -> Result<Connection, FetchError> {
		let endpoint = Endpoint::parse(base).map_err(FetchError::Refused)?;
		let host = endpoint.authority.clone();
		let open = async {
			let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&host))
				.await
				.map_err(|_| format!("cannot reach {host} within {} s", CONNECT_TIMEOUT.as_secs()))?
				.map_err(|e| format!("cannot reach {host}: {e}"))?;
			let stream = endpoint
				.connector()?
				.connect(endpoint.server_name()?, stream)
				.await
				.map_err(|e| format!("TLS with {host} failed: {e}"))?;
			let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
				.await
				.map_err(|e| format!("{host}: {e}"))?;
			tokio::spawn(connection);
			Ok::<_, String>(sender)
		};
		let sender = tokio::time::timeout(REQUEST_TIMEOUT, open)
			.await
			.map_err(|_| FetchError::Unavailable(format!("{host}: no TLS session within 60 s")))?
			.map_err(FetchError::Unavailable)?;
		Ok(Connection { host, sender })
	}

	/// GETs `path` from the server at `base` (its pinned URL), unauthenticated, on a
	/// connection of its own; at most `limit` bytes of body.
	#[cfg(test)]
	pub(crate) async fn raw_get(
		base: &str,
		path: &str,
		headers: &[(&'static str, String)],
		limit: usize,
	) -> Result<(StatusCode, bool, Bytes), FetchError> {
		Self::connect(base).await?.get(path, headers, limit).await
	}

	/// GETs `path` from the server at `base` (its pinned URL), authenticated with a fresh
	/// challenge asked for on the same connection; at most `limit` bytes of body (a longer
	/// answer is cut off and refused).
	pub async fn get(&self, base: &str, path: &str, limit: usize) -> Result<Bytes, FetchError> {
		let mut connection = Self::connect(base).await?;
		self.get_on(&mut connection, path, limit).await
	}

	/// [`Self::get`] on an open connection, so that many requests share one TLS session (and
	/// one connection of the server's per-address budget).
	async fn get_on(
		&self,
		connection: &mut Connection,
		path: &str,
		limit: usize,
	) -> Result<Bytes, FetchError> {
		let host = connection.host.clone();
		let (mut attempt, mut throttled) = (0, 0);
		loop {
			attempt += 1;
			let (status, _, challenge) = connection.get("/challenge", &[], CHALLENGE_BYTES).await?;
			if waited_out(status, &mut throttled).await {
				attempt -= 1;
				continue;
			}
			if status != StatusCode::OK {
				return Err(FetchError::Unavailable(format!("{host}/challenge answered {status}")));
			}
			let challenge: [u8; 32] = std::str::from_utf8(&challenge)
				.ok()
				.and_then(|text| hex::decode(text.trim()).ok())
				.and_then(|bytes| bytes.try_into().ok())
				.ok_or_else(|| {
					FetchError::Unavailable(format!("{host}/challenge did not answer a challenge"))
				})?;
			let headers = auth::headers(&self.key, &challenge, path);
			let (status, final_refusal, body) = connection.get(path, &headers, limit).await?;
			if waited_out(status, &mut throttled).await {
				attempt -= 1;
				continue;
			}
			// A flood of challenges may push ours out before it is used: ask for another.
			if status == StatusCode::UNAUTHORIZED && attempt < CHALLENGE_ATTEMPTS {
				continue;
			}
			if status != StatusCode::OK {
				let what =
					format!("{host}{path} answered {status}: {}", String::from_utf8_lossy(&body));
				return Err(if final_refusal {
					FetchError::Refused(what)
				} else {
					FetchError::Unavailable(what)
				});
			}
			return Ok(body);
		}
	}

	/// Fetches the committed artifact of order `order` chunk by chunk from where it is located,
	/// verifying every chunk against its root, into memory.
	pub async fn artifact(
		&self,
		order: u64,
		commitment: &ArtifactCommitment,
	) -> Result<Vec<u8>, FetchError> {
		let location = String::from_utf8_lossy(&commitment.location).to_string();
		let mut verifier = ChunkVerifier::new(location, commitment.root, commitment.size);
		let mut bytes = Vec::new();
		self.chunks(order, commitment, &mut verifier, &mut bytes).await?;
		verifier.finish().map_err(|e| FetchError::Corrupt(e.to_string()))?;
		Ok(bytes)
	}

	/// Fetches the committed artifact of order `order` into the file `path`, verifying every
	/// chunk against its root. Verified chunks are appended to `path` with the extension
	/// `fetching` as they arrive, so that a fetch cut off (an error, or the program stopped)
	/// resumes after the last whole chunk there; the file becomes `path` once complete.
	/// Returns how many chunks it fetched (fewer than the artifact has when it resumed).
	pub async fn artifact_to_file(
		&self,
		order: u64,
		commitment: &ArtifactCommitment,
		path: &Path,
	) -> Result<u32, FetchError> {
		let local = |e: std::io::Error| FetchError::Unavailable(format!("{}: {e}", path.display()));
		let partial = path.with_extension("fetching");
		let have = std::fs::metadata(&partial).map_or(0, |meta| meta.len());
		// Only whole chunks count: a chunk cut off mid-write is fetched again.
		let whole = u32::try_from(have / CHUNK_SIZE as u64).unwrap_or(u32::MAX);
		let location = String::from_utf8_lossy(&commitment.location).to_string();
		let mut verifier = ChunkVerifier::resume(location, commitment.root, commitment.size, whole);
		let kept = u64::from(verifier.next_index()).saturating_mul(CHUNK_SIZE as u64);
		let mut file =
			std::fs::OpenOptions::new().create(true).append(true).open(&partial).map_err(local)?;
		file.set_len(kept.min(commitment.size)).map_err(local)?;
		let from = verifier.next_index();
		if from > 0 {
			tracing::info!(order, chunk = from, "resuming a cut-off fetch");
		}
		self.chunks(order, commitment, &mut verifier, &mut file).await?;
		verifier.finish().map_err(|e| FetchError::Corrupt(e.to_string()))?;
		file.sync_all().map_err(local)?;
		drop(file);
		// The chunks resumed from were verified by whoever wrote them, which need not be this
		// fetch (a file left from another chain's order of the same id): the whole file must
		// have the committed root, read a chunk at a time, or it is fetched again from nothing.
		if from > 0 {
			let file = std::fs::File::open(&partial).map_err(local)?;
			let index = ArtifactIndex::read(std::io::BufReader::new(file)).map_err(local)?;
			if index.root() != commitment.root {
				let _ = std::fs::remove_file(&partial);
				return Err(FetchError::Unavailable(format!(
					"{}: the resumed file does not have the committed root; fetching it again",
					path.display()
				)));
			}
		}
		std::fs::rename(&partial, path).map_err(local)?;
		Ok(verifier_chunks(commitment).saturating_sub(from))
	}

	/// Fetches the chunks `verifier` expects next, from its next one to the last, over one TLS
	/// session, verifying each and writing it to `sink`.
	async fn chunks(
		&self,
		order: u64,
		commitment: &ArtifactCommitment,
		verifier: &mut ChunkVerifier,
		sink: &mut impl std::io::Write,
	) -> Result<(), FetchError> {
		let (from, to) = (verifier.next_index(), verifier.chunks());
		if from >= to {
			return Ok(());
		}
		let location = String::from_utf8_lossy(&commitment.location).to_string();
		let root = hex::encode(commitment.root);
		let mut connection = Self::connect(&location).await?;
		for index in from..to {
			let path = format!("/artifacts/{root}/{index}?order={order}");
			let body = self.get_on(&mut connection, &path, CHUNK_ANSWER_BYTES).await?;
			let (bytes, proof) = <(Vec<u8>, MerkleProof)>::decode(&mut &body[..]).map_err(|e| {
				FetchError::Corrupt(format!(
					"{location}: chunk {index} is not a chunk with its proof: {e}"
				))
			})?;
			verifier.push(&bytes, &proof).map_err(|e| FetchError::Corrupt(e.to_string()))?;
			sink.write_all(&bytes)
				.map_err(|e| FetchError::Unavailable(format!("cannot keep chunk {index}: {e}")))?;
		}
		Ok(())
	}
}

/// Chunks of the artifact `commitment` names.
fn verifier_chunks(commitment: &ArtifactCommitment) -> u32 {
	u32::try_from(commitment.size.div_ceil(CHUNK_SIZE as u64)).unwrap_or(u32::MAX)
}

/// One pinned TLS connection to an artifact server.
struct Connection {
	/// `HOST:PORT`, for messages.
	host: String,
	sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl Connection {
	/// GETs `path` with `headers`: the status, whether the refusal is final (see
	/// [`auth::REFUSAL_HEADER`]) and at most `limit` bytes of body.
	async fn get(
		&mut self,
		path: &str,
		headers: &[(&'static str, String)],
		limit: usize,
	) -> Result<(StatusCode, bool, Bytes), FetchError> {
		let host = self.host.clone();
		let exchange = async {
			self.sender.ready().await.map_err(|e| {
				FetchError::Unavailable(format!("{host}: the connection closed: {e}"))
			})?;
			let mut builder = Request::get(path).header("host", host.as_str());
			for (name, value) in headers {
				builder = builder.header(*name, value);
			}
			let request = builder
				.body(Empty::<Bytes>::new())
				.map_err(|e| FetchError::Refused(format!("{host}{path}: {e}")))?;
			let response = self
				.sender
				.send_request(request)
				.await
				.map_err(|e| FetchError::Unavailable(format!("{host}{path}: {e}")))?;
			let status = response.status();
			let final_refusal = response
				.headers()
				.get(auth::REFUSAL_HEADER)
				.is_some_and(|value| value == auth::NOT_ENTITLED);
			let body = Limited::new(response.into_body(), limit).collect().await.map_err(|e| {
				if e.downcast_ref::<LengthLimitError>().is_some() {
					FetchError::Corrupt(format!(
						"{host}{path}: the answer is longer than the {limit} bytes it may have"
					))
				} else {
					FetchError::Unavailable(format!("{host}{path}: {e}"))
				}
			})?;
			Ok((status, final_refusal, body.to_bytes()))
		};
		tokio::time::timeout(REQUEST_TIMEOUT, exchange).await.map_err(|_| {
			FetchError::Unavailable(format!(
				"{host}{path}: no answer within {} s",
				REQUEST_TIMEOUT.as_secs()
			))
		})?
	}
}

/// Most bytes of a `/challenge` answer (64 hex digits).
const CHALLENGE_BYTES: usize = 128;
/// Most bytes of an artifact chunk's answer: the chunk and its Merkle proof.
const CHUNK_ANSWER_BYTES: usize = CHUNK_SIZE + 64 * 1024;
/// Most bytes of a worker's progress (JSON with the losses so far).
pub const PROGRESS_BYTES: usize = 64 << 20;

/// Most bytes of a checkpoint or model of `spec` ([`TrainingSpec::trained_work_bytes`], the
/// bound the chain also counts fetch time by).
pub fn trained_work_bytes(spec: &TrainingSpec) -> usize {
	usize::try_from(spec.trained_work_bytes()).unwrap_or(usize::MAX)
}

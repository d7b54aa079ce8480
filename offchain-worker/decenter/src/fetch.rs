//! The authenticated HTTP client for other participants' artifact servers.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use codec::Decode;
use decenter_engine::artifact::ChunkVerifier;
use decenter_primitives::{merkle::MerkleProof, spec::ArtifactCommitment};
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use subxt_signer::sr25519::Keypair;
use tokio::net::TcpStream;

use crate::auth;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Signs requests with the daemon's key.
#[derive(Clone)]
pub struct Fetcher {
	key: Arc<Keypair>,
}

/// `http://host:port` (an optional trailing path is ignored) as `host:port`.
fn authority(base: &str) -> Result<&str, String> {
	let rest = base
		.strip_prefix("http://")
		.ok_or_else(|| format!("`{base}` is not an http:// endpoint"))?;
	Ok(rest.split('/').next().unwrap_or(rest))
}

/// An artifact location `http://host:port/...` as the server's base URL.
pub fn base_of(location: &str) -> Result<String, String> {
	Ok(format!("http://{}", authority(location)?))
}

impl Fetcher {
	pub fn new(key: Arc<Keypair>) -> Self {
		Fetcher { key }
	}

	pub(crate) async fn raw_get(
		base: &str,
		path: &str,
		headers: &[(&'static str, String)],
	) -> Result<(StatusCode, Bytes), String> {
		let host = authority(base)?;
		let request = async {
			let stream =
				TcpStream::connect(host).await.map_err(|e| format!("cannot reach {base}: {e}"))?;
			let (mut sender, connection) =
				hyper::client::conn::http1::handshake(TokioIo::new(stream))
					.await
					.map_err(|e| format!("{base}: {e}"))?;
			tokio::spawn(connection);
			let mut builder = Request::get(path).header("host", host);
			for (name, value) in headers {
				builder = builder.header(*name, value);
			}
			let request = builder.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
			let response =
				sender.send_request(request).await.map_err(|e| format!("{base}{path}: {e}"))?;
			let status = response.status();
			let body = response
				.into_body()
				.collect()
				.await
				.map_err(|e| format!("{base}{path}: {e}"))?
				.to_bytes();
			Ok((status, body))
		};
		tokio::time::timeout(REQUEST_TIMEOUT, request).await.map_err(|_| {
			format!("{base}{path}: no answer within {} s", REQUEST_TIMEOUT.as_secs())
		})?
	}

	/// GETs `path` from `base`, authenticated with a fresh challenge.
	pub async fn get(&self, base: &str, path: &str) -> Result<Bytes, String> {
		let (status, challenge) = Self::raw_get(base, "/challenge", &[]).await?;
		if status != StatusCode::OK {
			return Err(format!("{base}/challenge answered {status}"));
		}
		let challenge: [u8; 32] = std::str::from_utf8(&challenge)
			.ok()
			.and_then(|text| hex::decode(text.trim()).ok())
			.and_then(|bytes| bytes.try_into().ok())
			.ok_or_else(|| format!("{base}/challenge did not answer a challenge"))?;
		let headers = auth::headers(&self.key, &challenge, path);
		let (status, body) = Self::raw_get(base, path, &headers).await?;
		if status != StatusCode::OK {
			return Err(format!(
				"{base}{path} answered {status}: {}",
				String::from_utf8_lossy(&body)
			));
		}
		Ok(body)
	}

	/// Fetches the committed artifact of order `order` chunk by chunk from where it is located,
	/// verifying every chunk against its root.
	pub async fn artifact(
		&self,
		order: u64,
		commitment: &ArtifactCommitment,
	) -> Result<Vec<u8>, String> {
		let location = String::from_utf8_lossy(&commitment.location).to_string();
		let base = base_of(&location)?;
		let root = hex::encode(commitment.root);
		let mut verifier = ChunkVerifier::new(location.clone(), commitment.root, commitment.size);
		for index in 0..verifier.chunks() {
			let body = self.get(&base, &format!("/artifacts/{root}/{index}?order={order}")).await?;
			let (bytes, proof) = <(Vec<u8>, MerkleProof)>::decode(&mut &body[..]).map_err(|e| {
				format!("{location}: chunk {index} is not a chunk with its proof: {e}")
			})?;
			verifier.push(&bytes, &proof).map_err(|e| e.to_string())?;
		}
		verifier.finish().map_err(|e| e.to_string())
	}
}

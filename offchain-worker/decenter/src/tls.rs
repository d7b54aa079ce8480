//! Transport security without a certificate authority: every artifact server has a
//! self-signed certificate, and its SHA-256 fingerprint travels on chain inside the URL others
//! reach it at (`https://HOST:PORT/?tls=FINGERPRINT`: a worker's or validator's registered
//! endpoint, or an artifact's location in an order spec). A fetcher accepts exactly the
//! certificate whose fingerprint the chain names, so nobody on the path can read a transfer or
//! stand in for the server; whoever wants to replace a pinned certificate must change what the
//! chain says, which only the account that signed it can.

use std::{
	io::Write,
	path::{Path, PathBuf},
	sync::Arc,
};

use rustls::{
	client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
	crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider},
	pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime},
	DigitallySignedStruct, SignatureScheme,
};
use sha2::{Digest, Sha256};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// SHA-256 of a certificate's DER encoding.
pub type Fingerprint = [u8; 32];

fn provider() -> Arc<CryptoProvider> {
	Arc::new(rustls::crypto::ring::default_provider())
}

/// A server's certificate and private key (DER), kept in `DIR/tls/identity`.
pub struct Identity {
	certificate: Vec<u8>,
	key: Vec<u8>,
}

impl Identity {
	/// The identity kept under `dir`, created on first use. Creation is first-writer-wins, so
	/// the server and an `upload` into the same store never end up with different
	/// certificates.
	pub fn load_or_create(dir: &Path) -> Result<Identity, String> {
		let tls = dir.join("tls");
		let path = tls.join("identity");
		if !path.exists() {
			std::fs::create_dir_all(&tls)
				.map_err(|e| format!("cannot create {}: {e}", tls.display()))?;
			let generated = rcgen::generate_simple_self_signed(vec!["decenter".to_string()])
				.map_err(|e| format!("cannot generate a TLS certificate: {e}"))?;
			let certificate = generated
				.serialize_der()
				.map_err(|e| format!("cannot encode the TLS certificate: {e}"))?;
			let key = generated.serialize_private_key_der();
			write_new(&path, &Self::encode(&certificate, &key))?;
		}
		Self::load(dir)
	}

	/// The identity kept under `dir`, which must exist.
	pub fn load(dir: &Path) -> Result<Identity, String> {
		let path = dir.join("tls/identity");
		let bytes = std::fs::read(&path).map_err(|e| {
			format!(
				"cannot read the TLS identity {}: {e} (`decenter serve` and `upload` create it)",
				path.display()
			)
		})?;
		Self::decode(&bytes).ok_or_else(|| {
			format!(
				"{} is not a DeCenter TLS identity; a new one changes the pin that orders on \
				 chain name, so restore it from a backup if you can",
				path.display()
			)
		})
	}

	fn encode(certificate: &[u8], key: &[u8]) -> Vec<u8> {
		let mut bytes = (certificate.len() as u32).to_le_bytes().to_vec();
		bytes.extend_from_slice(certificate);
		bytes.extend_from_slice(key);
		bytes
	}

	fn decode(bytes: &[u8]) -> Option<Identity> {
		let (length, rest) = bytes.split_first_chunk::<4>()?;
		let length = u32::from_le_bytes(*length) as usize;
		if length > rest.len() {
			return None;
		}
		let (certificate, key) = rest.split_at(length);
		Some(Identity { certificate: certificate.to_vec(), key: key.to_vec() })
	}

	pub fn fingerprint(&self) -> Fingerprint {
		Sha256::digest(&self.certificate).into()
	}

	/// The URL others reach this server at: `base` (`https://HOST:PORT`) with the pin.
	pub fn url(&self, base: &str) -> Result<String, String> {
		let base = base.trim_end_matches('/');
		let rest = base.strip_prefix("https://").ok_or_else(|| {
			format!("`{base}` must be an https:// URL: artifact servers speak only TLS")
		})?;
		if rest.is_empty() || rest.contains(['/', '?', '#']) {
			return Err(format!("`{base}` must be https://HOST:PORT, without a path or query"));
		}
		Ok(format!("{base}/?tls={}", hex::encode(self.fingerprint())))
	}

	pub fn acceptor(&self) -> Result<TlsAcceptor, String> {
		let config = rustls::ServerConfig::builder_with_provider(provider())
			.with_protocol_versions(&[&rustls::version::TLS13])
			.map_err(|e| e.to_string())?
			.with_no_client_auth()
			.with_single_cert(
				vec![CertificateDer::from(self.certificate.clone())],
				PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
			)
			.map_err(|e| format!("the TLS identity is unusable: {e}"))?;
		Ok(TlsAcceptor::from(Arc::new(config)))
	}
}

/// Writes `bytes` to `path` unless it exists (then leaves it), readable by the owner only.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), String> {
	let part = PathBuf::from(format!("{}.{}.part", path.display(), std::process::id()));
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create(true).truncate(true);
	#[cfg(unix)]
	std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
	options
		.open(&part)
		.and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
		.map_err(|e| format!("cannot write {}: {e}", part.display()))?;
	// A hard link fails if another process created the identity first; theirs wins.
	let linked = std::fs::hard_link(&part, path);
	let _ = std::fs::remove_file(&part);
	match linked {
		Ok(()) => Ok(()),
		Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
		Err(e) => Err(format!("cannot create {}: {e}", path.display())),
	}
}

/// Where a pinned server is: what `https://HOST:PORT/?tls=HEX[&grant=HEX]` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
	/// `HOST:PORT`.
	pub authority: String,
	pub pin: Fingerprint,
	/// A store owner's grant of the artifact to the order's client (artifact locations only).
	pub grant: Option<[u8; 64]>,
}

impl Endpoint {
	pub fn parse(url: &str) -> Result<Endpoint, String> {
		let rest = url.strip_prefix("https://").ok_or_else(|| {
			format!(
				"`{url}` is not an https:// URL with a certificate pin; artifact servers speak \
				 only TLS (re-register the endpoint or re-upload the artifact with this version)"
			)
		})?;
		let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
		let authority = address.split('/').next().unwrap_or_default();
		if authority.is_empty() {
			return Err(format!("`{url}` names no host"));
		}
		let mut pin = None;
		let mut grant = None;
		for pair in query.split('&') {
			if let Some(value) = pair.strip_prefix("tls=") {
				pin = hex::decode(value).ok().and_then(|bytes| bytes.try_into().ok());
			} else if let Some(value) = pair.strip_prefix("grant=") {
				grant = Some(
					hex::decode(value)
						.ok()
						.and_then(|bytes| bytes.try_into().ok())
						.ok_or_else(|| format!("`{url}`: the grant is not 64 bytes of hex"))?,
				);
			}
		}
		let pin = pin
			.ok_or_else(|| format!("`{url}` has no certificate pin (`?tls=` and 64 hex digits)"))?;
		Ok(Endpoint { authority: authority.to_string(), pin, grant })
	}

	/// A connector that accepts only the pinned certificate.
	pub fn connector(&self) -> Result<TlsConnector, String> {
		let config = rustls::ClientConfig::builder_with_provider(provider())
			.with_protocol_versions(&[&rustls::version::TLS13])
			.map_err(|e| e.to_string())?
			.dangerous()
			.with_custom_certificate_verifier(Arc::new(Pinned { pin: self.pin }))
			.with_no_client_auth();
		Ok(TlsConnector::from(Arc::new(config)))
	}

	/// The name the handshake carries; the pin, not the name, is what is checked.
	pub fn server_name(&self) -> Result<ServerName<'static>, String> {
		let host = self.authority.rsplit_once(':').map_or(self.authority.as_str(), |(h, _)| h);
		ServerName::try_from(host.trim_matches(['[', ']']).to_string())
			.map_err(|_| format!("`{host}` is neither a host name nor an IP address"))
	}
}

/// Accepts the one certificate whose SHA-256 is the pin, and checks that the server holds its
/// key (the handshake signature).
#[derive(Debug)]
struct Pinned {
	pin: Fingerprint,
}

impl ServerCertVerifier for Pinned {
	fn verify_server_cert(
		&self,
		end_entity: &CertificateDer<'_>,
		_intermediates: &[CertificateDer<'_>],
		_server_name: &ServerName<'_>,
		_ocsp_response: &[u8],
		_now: UnixTime,
	) -> Result<ServerCertVerified, rustls::Error> {
		let fingerprint: Fingerprint = Sha256::digest(end_entity.as_ref()).into();
		if fingerprint == self.pin {
			Ok(ServerCertVerified::assertion())
		} else {
			Err(rustls::Error::General(format!(
				"the server's certificate {} is not the one the chain names ({})",
				hex::encode(fingerprint),
				hex::encode(self.pin)
			)))
		}
	}

	fn verify_tls12_signature(
		&self,
		message: &[u8],
		cert: &CertificateDer<'_>,
		dss: &DigitallySignedStruct,
	) -> Result<HandshakeSignatureValid, rustls::Error> {
		verify_tls12_signature(message, cert, dss, &provider().signature_verification_algorithms)
	}

	fn verify_tls13_signature(
		&self,
		message: &[u8],
		cert: &CertificateDer<'_>,
		dss: &DigitallySignedStruct,
	) -> Result<HandshakeSignatureValid, rustls::Error> {
		verify_tls13_signature(message, cert, dss, &provider().signature_verification_algorithms)
	}

	fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
		provider().signature_verification_algorithms.supported_schemes()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn dir(name: &str) -> PathBuf {
		let dir = std::env::temp_dir().join(format!(
			"decenter-tls-{name}-{}-{}",
			std::process::id(),
			rand::random::<u32>()
		));
		std::fs::create_dir_all(&dir).unwrap();
		dir
	}

	#[test]
	fn the_identity_is_made_once_and_kept() {
		let dir = dir("identity");
		let first = Identity::load_or_create(&dir).unwrap();
		let again = Identity::load_or_create(&dir).unwrap();
		assert_eq!(first.fingerprint(), again.fingerprint());
		let url = first.url("https://127.0.0.1:8700/").unwrap();
		assert_eq!(
			url,
			format!("https://127.0.0.1:8700/?tls={}", hex::encode(first.fingerprint()))
		);
		let endpoint = Endpoint::parse(&url).unwrap();
		assert_eq!(endpoint.authority, "127.0.0.1:8700");
		assert_eq!(endpoint.pin, first.fingerprint());
		assert_eq!(endpoint.grant, None);
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = std::fs::metadata(dir.join("tls/identity")).unwrap().permissions().mode();
			assert_eq!(mode & 0o077, 0, "the private key is readable by others");
		}
	}

	#[test]
	fn urls_without_tls_or_pin_are_refused_with_a_reason() {
		let dir = dir("urls");
		let identity = Identity::load_or_create(&dir).unwrap();
		assert!(identity.url("http://127.0.0.1:8700").unwrap_err().contains("https://"));
		assert!(identity.url("https://host:1/path").unwrap_err().contains("without a path"));
		assert!(Endpoint::parse("http://127.0.0.1:8700/?tls=00").unwrap_err().contains("TLS"));
		assert!(Endpoint::parse("https://127.0.0.1:8700/").unwrap_err().contains("pin"));
		assert!(Endpoint::parse("https://127.0.0.1:8700/?tls=abcd").unwrap_err().contains("pin"));
		let pinned = format!("https://h:1/?tls={}", "ab".repeat(32));
		assert!(Endpoint::parse(&format!("{pinned}&grant=00")).unwrap_err().contains("grant"));
		let granted = Endpoint::parse(&format!("{pinned}&grant={}", "cd".repeat(64))).unwrap();
		assert_eq!(granted.grant, Some([0xcd; 64]));
	}
}

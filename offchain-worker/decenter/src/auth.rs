//! Request authentication: the server hands out single-use challenges; a request carries the
//! requesting account, a challenge and the account's sr25519 signature over the challenge and
//! the request path. A signature is good for one request, once, within a minute.

use std::{
	collections::HashMap,
	sync::Mutex,
	time::{Duration, Instant},
};

use subxt_signer::sr25519::{self, Keypair, PublicKey, Signature};

/// Header carrying the requester's account (hex of its 32-byte public key).
pub const ACCOUNT_HEADER: &str = "x-decenter-account";
/// Header carrying the challenge (hex).
pub const CHALLENGE_HEADER: &str = "x-decenter-challenge";
/// Header carrying the signature (hex).
pub const SIGNATURE_HEADER: &str = "x-decenter-signature";
/// Response header of a refusal that no retry can change.
pub const REFUSAL_HEADER: &str = "x-decenter-refusal";
/// Its value when the order is not entitled to the artifact (see `access::OrderAccess::entitled`).
pub const NOT_ENTITLED: &str = "not-entitled";

/// How long a challenge may wait for its request.
const CHALLENGE_LIFETIME: Duration = Duration::from_secs(60);
/// Most challenges outstanding at once; the oldest are dropped beyond it.
const MAX_OUTSTANDING: usize = 4096;
const DOMAIN: &[u8] = b"decenter/artifact-request";

/// What the account signs for one request.
pub fn message(challenge: &[u8; 32], path: &str) -> Vec<u8> {
	[DOMAIN, challenge, path.as_bytes()].concat()
}

/// The three headers of a request for `path`, signed by `key`.
pub fn headers(key: &Keypair, challenge: &[u8; 32], path: &str) -> [(&'static str, String); 3] {
	let signature = key.sign(&message(challenge, path));
	[
		(ACCOUNT_HEADER, hex::encode(key.public_key().0)),
		(CHALLENGE_HEADER, hex::encode(challenge)),
		(SIGNATURE_HEADER, hex::encode(signature.0)),
	]
}

/// Why a request was not authenticated.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthError {
	/// A header is missing or not hex of the right length.
	Malformed(&'static str),
	/// The signature is not the account's over this challenge and path.
	BadSignature,
	/// The challenge was never issued, was already used, or expired.
	UnknownChallenge,
}

impl std::fmt::Display for AuthError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			AuthError::Malformed(what) => write!(f, "malformed {what}"),
			AuthError::BadSignature => {
				f.write_str("the signature is not the account's over this challenge and path")
			},
			AuthError::UnknownChallenge => f.write_str(
				"unknown, used or expired challenge: GET /challenge and sign a fresh one",
			),
		}
	}
}

/// Challenges issued and not yet used.
#[derive(Default)]
pub struct Challenges {
	issued: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Challenges {
	/// A fresh random challenge.
	pub fn issue(&self) -> [u8; 32] {
		let challenge: [u8; 32] = rand::random();
		let now = Instant::now();
		if let Ok(mut issued) = self.issued.lock() {
			issued.retain(|_, at| now.duration_since(*at) < CHALLENGE_LIFETIME);
			if issued.len() >= MAX_OUTSTANDING {
				if let Some(oldest) = issued.iter().min_by_key(|(_, at)| **at).map(|(c, _)| *c) {
					issued.remove(&oldest);
				}
			}
			issued.insert(challenge, now);
		}
		challenge
	}

	/// Checks a request's headers for `path`; on success the challenge is spent and the
	/// account returned.
	pub fn authenticate(
		&self,
		header: impl Fn(&str) -> Option<String>,
		path: &str,
	) -> Result<[u8; 32], AuthError> {
		let field = |name: &'static str, what: &'static str| -> Result<Vec<u8>, AuthError> {
			header(name)
				.and_then(|value| hex::decode(value.trim_start_matches("0x")).ok())
				.ok_or(AuthError::Malformed(what))
		};
		let account: [u8; 32] = field(ACCOUNT_HEADER, "account")?
			.try_into()
			.map_err(|_| AuthError::Malformed("account"))?;
		let challenge: [u8; 32] = field(CHALLENGE_HEADER, "challenge")?
			.try_into()
			.map_err(|_| AuthError::Malformed("challenge"))?;
		let signature: [u8; 64] = field(SIGNATURE_HEADER, "signature")?
			.try_into()
			.map_err(|_| AuthError::Malformed("signature"))?;
		// A challenge this server never issued (or that expired) costs no signature check.
		let issued = self
			.issued
			.lock()
			.ok()
			.and_then(|issued| issued.get(&challenge).copied())
			.is_some_and(|at| at.elapsed() < CHALLENGE_LIFETIME);
		if !issued {
			return Err(AuthError::UnknownChallenge);
		}
		if !sr25519::verify(&Signature(signature), message(&challenge, path), &PublicKey(account)) {
			return Err(AuthError::BadSignature);
		}
		// Spent only by a valid signature, and only once (of two racing uses, one finds it gone).
		let fresh = self
			.issued
			.lock()
			.ok()
			.and_then(|mut issued| issued.remove(&challenge))
			.is_some_and(|at| at.elapsed() < CHALLENGE_LIFETIME);
		if !fresh {
			return Err(AuthError::UnknownChallenge);
		}
		Ok(account)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use subxt_signer::sr25519::dev;

	fn lookup<'a>(
		headers: &'a [(&'static str, String); 3],
	) -> impl Fn(&str) -> Option<String> + 'a {
		move |name| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
	}

	#[test]
	fn a_signed_fresh_challenge_authenticates_once() {
		let challenges = Challenges::default();
		let challenge = challenges.issue();
		let signed = headers(&dev::alice(), &challenge, "/orders/1/model");
		assert_eq!(
			challenges.authenticate(lookup(&signed), "/orders/1/model"),
			Ok(dev::alice().public_key().0)
		);
		// Replayed: the challenge is spent.
		assert_eq!(
			challenges.authenticate(lookup(&signed), "/orders/1/model"),
			Err(AuthError::UnknownChallenge)
		);
	}

	#[test]
	fn wrong_key_other_path_and_unissued_challenges_are_refused() {
		let challenges = Challenges::default();
		let challenge = challenges.issue();
		// Bob signs but claims to be Alice.
		let mut forged = headers(&dev::bob(), &challenge, "/orders/1/model");
		forged[0].1 = hex::encode(dev::alice().public_key().0);
		assert_eq!(
			challenges.authenticate(lookup(&forged), "/orders/1/model"),
			Err(AuthError::BadSignature)
		);
		// A signature for one path does not open another.
		let signed = headers(&dev::alice(), &challenge, "/orders/1/progress");
		assert_eq!(
			challenges.authenticate(lookup(&signed), "/orders/1/model"),
			Err(AuthError::BadSignature)
		);
		// A challenge the server never issued.
		let made_up = headers(&dev::alice(), &[7; 32], "/orders/1/model");
		assert_eq!(
			challenges.authenticate(lookup(&made_up), "/orders/1/model"),
			Err(AuthError::UnknownChallenge)
		);
		let mut garbled = headers(&dev::alice(), &challenge, "/orders/1/model");
		garbled[2].1 = "zz".into();
		assert_eq!(
			challenges.authenticate(lookup(&garbled), "/orders/1/model"),
			Err(AuthError::Malformed("signature"))
		);
	}
}

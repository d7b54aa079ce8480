//! One hash function, BLAKE2b-256, with a domain tag for every kind of object, so that
//! a hash of one kind can never be passed off as a hash of another.

/// A 32-byte BLAKE2b-256 digest.
pub type Hash256 = [u8; 32];

/// Domain tags: the first bytes hashed for each kind of object.
pub mod domain {
	/// A Merkle leaf (the hash of an item already).
	pub const MERKLE_LEAF: &[u8] = b"decenter/merkle-leaf";
	/// An inner Merkle node.
	pub const MERKLE_NODE: &[u8] = b"decenter/merkle-node";
	/// A chunk of a dataset or weights artifact.
	pub const CHUNK: &[u8] = b"decenter/chunk";
	/// A training checkpoint (step, model hash, optimizer-state hash).
	pub const CHECKPOINT: &[u8] = b"decenter/checkpoint";
	/// A trained model's parameters alone.
	pub const MODEL: &[u8] = b"decenter/model";
	/// An optimizer's state alone.
	pub const OPTIMIZER_STATE: &[u8] = b"decenter/optimizer-state";
	/// A loss trace.
	pub const LOSS_TRACE: &[u8] = b"decenter/loss-trace";
	/// A probe: a state inside a segment and the gradients of the step that made it.
	pub const PROBE: &[u8] = b"decenter/probe";
	/// A proof-of-train commitment.
	pub const POT_COMMITMENT: &[u8] = b"decenter/pot-commitment";
	/// A sealed (commit–reveal) value.
	pub const SEAL: &[u8] = b"decenter/seal";
	/// A validation report (a validator's, a worker's or a referee's claims).
	pub const REPORT: &[u8] = b"decenter/report";
}

/// BLAKE2b-256 of `domain ‖ parts[0] ‖ parts[1] ‖ …`.
pub fn tagged_hash(domain: &[u8], parts: &[&[u8]]) -> Hash256 {
	let mut state = Blake2b256::new();
	state.update(domain);
	for part in parts {
		state.update(part);
	}
	state.finalize()
}

/// Incremental BLAKE2b-256, for objects too large to hold in one slice.
pub struct Blake2b256 {
	inner: blake2b_simd::State,
}

impl Blake2b256 {
	/// An empty state.
	pub fn new() -> Self {
		Self { inner: blake2b_simd::Params::new().hash_length(32).to_state() }
	}

	/// Hashes `data` after what was hashed so far.
	pub fn update(&mut self, data: &[u8]) {
		self.inner.update(data);
	}

	/// The digest of everything hashed.
	pub fn finalize(self) -> Hash256 {
		let mut out = [0u8; 32];
		out.copy_from_slice(self.inner.finalize().as_bytes());
		out
	}
}

impl Default for Blake2b256 {
	fn default() -> Self {
		Self::new()
	}
}

#[cfg(test)]
pub(crate) mod tests {
	use super::*;

	#[test]
	fn matches_plain_blake2b_256() {
		// BLAKE2b-256("abc"), RFC 7693 parameters with a 32-byte digest.
		let digest = tagged_hash(b"", &[b"a", b"bc"]);
		assert_eq!(
			hex(&digest),
			"bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
		);
	}

	#[test]
	fn domains_separate() {
		assert_ne!(tagged_hash(domain::CHUNK, &[b"x"]), tagged_hash(domain::MODEL, &[b"x"]));
	}

	pub(crate) fn hex(bytes: &[u8]) -> alloc::string::String {
		use core::fmt::Write;
		let mut s = alloc::string::String::new();
		for b in bytes {
			let _ = write!(s, "{b:02x}");
		}
		s
	}
}

//! Artifacts (datasets, initial weights, models) as the chain commits to them: cut into
//! [`CHUNK_SIZE`] chunks whose hashes form a Merkle tree; the root is the content address an
//! order carries. A fetcher verifies each chunk against the root with its proof as it arrives,
//! so a large dataset is never trusted whole.

use decenter_primitives::{
	merkle::{self, MerkleProof},
	proof::{chunk_hash, chunk_root, CHUNK_SIZE},
	Hash256,
};

use crate::data::DataError;

/// An artifact held in full, ready to serve chunks with their proofs.
pub struct Artifact {
	bytes: Vec<u8>,
	hashes: Vec<Hash256>,
	root: Hash256,
}

impl Artifact {
	/// Cuts `bytes` into chunks and computes the root.
	pub fn new(bytes: Vec<u8>) -> Self {
		let hashes: Vec<Hash256> = bytes
			.chunks(CHUNK_SIZE)
			.enumerate()
			.map(|(index, chunk)| chunk_hash(index as u64, chunk))
			.collect();
		let root = merkle::root(&hashes);
		debug_assert_eq!(root, chunk_root(&bytes));
		Artifact { bytes, hashes, root }
	}

	/// The content address: the Merkle root over the chunk hashes.
	pub fn root(&self) -> Hash256 {
		self.root
	}

	/// Number of chunks.
	pub fn chunks(&self) -> u32 {
		self.hashes.len() as u32
	}

	/// The whole content.
	pub fn bytes(&self) -> &[u8] {
		&self.bytes
	}

	/// Size in bytes.
	pub fn size(&self) -> u64 {
		self.bytes.len() as u64
	}

	/// Chunk `index` and its proof, or `None` past the end.
	pub fn chunk(&self, index: u32) -> Option<(&[u8], MerkleProof)> {
		let bytes = self.bytes.chunks(CHUNK_SIZE).nth(index as usize)?;
		Some((bytes, merkle::prove(&self.hashes, index as usize)?))
	}
}

/// Reassembles an artifact of a known root and size from chunks, verifying each one.
pub struct ChunkVerifier {
	source: String,
	root: Hash256,
	size: u64,
	bytes: Vec<u8>,
}

impl ChunkVerifier {
	/// Expects the artifact `root` of `size` bytes; `source` names it in errors.
	pub fn new(source: impl Into<String>, root: Hash256, size: u64) -> Self {
		ChunkVerifier { source: source.into(), root, size, bytes: Vec::new() }
	}

	/// Number of chunks an artifact of this size has.
	pub fn chunks(&self) -> u32 {
		self.size.div_ceil(CHUNK_SIZE as u64) as u32
	}

	/// The index of the chunk expected next.
	pub fn next_index(&self) -> u32 {
		(self.bytes.len() / CHUNK_SIZE) as u32
	}

	/// Accepts the next chunk if its hash is under the root at its index with `proof`, and it
	/// has the size its position implies; a wrong chunk is an error and is not kept.
	pub fn push(&mut self, bytes: &[u8], proof: &MerkleProof) -> Result<(), DataError> {
		let index = self.next_index();
		let fail = |message: String| DataError { source: self.source.clone(), message };
		if index >= self.chunks() {
			return Err(fail(format!(
				"chunk {index} is past the end of a {}-byte artifact",
				self.size
			)));
		}
		let expected_len = (self.size - self.bytes.len() as u64).min(CHUNK_SIZE as u64) as usize;
		if bytes.len() != expected_len {
			return Err(fail(format!(
				"chunk {index} has {} bytes, expected {expected_len}",
				bytes.len()
			)));
		}
		if proof.index != index || proof.count != self.chunks() {
			return Err(fail(format!(
				"the proof is for chunk {} of {}, expected chunk {index} of {}",
				proof.index,
				proof.count,
				self.chunks()
			)));
		}
		if !merkle::verify(&self.root, &chunk_hash(index.into(), bytes), proof) {
			return Err(fail(format!("chunk {index} does not match the committed root")));
		}
		self.bytes.extend_from_slice(bytes);
		Ok(())
	}

	/// The whole artifact, once every chunk arrived.
	pub fn finish(self) -> Result<Vec<u8>, DataError> {
		if self.bytes.len() as u64 != self.size {
			return Err(DataError {
				source: self.source,
				message: format!("only {} of {} bytes arrived", self.bytes.len(), self.size),
			});
		}
		Ok(self.bytes)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn artifact(len: usize) -> Artifact {
		Artifact::new((0..len).map(|i| (i * 7 % 251) as u8).collect())
	}

	#[test]
	fn chunks_verify_one_by_one_and_reassemble() {
		for len in [1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 17] {
			let art = artifact(len);
			assert_eq!(art.root(), chunk_root(&art.bytes));
			let mut verifier = ChunkVerifier::new("data.csv", art.root(), art.size());
			assert_eq!(verifier.chunks(), art.chunks());
			for index in 0..art.chunks() {
				let (bytes, proof) = art.chunk(index).unwrap();
				verifier.push(bytes, &proof).unwrap();
			}
			assert_eq!(verifier.finish().unwrap(), art.bytes);
		}
	}

	#[test]
	fn a_wrong_chunk_is_refused_and_named() {
		let art = artifact(2 * CHUNK_SIZE + 5);
		let mut verifier = ChunkVerifier::new("weights.safetensors", art.root(), art.size());
		let (first, proof) = art.chunk(0).unwrap();
		let mut tampered = first.to_vec();
		tampered[100] ^= 1;
		let error = verifier.push(&tampered, &proof).unwrap_err();
		assert_eq!(error.source, "weights.safetensors");
		assert!(error.message.contains("chunk 0 does not match"), "{error}");
		// Out of order: chunk 1's proof where chunk 0 is expected.
		let (second, second_proof) = art.chunk(1).unwrap();
		assert!(verifier
			.push(second, &second_proof)
			.unwrap_err()
			.message
			.contains("proof is for chunk 1"));
		verifier.push(first, &proof).unwrap();
		verifier.push(second, &second_proof).unwrap();
		assert!(verifier.finish().unwrap_err().message.contains("only 2097152 of 2097157 bytes"));
		// Truncated chunk.
		let mut verifier = ChunkVerifier::new("d", art.root(), art.size());
		assert!(verifier.push(&first[..10], &proof).unwrap_err().message.contains("has 10 bytes"));
	}
}

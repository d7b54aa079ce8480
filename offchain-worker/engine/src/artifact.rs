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

/// What serving an artifact's chunks needs besides the bytes: its chunk hashes (32 bytes a
/// MiB), root and size. A server keeps this in memory and reads each chunk from disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactIndex {
	hashes: Vec<Hash256>,
	root: Hash256,
	size: u64,
}

impl ArtifactIndex {
	/// The index of `bytes`.
	pub fn of(bytes: &[u8]) -> Self {
		let hashes: Vec<Hash256> = bytes
			.chunks(CHUNK_SIZE)
			.enumerate()
			.map(|(index, chunk)| chunk_hash(index as u64, chunk))
			.collect();
		Self::from_hashes(hashes, bytes.len() as u64)
	}

	/// The index of everything `reader` yields, read one chunk at a time, so that an artifact
	/// of any size is indexed in the memory of one chunk.
	pub fn read(mut reader: impl std::io::Read) -> std::io::Result<Self> {
		let mut hashes = Vec::new();
		let mut chunk = vec![0u8; CHUNK_SIZE];
		let mut size = 0u64;
		loop {
			let mut filled = 0;
			while filled < CHUNK_SIZE {
				match reader.read(&mut chunk[filled..])? {
					0 => break,
					read => filled += read,
				}
			}
			if filled == 0 {
				break;
			}
			hashes.push(chunk_hash(hashes.len() as u64, &chunk[..filled]));
			size += filled as u64;
			if filled < CHUNK_SIZE {
				break;
			}
		}
		Ok(Self::from_hashes(hashes, size))
	}

	fn from_hashes(hashes: Vec<Hash256>, size: u64) -> Self {
		let root = merkle::root(&hashes);
		ArtifactIndex { hashes, root, size }
	}

	/// The content address: the Merkle root over the chunk hashes.
	pub fn root(&self) -> Hash256 {
		self.root
	}

	/// Number of chunks.
	pub fn chunks(&self) -> u32 {
		self.hashes.len() as u32
	}

	/// Size in bytes.
	pub fn size(&self) -> u64 {
		self.size
	}

	/// Where chunk `index` lies (byte offset and length), or `None` past the end.
	pub fn span(&self, index: u32) -> Option<(u64, usize)> {
		if index >= self.chunks() {
			return None;
		}
		let start = u64::from(index) * CHUNK_SIZE as u64;
		Some((start, (self.size - start).min(CHUNK_SIZE as u64) as usize))
	}

	/// Whether `bytes` are chunk `index` of this artifact.
	pub fn holds(&self, index: u32, bytes: &[u8]) -> bool {
		self.hashes.get(index as usize) == Some(&chunk_hash(u64::from(index), bytes))
	}

	/// The proof of chunk `index`, or `None` past the end.
	pub fn proof(&self, index: u32) -> Option<MerkleProof> {
		merkle::prove(&self.hashes, index as usize)
	}
}

/// An artifact held in full, ready to serve chunks with their proofs.
pub struct Artifact {
	bytes: Vec<u8>,
	index: ArtifactIndex,
}

impl Artifact {
	/// Cuts `bytes` into chunks and computes the root.
	pub fn new(bytes: Vec<u8>) -> Self {
		let index = ArtifactIndex::of(&bytes);
		debug_assert_eq!(index.root(), chunk_root(&bytes));
		Artifact { bytes, index }
	}

	/// The content address: the Merkle root over the chunk hashes.
	pub fn root(&self) -> Hash256 {
		self.index.root()
	}

	/// Number of chunks.
	pub fn chunks(&self) -> u32 {
		self.index.chunks()
	}

	/// The whole content.
	pub fn bytes(&self) -> &[u8] {
		&self.bytes
	}

	/// Size in bytes.
	pub fn size(&self) -> u64 {
		self.index.size()
	}

	/// Its index, without the bytes.
	pub fn index(&self) -> &ArtifactIndex {
		&self.index
	}

	/// Chunk `index` and its proof, or `None` past the end.
	pub fn chunk(&self, index: u32) -> Option<(&[u8], MerkleProof)> {
		let bytes = self.bytes.chunks(CHUNK_SIZE).nth(index as usize)?;
		Some((bytes, self.index.proof(index)?))
	}
}

/// Verifies the chunks of an artifact of a known root and size, in order, each against its
/// Merkle proof; whoever feeds it keeps the bytes (in memory, or on disk to resume from).
pub struct ChunkVerifier {
	source: String,
	root: Hash256,
	size: u64,
	/// Bytes of the chunks accepted so far.
	received: u64,
}

impl ChunkVerifier {
	/// Expects the artifact `root` of `size` bytes; `source` names it in errors.
	pub fn new(source: impl Into<String>, root: Hash256, size: u64) -> Self {
		ChunkVerifier { source: source.into(), root, size, received: 0 }
	}

	/// As [`Self::new`], with the first `chunks` chunks already verified (a fetch resumed
	/// after them); more chunks than the artifact has count as all of them.
	pub fn resume(source: impl Into<String>, root: Hash256, size: u64, chunks: u32) -> Self {
		let received = (u64::from(chunks)).saturating_mul(CHUNK_SIZE as u64).min(size);
		ChunkVerifier { source: source.into(), root, size, received }
	}

	/// Number of chunks an artifact of this size has.
	pub fn chunks(&self) -> u32 {
		self.size.div_ceil(CHUNK_SIZE as u64) as u32
	}

	/// The index of the chunk expected next.
	pub fn next_index(&self) -> u32 {
		self.received.div_ceil(CHUNK_SIZE as u64) as u32
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
		let expected_len = (self.size - self.received).min(CHUNK_SIZE as u64) as usize;
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
		self.received += bytes.len() as u64;
		Ok(())
	}

	/// Whether every chunk arrived.
	pub fn finish(self) -> Result<(), DataError> {
		if self.received != self.size {
			return Err(DataError {
				source: self.source,
				message: format!("only {} of {} bytes arrived", self.received, self.size),
			});
		}
		Ok(())
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
			let mut reassembled = Vec::new();
			for index in 0..art.chunks() {
				let (bytes, proof) = art.chunk(index).unwrap();
				verifier.push(bytes, &proof).unwrap();
				reassembled.extend_from_slice(bytes);
			}
			verifier.finish().unwrap();
			assert_eq!(reassembled, art.bytes);
		}
	}

	#[test]
	fn an_index_read_chunk_by_chunk_is_the_index_of_the_bytes() {
		for len in [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 17] {
			let art = artifact(len);
			// A reader that hands out a few bytes at a time still makes whole chunks.
			struct Trickle<'a>(&'a [u8]);
			impl std::io::Read for Trickle<'_> {
				fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
					let n = buf.len().min(self.0.len()).min(4_099);
					buf[..n].copy_from_slice(&self.0[..n]);
					self.0 = &self.0[n..];
					Ok(n)
				}
			}
			let read = ArtifactIndex::read(Trickle(&art.bytes)).unwrap();
			assert_eq!(&read, art.index());
			assert_eq!(read.root(), chunk_root(&art.bytes));
			for index in 0..art.chunks() {
				let (start, len) = read.span(index).unwrap();
				let bytes = &art.bytes[start as usize..start as usize + len];
				assert!(read.holds(index, bytes));
				assert_eq!(art.chunk(index).unwrap().0, bytes);
			}
			assert_eq!(read.span(art.chunks()), None);
		}
	}

	#[test]
	fn a_resumed_verifier_expects_the_chunk_after_those_it_was_given() {
		let art = artifact(3 * CHUNK_SIZE + 17);
		let mut verifier = ChunkVerifier::resume("d", art.root(), art.size(), 2);
		assert_eq!(verifier.next_index(), 2);
		let (first, proof) = art.chunk(0).unwrap();
		assert!(verifier.push(first, &proof).unwrap_err().message.contains("proof is for chunk 0"));
		for index in 2..art.chunks() {
			let (bytes, proof) = art.chunk(index).unwrap();
			verifier.push(bytes, &proof).unwrap();
		}
		verifier.finish().unwrap();
		// Given every chunk, nothing is left to fetch.
		let done = ChunkVerifier::resume("d", art.root(), art.size(), 9);
		assert_eq!(done.next_index(), done.chunks());
		done.finish().unwrap();
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

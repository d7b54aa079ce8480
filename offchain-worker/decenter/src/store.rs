//! Content-addressed artifact storage on disk: each artifact is a file named by the hex of
//! its chunk Merkle root, under a size limit. Names are only ever built from a parsed root,
//! so no request can reach outside the directory. Chunks are served from the file: memory
//! holds each artifact's chunk hashes (32 bytes a MiB), never its bytes.

use std::{
	collections::HashMap,
	io::{Read, Seek, SeekFrom},
	path::{Path, PathBuf},
	sync::{Arc, Mutex},
};

use decenter_engine::artifact::{Artifact, ArtifactIndex};
use decenter_primitives::{merkle::MerkleProof, Hash256};

/// A directory of artifacts with a byte limit.
#[derive(Clone)]
pub struct ArtifactStore {
	dir: PathBuf,
	limit: u64,
	/// Indexes of the artifacts served so far, so that their chunks are served without
	/// hashing the file again.
	cache: Arc<Mutex<HashMap<Hash256, Arc<ArtifactIndex>>>>,
}

impl ArtifactStore {
	/// Opens (creating) `dir`, holding at most `limit` bytes of artifacts.
	pub fn open(dir: &Path, limit: u64) -> Result<Self, String> {
		std::fs::create_dir_all(dir)
			.map_err(|e| format!("cannot create the store {}: {e}", dir.display()))?;
		Ok(ArtifactStore { dir: dir.to_path_buf(), limit, cache: Default::default() })
	}

	fn path(&self, root: &Hash256) -> PathBuf {
		self.dir.join(hex::encode(root))
	}

	/// Bytes used by the artifacts in the store.
	pub fn used(&self) -> Result<u64, String> {
		let entries = std::fs::read_dir(&self.dir)
			.map_err(|e| format!("cannot list {}: {e}", self.dir.display()))?;
		let mut used = 0;
		for entry in entries.flatten() {
			let name = entry.file_name();
			if parse_root(&name.to_string_lossy()).is_some() {
				used += entry.metadata().map(|m| m.len()).unwrap_or(0);
			}
		}
		Ok(used)
	}

	/// Stores `bytes` and returns the artifact's index; storing what is already there is free.
	pub fn put(&self, bytes: Vec<u8>) -> Result<Arc<ArtifactIndex>, String> {
		let artifact = Artifact::new(bytes);
		let path = self.path(&artifact.root());
		if !path.exists() {
			let used = self.used()?;
			if used.saturating_add(artifact.size()) > self.limit {
				return Err(format!(
					"the store {} is full: {used} of {} bytes used, this artifact needs {}; \
					 raise --store-limit or remove artifacts",
					self.dir.display(),
					self.limit,
					artifact.size()
				));
			}
			let part = path.with_extension("part");
			std::fs::write(&part, artifact.bytes())
				.and_then(|()| std::fs::rename(&part, &path))
				.map_err(|e| format!("cannot write {}: {e}", path.display()))?;
		}
		let index = Arc::new(artifact.index().clone());
		if let Ok(mut cache) = self.cache.lock() {
			cache.insert(index.root(), index.clone());
		}
		Ok(index)
	}

	/// The index of the artifact with this root, if stored: from memory, or read from its file
	/// a chunk at a time (blocking: call it off the async threads).
	pub fn index(&self, root: &Hash256) -> Option<Arc<ArtifactIndex>> {
		if let Some(index) = self.cache.lock().ok()?.get(root) {
			return Some(index.clone());
		}
		let file = std::fs::File::open(self.path(root)).ok()?;
		let index = Arc::new(ArtifactIndex::read(std::io::BufReader::new(file)).ok()?);
		// A file whose content no longer matches its name is not served.
		if index.root() != *root {
			tracing::warn!(root = hex::encode(root), "stored artifact is corrupt; not serving it");
			return None;
		}
		self.cache.lock().ok()?.insert(*root, index.clone());
		Some(index)
	}

	/// Chunk `chunk` of the artifact `root` and its proof, read from the file (blocking: call
	/// it off the async threads); `None` when there is no such artifact or chunk, or the file
	/// no longer holds what was indexed (then it is indexed afresh next time).
	pub fn chunk(&self, root: &Hash256, chunk: u32) -> Option<(Vec<u8>, MerkleProof)> {
		let index = self.index(root)?;
		let (start, len) = index.span(chunk)?;
		let read = || -> std::io::Result<Vec<u8>> {
			let mut file = std::fs::File::open(self.path(root))?;
			file.seek(SeekFrom::Start(start))?;
			let mut bytes = vec![0; len];
			file.read_exact(&mut bytes)?;
			Ok(bytes)
		};
		let bytes = read().ok().filter(|bytes| index.holds(chunk, bytes));
		let Some(bytes) = bytes else {
			tracing::warn!(
				root = hex::encode(root),
				chunk,
				"stored artifact changed; not serving it"
			);
			self.cache.lock().ok()?.remove(root);
			return None;
		};
		Some((bytes, index.proof(chunk)?))
	}
}

impl ArtifactStore {
	/// Records `account` as the store's owner (in `DIR/owner`), the account that serves it and
	/// signs its grants; refuses another account once one is recorded, so that grants are
	/// never signed with a key the server does not check them against.
	pub fn claim_owner(&self, account: &[u8; 32]) -> Result<(), String> {
		let path = self.dir.join("owner");
		let mine = hex::encode(account);
		match std::fs::read_to_string(&path) {
			Ok(owner) if owner.trim() == mine => Ok(()),
			Ok(owner) => Err(format!(
				"the store {} belongs to 0x{}: use that account's key, or another store \
				 directory",
				self.dir.display(),
				owner.trim()
			)),
			Err(_) => std::fs::write(&path, &mine)
				.map_err(|e| format!("cannot write {}: {e}", path.display())),
		}
	}
}

/// A root written as 64 hex digits (optionally `0x`-prefixed).
pub fn parse_root(text: &str) -> Option<Hash256> {
	let digits = text.strip_prefix("0x").unwrap_or(text);
	if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
		return None;
	}
	hex::decode(digits).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
	use super::*;

	fn temp(name: &str) -> PathBuf {
		let dir =
			std::env::temp_dir().join(format!("decenter-store-{name}-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		dir
	}

	#[test]
	fn put_get_and_limit() {
		let store = ArtifactStore::open(&temp("limit"), 100).unwrap();
		let a = store.put(vec![1; 60]).unwrap();
		assert_eq!(store.index(&a.root()).unwrap().size(), 60);
		// The same bytes again cost nothing.
		store.put(vec![1; 60]).unwrap();
		let full = store.put(vec![2; 60]).err().unwrap();
		assert!(full.contains("is full: 60 of 100 bytes used"), "{full}");
		assert!(store.index(&[9; 32]).is_none());
	}

	/// Chunks come from the file, checked against the index on every read: a file changed on
	/// disk is not served, and a fresh store (no index in memory) indexes it from the file.
	#[test]
	fn chunks_are_read_from_disk_and_a_changed_file_is_not_served() {
		use decenter_primitives::{merkle, proof::CHUNK_SIZE};
		let dir = temp("chunks");
		let store = ArtifactStore::open(&dir, 1 << 30).unwrap();
		let bytes: Vec<u8> = (0..5 * CHUNK_SIZE / 2).map(|i| (i % 253) as u8).collect();
		let index = store.put(bytes.clone()).unwrap();
		let reopened = ArtifactStore::open(&dir, 1 << 30).unwrap();
		for store in [&store, &reopened] {
			for chunk in 0..3u32 {
				let (got, proof) = store.chunk(&index.root(), chunk).unwrap();
				let start = chunk as usize * CHUNK_SIZE;
				assert_eq!(got, bytes[start..(start + CHUNK_SIZE).min(bytes.len())]);
				let hash = decenter_primitives::proof::chunk_hash(chunk.into(), &got);
				assert!(merkle::verify(&index.root(), &hash, &proof));
			}
			assert!(store.chunk(&index.root(), 3).is_none());
		}
		let mut changed = bytes.clone();
		changed[CHUNK_SIZE + 5] ^= 1;
		std::fs::write(dir.join(hex::encode(index.root())), &changed).unwrap();
		assert!(store.chunk(&index.root(), 1).is_none(), "a changed chunk was served");
		// Indexed afresh, the file no longer matches its name at all.
		assert!(store.index(&index.root()).is_none());
	}

	#[test]
	fn a_store_has_one_owner() {
		let store = ArtifactStore::open(&temp("owner"), 100).unwrap();
		assert_eq!(store.claim_owner(&[1; 32]), Ok(()));
		assert_eq!(store.claim_owner(&[1; 32]), Ok(()));
		let other = store.claim_owner(&[2; 32]).unwrap_err();
		assert!(other.contains(&format!("belongs to 0x{}", "01".repeat(32))), "{other}");
	}

	#[test]
	fn roots_must_be_64_hex_digits() {
		assert!(parse_root(&"ab".repeat(32)).is_some());
		assert!(parse_root(&format!("0x{}", "ab".repeat(32))).is_some());
		assert!(parse_root("../../etc/passwd").is_none());
		assert!(parse_root(&format!("{}/..", "ab".repeat(31))).is_none());
		assert!(parse_root(&"zz".repeat(32)).is_none());
	}
}

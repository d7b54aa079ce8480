//! Content-addressed artifact storage on disk: each artifact is a file named by the hex of
//! its chunk Merkle root, under a size limit. Names are only ever built from a parsed root,
//! so no request can reach outside the directory.

use std::{
	collections::HashMap,
	path::{Path, PathBuf},
	sync::{Arc, Mutex},
};

use decenter_engine::artifact::Artifact;
use decenter_primitives::Hash256;

/// A directory of artifacts with a byte limit.
#[derive(Clone)]
pub struct ArtifactStore {
	dir: PathBuf,
	limit: u64,
	/// Artifacts read from disk, kept to serve their chunks without re-hashing.
	cache: Arc<Mutex<HashMap<Hash256, Arc<Artifact>>>>,
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

	/// Stores `bytes` and returns the artifact; storing what is already there is free.
	pub fn put(&self, bytes: Vec<u8>) -> Result<Arc<Artifact>, String> {
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
		let artifact = Arc::new(artifact);
		if let Ok(mut cache) = self.cache.lock() {
			cache.insert(artifact.root(), artifact.clone());
		}
		Ok(artifact)
	}

	/// The artifact with this root, if stored.
	pub fn get(&self, root: &Hash256) -> Option<Arc<Artifact>> {
		if let Some(artifact) = self.cache.lock().ok()?.get(root) {
			return Some(artifact.clone());
		}
		let bytes = std::fs::read(self.path(root)).ok()?;
		let artifact = Arc::new(Artifact::new(bytes));
		// A file whose content no longer matches its name is not served.
		if artifact.root() != *root {
			tracing::warn!(root = hex::encode(root), "stored artifact is corrupt; not serving it");
			return None;
		}
		self.cache.lock().ok()?.insert(*root, artifact.clone());
		Some(artifact)
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
		assert_eq!(store.get(&a.root()).unwrap().size(), 60);
		// The same bytes again cost nothing.
		store.put(vec![1; 60]).unwrap();
		let full = store.put(vec![2; 60]).err().unwrap();
		assert!(full.contains("is full: 60 of 100 bytes used"), "{full}");
		assert!(store.get(&[9; 32]).is_none());
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

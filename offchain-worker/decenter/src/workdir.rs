//! A worker's files for an order, under its `--data-dir`: the dataset it fetched, its
//! checkpoints and trace (so a restarted worker resumes), the final model, the progress it
//! reports, and the salts of its commitments.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The directory of order `id`.
#[derive(Clone, Debug)]
pub struct OrderDir(PathBuf);

impl OrderDir {
	pub fn new(data_dir: &Path, id: u64) -> Self {
		OrderDir(data_dir.join("orders").join(id.to_string()))
	}

	pub fn create(&self) -> std::io::Result<()> {
		std::fs::create_dir_all(&self.0)
	}

	/// Ties the directory to the chain whose genesis hash is `genesis`, creating it: what an
	/// order of the same id left on another chain (a development chain started afresh, a
	/// testnet reset) is deleted first, so that no input, run or sealed report of that order
	/// is taken for this one's.
	pub fn bind(&self, genesis: &str) -> std::io::Result<()> {
		let marker = self.0.join("chain");
		match std::fs::read_to_string(&marker) {
			Ok(found) if found.trim() == genesis => return Ok(()),
			_ if self.0.exists() => std::fs::remove_dir_all(&self.0)?,
			_ => {},
		}
		self.create()?;
		write_atomic(&marker, genesis.as_bytes())
	}

	pub fn path(&self) -> &Path {
		&self.0
	}

	pub fn dataset(&self) -> PathBuf {
		self.0.join("dataset")
	}

	pub fn validation(&self) -> PathBuf {
		self.0.join("validation")
	}

	/// The uploaded initial weights, for an order that names some.
	pub fn weights(&self) -> PathBuf {
		self.0.join("weights")
	}

	pub fn checkpoint(&self, index: u32) -> PathBuf {
		self.0.join(format!("checkpoint-{index}.safetensors"))
	}

	pub fn trace(&self) -> PathBuf {
		self.0.join("trace.json")
	}

	pub fn model(&self) -> PathBuf {
		self.0.join("model.safetensors")
	}

	pub fn progress(&self) -> PathBuf {
		self.0.join("progress.json")
	}

	/// Secrets of the commit–reveal rounds, written before the commit goes out.
	pub fn salts(&self) -> PathBuf {
		self.0.join("salts.json")
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn an_order_directory_left_by_another_chain_is_emptied_before_use() {
		let data = std::env::temp_dir().join(format!("decenter-workdir-{}", std::process::id()));
		let dir = OrderDir::new(&data, 7);
		dir.bind("0xaaaa").unwrap();
		std::fs::write(dir.dataset(), b"chain a's data").unwrap();
		// The same chain again: everything stays.
		dir.bind("0xaaaa").unwrap();
		assert!(dir.dataset().exists());
		// Another chain's order 7: nothing of chain a's is left.
		dir.bind("0xbbbb").unwrap();
		assert!(!dir.dataset().exists());
		assert_eq!(std::fs::read_to_string(dir.path().join("chain")).unwrap(), "0xbbbb");
		// A directory from before the rule (no marker) is taken for another chain's.
		std::fs::remove_file(dir.path().join("chain")).unwrap();
		std::fs::write(dir.dataset(), b"unknown").unwrap();
		dir.bind("0xbbbb").unwrap();
		assert!(!dir.dataset().exists());
		let _ = std::fs::remove_dir_all(&data);
	}
}

/// Writes `bytes` to `path` atomically (a crash leaves the old file or the new one).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
	let part = path.with_extension("part");
	std::fs::write(&part, bytes)?;
	std::fs::rename(&part, path)
}

/// What a worker reports about its training, served at `/orders/{id}/progress`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
	/// Steps taken.
	pub step: u32,
	/// Steps in the run.
	pub steps: u32,
	/// Mean batch loss of every step taken.
	pub losses: Vec<f32>,
	/// The device training runs on.
	pub device: String,
	/// Steps per second of this run.
	pub steps_per_second: f64,
}

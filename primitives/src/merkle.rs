//! Binary Merkle trees over 32-byte item hashes: checkpoint roots, dataset chunk roots.
//!
//! Rules (the same on chain and off chain):
//! - a leaf is `H(MERKLE_LEAF ‖ item)`; an inner node is `H(MERKLE_NODE ‖ left ‖ right)`,
//!   so no inner node can pose as a leaf;
//! - levels pair nodes left to right; an odd last node moves up unchanged;
//! - the root of no items is `H(MERKLE_NODE)`.

use alloc::vec::Vec;
use bounded_collections::{BoundedVec, ConstU32};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::hashing::{domain, tagged_hash, Hash256};

/// Deepest tree a proof may describe: 2³² items.
pub const MAX_DEPTH: u32 = 32;

/// The path from one item to the root.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct MerkleProof {
	/// Position of the item among all items.
	pub index: u32,
	/// Number of items in the tree.
	pub count: u32,
	/// Sibling hashes from the leaf level up; levels where the node had no sibling are skipped.
	pub siblings: BoundedVec<Hash256, ConstU32<MAX_DEPTH>>,
}

fn leaf(item: &Hash256) -> Hash256 {
	tagged_hash(domain::MERKLE_LEAF, &[item])
}

fn node(left: &Hash256, right: &Hash256) -> Hash256 {
	tagged_hash(domain::MERKLE_NODE, &[left, right])
}

/// Root over `items` in order.
pub fn root(items: &[Hash256]) -> Hash256 {
	let mut level: Vec<Hash256> = items.iter().map(leaf).collect();
	while level.len() > 1 {
		level = next_level(&level);
	}
	level.first().copied().unwrap_or_else(|| tagged_hash(domain::MERKLE_NODE, &[]))
}

/// The level above `level`: pairs hashed left to right, an odd last node moved up.
fn next_level(level: &[Hash256]) -> Vec<Hash256> {
	let mut up = Vec::with_capacity(level.len().div_ceil(2));
	let mut pairs = level.chunks_exact(2);
	for pair in &mut pairs {
		up.push(node(&pair[0], &pair[1]));
	}
	up.extend_from_slice(pairs.remainder());
	up
}

/// Proof that `items[index]` is under `root(items)`; `None` if `index` is out of range.
pub fn prove(items: &[Hash256], index: usize) -> Option<MerkleProof> {
	if index >= items.len() || items.len() > u32::MAX as usize {
		return None;
	}
	let mut siblings = Vec::new();
	let mut level: Vec<Hash256> = items.iter().map(leaf).collect();
	let mut position = index;
	while level.len() > 1 {
		let sibling = position ^ 1;
		if let Some(hash) = level.get(sibling) {
			siblings.push(*hash);
		}
		level = next_level(&level);
		position /= 2;
	}
	Some(MerkleProof {
		index: index as u32,
		count: items.len() as u32,
		siblings: BoundedVec::try_from(siblings).ok()?,
	})
}

/// Whether `proof` shows `item` at `proof.index` of a tree with root `root`.
pub fn verify(root: &Hash256, item: &Hash256, proof: &MerkleProof) -> bool {
	if proof.index >= proof.count {
		return false;
	}
	let mut hash = leaf(item);
	let mut position = proof.index as u64;
	let mut width = proof.count as u64;
	let mut siblings = proof.siblings.iter();
	while width > 1 {
		let sibling = position ^ 1;
		if sibling < width {
			let Some(other) = siblings.next() else { return false };
			hash = if position % 2 == 0 { node(&hash, other) } else { node(other, &hash) };
		}
		position /= 2;
		width = width.div_ceil(2);
	}
	siblings.next().is_none() && hash == *root
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::hashing::tests::hex;

	fn items(n: u8) -> Vec<Hash256> {
		(0..n).map(|i| tagged_hash(b"item", &[&[i]])).collect()
	}

	#[test]
	fn every_item_proves_and_nothing_else_does() {
		for n in 1..=17u8 {
			let items = items(n);
			let root = root(&items);
			for (i, item) in items.iter().enumerate() {
				let proof = prove(&items, i).unwrap();
				assert!(verify(&root, item, &proof), "n={n} i={i}");
				let wrong = tagged_hash(b"other", &[item]);
				assert!(!verify(&root, &wrong, &proof));
				let mut moved = proof.clone();
				moved.index = (moved.index + 1) % moved.count;
				if n > 1 {
					assert!(!verify(&root, item, &moved), "n={n} i={i} moved");
				}
			}
			assert!(prove(&items, n as usize).is_none());
		}
	}

	#[test]
	fn single_item_root_is_its_leaf() {
		let items = items(1);
		assert_eq!(root(&items), leaf(&items[0]));
	}

	/// Test vectors, computed independently from the rules above with Python's
	/// hashlib.blake2b (digest_size=32); the runtime and the engine must reproduce them.
	#[test]
	fn vectors() {
		assert_eq!(
			hex(&root(&[])),
			"b9bf52f3a6e3ae0ed93444b76cb30633ce6ad964367a393e6fd91f234421ce2f"
		);
		assert_eq!(
			hex(&root(&items(3))),
			"4e12f6292c3a719982ee1eb2939b355a7e5a24f9ca6a772b93996740be8c8937"
		);
	}
}

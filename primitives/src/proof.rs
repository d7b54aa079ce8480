//! The proof-of-train objects: checkpoint and model hashes over a canonical byte layout,
//! the loss-trace hash, dataset chunk roots, the PoT commitment and its seal.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

use crate::{
	hashing::{domain, tagged_hash, Blake2b256, Hash256},
	merkle,
};

/// Artifacts are cut into chunks of this many bytes (1 MiB), each hashed separately, so
/// a dataset of many GB is fetched and verified piece by piece.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Feeds `values` as little-endian f32 into `state`, in blocks to keep hashing fast.
fn update_f32(state: &mut Blake2b256, values: &[f32]) {
	let mut buffer = [0u8; 4 * 256];
	for block in values.chunks(256) {
		for (bytes, value) in buffer.chunks_exact_mut(4).zip(block) {
			bytes.copy_from_slice(&value.to_le_bytes());
		}
		state.update(&buffer[..4 * block.len()]);
	}
}

/// Canonical hash of a list of f32 tensors: `count ‖ (len ‖ values LE)…`.
fn update_tensors(state: &mut Blake2b256, tensors: &[&[f32]]) {
	state.update(&(tensors.len() as u32).to_le_bytes());
	for tensor in tensors {
		state.update(&(tensor.len() as u64).to_le_bytes());
		update_f32(state, tensor);
	}
}

/// Hash of a training checkpoint: `H("decenter/checkpoint" ‖ step u64 LE ‖ parameters ‖
/// optimizer state)`, each a tensor list in the engine's canonical order (per layer:
/// weights row-major `[fan_in][fan_out]`, then biases; optimizer slots likewise).
pub fn checkpoint_hash(step: u64, parameters: &[&[f32]], optimizer_state: &[&[f32]]) -> Hash256 {
	let mut state = Blake2b256::new();
	state.update(domain::CHECKPOINT);
	state.update(&step.to_le_bytes());
	update_tensors(&mut state, parameters);
	update_tensors(&mut state, optimizer_state);
	state.finalize()
}

/// The canonical bytes of a checkpoint, exactly what [`checkpoint_hash`] hashes after its
/// domain tag: a worker posts these on chain when a validator reports it cannot fetch a
/// checkpoint, and [`checkpoint_hash_of_bytes`] checks them against the committed hash.
pub fn checkpoint_bytes(step: u64, parameters: &[&[f32]], optimizer_state: &[&[f32]]) -> Vec<u8> {
	let values: usize = parameters.iter().chain(optimizer_state).map(|t| t.len()).sum();
	let tensors = parameters.len() + optimizer_state.len();
	let mut bytes = Vec::with_capacity(16 + 8 * tensors + 4 * values);
	bytes.extend_from_slice(&step.to_le_bytes());
	for list in [parameters, optimizer_state] {
		bytes.extend_from_slice(&(list.len() as u32).to_le_bytes());
		for tensor in list {
			bytes.extend_from_slice(&(tensor.len() as u64).to_le_bytes());
			for value in *tensor {
				bytes.extend_from_slice(&value.to_le_bytes());
			}
		}
	}
	bytes
}

/// [`checkpoint_hash`] of a checkpoint given as its [`checkpoint_bytes`].
pub fn checkpoint_hash_of_bytes(bytes: &[u8]) -> Hash256 {
	tagged_hash(domain::CHECKPOINT, &[bytes])
}

/// Hash of a model's parameters alone: what a certificate names.
pub fn model_hash(parameters: &[&[f32]]) -> Hash256 {
	let mut state = Blake2b256::new();
	state.update(domain::MODEL);
	update_tensors(&mut state, parameters);
	state.finalize()
}

/// Hash of the per-step training losses.
pub fn loss_trace_hash(losses: &[f32]) -> Hash256 {
	let mut state = Blake2b256::new();
	state.update(domain::LOSS_TRACE);
	update_tensors(&mut state, &[losses]);
	state.finalize()
}

/// Hash of chunk `index` of an artifact.
pub fn chunk_hash(index: u64, bytes: &[u8]) -> Hash256 {
	tagged_hash(domain::CHUNK, &[&index.to_le_bytes(), bytes])
}

/// The Merkle root of an artifact's [`CHUNK_SIZE`] chunks: its content address.
pub fn chunk_root(data: &[u8]) -> Hash256 {
	let hashes: Vec<Hash256> = data
		.chunks(CHUNK_SIZE)
		.enumerate()
		.map(|(index, chunk)| chunk_hash(index as u64, chunk))
		.collect();
	merkle::root(&hashes)
}

/// What a worker commits to for one training run.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct PotCommitment {
	/// Merkle root over the checkpoint hashes `c_0 … c_n`.
	pub checkpoint_root: Hash256,
	/// `n`: checkpoints after `c_0`.
	pub checkpoints: u32,
	/// [`model_hash`] of the final parameters.
	pub final_model: Hash256,
	/// [`loss_trace_hash`] of the per-step losses.
	pub loss_trace: Hash256,
}

impl PotCommitment {
	/// Hash of the SCALE encoding, under its own domain.
	pub fn hash(&self) -> Hash256 {
		tagged_hash(domain::POT_COMMITMENT, &[&self.encode()])
	}
}

/// The commit of commit–reveal: `H("decenter/seal" ‖ value ‖ salt ‖ account)`. Binding the
/// account stops a replica from re-sealing someone else's revealed value as its own.
pub fn seal(value: &Hash256, salt: &Hash256, account: &[u8]) -> Hash256 {
	tagged_hash(domain::SEAL, &[value, salt, account])
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::hashing::tests::hex;

	#[test]
	fn checkpoint_hash_covers_step_parameters_and_state() {
		let w = [1.0f32, -2.5, 0.125];
		let b = [0.5f32];
		let m = [0.0f32; 4];
		let base = checkpoint_hash(10, &[&w, &b], &[&m]);
		assert_ne!(base, checkpoint_hash(11, &[&w, &b], &[&m]));
		assert_ne!(base, checkpoint_hash(10, &[&w, &[0.25]], &[&m]));
		assert_ne!(base, checkpoint_hash(10, &[&w, &b], &[&[0.0; 3]]));
		// Moving a value across a tensor boundary changes the hash.
		assert_ne!(base, checkpoint_hash(10, &[&w[..2], &[w[2], b[0]]], &[&m]));
		// -0.0 and 0.0 are different bits, so different checkpoints.
		assert_ne!(checkpoint_hash(0, &[&[0.0]], &[]), checkpoint_hash(0, &[&[-0.0]], &[]));
	}

	#[test]
	fn checkpoint_bytes_hash_to_the_checkpoint_hash() {
		let (w, b, m) = ([1.0f32, -2.5, 0.125], [0.5f32], [0.25f32; 4]);
		let bytes = checkpoint_bytes(7, &[&w, &b], &[&m]);
		assert_eq!(checkpoint_hash_of_bytes(&bytes), checkpoint_hash(7, &[&w, &b], &[&m]));
		assert_ne!(checkpoint_hash_of_bytes(&bytes[1..]), checkpoint_hash(7, &[&w, &b], &[&m]));
	}

	#[test]
	fn chunk_root_splits_at_chunk_size() {
		let data = alloc::vec![7u8; CHUNK_SIZE + 1];
		let expected =
			merkle::root(&[chunk_hash(0, &data[..CHUNK_SIZE]), chunk_hash(1, &data[CHUNK_SIZE..])]);
		assert_eq!(chunk_root(&data), expected);
	}

	#[test]
	fn seal_binds_account() {
		let value = [1u8; 32];
		let salt = [2u8; 32];
		assert_ne!(seal(&value, &salt, b"alice"), seal(&value, &salt, b"bob"));
	}

	/// Test vectors shared with the runtime and the engine.
	#[test]
	fn vectors() {
		assert_eq!(
			hex(&checkpoint_hash(3, &[&[1.0, 2.0], &[0.5]], &[&[0.0, 0.0, 0.0]])),
			VECTOR_CHECKPOINT
		);
		assert_eq!(hex(&model_hash(&[&[1.0, 2.0], &[0.5]])), VECTOR_MODEL);
		assert_eq!(hex(&loss_trace_hash(&[2.5, 1.25])), VECTOR_LOSS_TRACE);
		assert_eq!(hex(&chunk_root(b"decenter")), VECTOR_CHUNK_ROOT);
	}

	// Computed independently from the documented layout with Python's hashlib.blake2b
	// (digest_size=32).
	const VECTOR_CHECKPOINT: &str =
		"f428aa1cdc63b80a0adc3abf1e1168a4e587ee2ab509d83bba04105465c3f55e";
	const VECTOR_MODEL: &str = "b3e52b1716cda47272dcad63c7ace4873985dcfb34713b47dc1e5d0a635fa984";
	const VECTOR_LOSS_TRACE: &str =
		"65d71491279950ad02357300900ca75b31c2b0892a363324d1e0dfe4d7092b16";
	const VECTOR_CHUNK_ROOT: &str =
		"47967774e321825f661ded6c8864791bd6b63bbd4b632ed897ae9756d53940db";
}

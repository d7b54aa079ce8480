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

/// Hash of a training checkpoint: `H("decenter/checkpoint" ‖ step u64 LE ‖
/// model_hash(parameters) ‖ optimizer_state_hash(optimizer state))`, each a tensor list in the
/// engine's canonical order (per layer: weights row-major `[fan_in][fan_out]`, then biases;
/// optimizer slots likewise). Hashing the model apart lets the chain check that a committed
/// final model is the parameters of the last checkpoint ([`checkpoint_hash_of_parts`]) without
/// seeing either.
pub fn checkpoint_hash(step: u64, parameters: &[&[f32]], optimizer_state: &[&[f32]]) -> Hash256 {
	checkpoint_hash_of_parts(step, &model_hash(parameters), &optimizer_state_hash(optimizer_state))
}

/// [`checkpoint_hash`] from the step and the hashes of its two parts.
pub fn checkpoint_hash_of_parts(step: u64, model: &Hash256, optimizer_state: &Hash256) -> Hash256 {
	tagged_hash(domain::CHECKPOINT, &[&step.to_le_bytes(), model, optimizer_state])
}

/// Hash of an optimizer's state alone (its slots in the engine's canonical order).
pub fn optimizer_state_hash(optimizer_state: &[&[f32]]) -> Hash256 {
	let mut state = Blake2b256::new();
	state.update(domain::OPTIMIZER_STATE);
	update_tensors(&mut state, optimizer_state);
	state.finalize()
}

/// The canonical bytes of a checkpoint: `step u64 LE ‖ parameters ‖ optimizer state`, each a
/// tensor list laid out as `count u32 LE ‖ (len u64 LE ‖ values f32 LE)…`. A worker posts these
/// on chain when a validator reports it cannot fetch a checkpoint, and
/// [`checkpoint_hash_of_bytes`] checks them against the committed hash.
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

/// [`checkpoint_hash`] of a checkpoint given as its [`checkpoint_bytes`]; `None` when the bytes
/// are not that layout exactly (a length runs past the end, or bytes are left over).
pub fn checkpoint_hash_of_bytes(bytes: &[u8]) -> Option<Hash256> {
	let step = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
	let parameters_len = tensor_list_len(bytes.get(8..)?)?;
	let state_start = 8usize.checked_add(parameters_len)?;
	let parameters = bytes.get(8..state_start)?;
	let state = bytes.get(state_start..)?;
	if tensor_list_len(state)? != state.len() {
		return None;
	}
	// The layout is `update_tensors`'s input byte for byte, so each part hashes as it is.
	let model = tagged_hash(domain::MODEL, &[parameters]);
	let optimizer_state = tagged_hash(domain::OPTIMIZER_STATE, &[state]);
	Some(checkpoint_hash_of_parts(step, &model, &optimizer_state))
}

/// The step, parameters and optimizer state of a checkpoint given as its [`checkpoint_bytes`];
/// `None` when the bytes are not that layout exactly, as for [`checkpoint_hash_of_bytes`].
pub fn checkpoint_parts(bytes: &[u8]) -> Option<(u64, Vec<Vec<f32>>, Vec<Vec<f32>>)> {
	let step = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
	let parameters_len = tensor_list_len(bytes.get(8..)?)?;
	let state_start = 8usize.checked_add(parameters_len)?;
	let state = bytes.get(state_start..)?;
	if tensor_list_len(state)? != state.len() {
		return None;
	}
	Some((step, tensor_list(bytes.get(8..state_start)?)?, tensor_list(state)?))
}

/// The tensors of a tensor list that [`tensor_list_len`] measured.
fn tensor_list(bytes: &[u8]) -> Option<Vec<Vec<f32>>> {
	let count = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
	let mut at = 4usize;
	let mut tensors = Vec::new();
	for _ in 0..count {
		let len = u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?);
		let start = at.checked_add(8)?;
		at = start.checked_add(usize::try_from(len).ok()?.checked_mul(4)?)?;
		let values = bytes.get(start..at)?;
		tensors.push(
			values.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
		);
	}
	Some(tensors)
}

/// Bytes taken by the tensor list at the start of `bytes`, or `None` if it runs past the end.
fn tensor_list_len(bytes: &[u8]) -> Option<usize> {
	let count = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
	let mut at = 4usize;
	for _ in 0..count {
		let len = u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?);
		let values = usize::try_from(len).ok()?.checked_mul(4)?;
		at = at.checked_add(8)?.checked_add(values)?;
		if at > bytes.len() {
			return None;
		}
	}
	Some(at)
}

/// Hash of a model's parameters alone: what a certificate names.
pub fn model_hash(parameters: &[&[f32]]) -> Hash256 {
	let mut state = Blake2b256::new();
	state.update(domain::MODEL);
	update_tensors(&mut state, parameters);
	state.finalize()
}

/// What a checker claims at a task's probe step: `H("decenter/probe" ‖ checkpoint hash of the
/// state after the probe step ‖ tensor list of the gradients that step computed)`. Nobody
/// publishes either, and the gradients exist only inside the step, so even where the probe
/// step is a segment's last (a one-step segment) a checker that copied the published end hash
/// cannot answer it.
pub fn probe_hash(state: &Hash256, gradients: &[&[f32]]) -> Hash256 {
	let mut hasher = Blake2b256::new();
	hasher.update(domain::PROBE);
	hasher.update(state);
	update_tensors(&mut hasher, gradients);
	hasher.finalize()
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
	/// [`optimizer_state_hash`] of the final optimizer state: with `final_model` it makes the
	/// last checkpoint hash ([`checkpoint_hash_of_parts`]), so the chain can tell that the
	/// model a certificate names is the one the checked run ended with.
	pub final_state: Hash256,
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
		let expected = checkpoint_hash(7, &[&w, &b], &[&m]);
		assert_eq!(checkpoint_hash_of_bytes(&bytes), Some(expected));
		// Any other length is not a checkpoint: cut short, one byte over, or a header alone.
		assert_eq!(checkpoint_hash_of_bytes(&bytes[..bytes.len() - 1]), None);
		assert_eq!(checkpoint_hash_of_bytes(&[&bytes[..], &[0]].concat()), None);
		assert_eq!(checkpoint_hash_of_bytes(&bytes[..8]), None);
		// A tensor length that overflows is refused, not wrapped.
		let mut huge = bytes.clone();
		huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
		assert_eq!(checkpoint_hash_of_bytes(&huge), None);
		// Moving a tensor from the parameters to the state is another checkpoint.
		let moved = checkpoint_bytes(7, &[&w], &[&b, &m]);
		assert_ne!(checkpoint_hash_of_bytes(&moved), Some(expected));
		// The same bytes read back as the same parts, and what does not hash reads as nothing.
		let parts = (7, vec![w.to_vec(), b.to_vec()], vec![m.to_vec()]);
		assert_eq!(checkpoint_parts(&bytes), Some(parts));
		for wrong in [&bytes[..bytes.len() - 1], &[&bytes[..], &[0]].concat()[..], &huge[..]] {
			assert_eq!(checkpoint_parts(wrong), None);
		}
	}

	#[test]
	fn the_last_checkpoint_is_its_model_and_state() {
		let (w, b, m) = ([1.0f32, -2.5, 0.125], [0.5f32], [0.25f32; 4]);
		let parts =
			checkpoint_hash_of_parts(9, &model_hash(&[&w, &b]), &optimizer_state_hash(&[&m]));
		assert_eq!(parts, checkpoint_hash(9, &[&w, &b], &[&m]));
		assert_ne!(parts, checkpoint_hash(9, &[&w, &[0.25]], &[&m]));
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
		assert_eq!(hex(&probe_hash(&[7; 32], &[&[0.25, -1.0], &[2.0]])), VECTOR_PROBE);
		assert_eq!(hex(&chunk_root(b"decenter")), VECTOR_CHUNK_ROOT);
	}

	// Computed independently from the documented layout with Python's hashlib.blake2b
	// (digest_size=32).
	const VECTOR_CHECKPOINT: &str =
		"a1afb920ec8e22086d3fcc5890571cd8b02a837c9afe08c8578bb7411a73646b";
	const VECTOR_MODEL: &str = "b3e52b1716cda47272dcad63c7ace4873985dcfb34713b47dc1e5d0a635fa984";
	const VECTOR_LOSS_TRACE: &str =
		"65d71491279950ad02357300900ca75b31c2b0892a363324d1e0dfe4d7092b16";
	const VECTOR_PROBE: &str = "16a1d0c1c05feeeea1d03dd10fa58a51bbaff59e23c9cb8cbb9762e26de49927";
	const VECTOR_CHUNK_ROOT: &str =
		"47967774e321825f661ded6c8864791bd6b63bbd4b632ed897ae9756d53940db";
}

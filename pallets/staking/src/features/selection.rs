//! Stake-weighted random selection of distinct participants.
//!
//! Each pick draws a uniform number below the total bond of the candidates not picked yet and
//! takes the candidate whose cumulative-bond interval holds it (a pick without replacement,
//! probability proportional to bond). Draws come from BLAKE2b-128 over the seed, the pick index
//! and an attempt counter; a draw at or above the largest multiple of the total below 2^128 is
//! redrawn, so no candidate gains from modulo bias. The outcome is a function of the seed and the
//! pool's state only.
//!
//! Cost: one read of the pool list and one participant read per member (P), then O(P·E) to
//! apply the exclusion list of length E and O(count·P) arithmetic for the picks.

use crate::*;
use alloc::vec::Vec;
use codec::Encode;
use sp_runtime::traits::{UniqueSaturatedInto, Zero};

/// Domain tag of the selection draws.
const SELECTION_DOMAIN: &[u8] = b"decenter/staking/select/v1";

/// Redraws allowed per pick. A draw is rejected with probability below total/2^128, so using
/// the last draw after this many is a bias of less than (total/2^128)^16: none in practice.
const MAX_DRAWS: u32 = 16;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_select(
		role: Role,
		count: u32,
		seed: [u8; 32],
		exclude: &[T::AccountId],
		min_free_capacity: ComputeUnits,
	) -> Vec<T::AccountId> {
		let mut candidates: Vec<(T::AccountId, u128)> = Pools::<T>::get(role)
			.into_iter()
			.filter(|member| !exclude.contains(member))
			.filter_map(|member| {
				let participant = Participants::<T>::get(&member)?;
				let free = participant.capacity.saturating_sub(participant.locked_capacity);
				let eligible = participant.role == role
					&& participant.status == ParticipantStatus::Active
					&& free >= min_free_capacity
					&& !participant.bond.is_zero();
				eligible.then(|| (member, participant.bond.unique_saturated_into()))
			})
			.collect();

		let mut chosen = Vec::new();
		for pick in 0..count {
			let total =
				candidates.iter().fold(0u128, |total, (_, weight)| total.saturating_add(*weight));
			if total == 0 {
				break;
			}
			let target = uniform_below(&seed, pick, total);
			let mut cumulative = 0u128;
			let index = candidates
				.iter()
				.position(|(_, weight)| {
					cumulative = cumulative.saturating_add(*weight);
					target < cumulative
				})
				.unwrap_or(candidates.len().saturating_sub(1));
			if index < candidates.len() {
				chosen.push(candidates.swap_remove(index).0);
			}
		}
		chosen
	}
}

/// A number uniform in `0..total` (`total > 0`), drawn from `seed` for pick `pick`.
fn uniform_below(seed: &[u8; 32], pick: u32, total: u128) -> u128 {
	// The largest multiple of `total` that fits, so that `draw % total` is uniform below it.
	let zone = u128::MAX.saturating_sub(u128::MAX.checked_rem(total).unwrap_or_default());
	let mut draw = draw(seed, pick, 0);
	let mut attempt = 1;
	while draw >= zone && attempt < MAX_DRAWS {
		draw = self::draw(seed, pick, attempt);
		attempt = attempt.saturating_add(1);
	}
	draw.checked_rem(total).unwrap_or_default()
}

fn draw(seed: &[u8; 32], pick: u32, attempt: u32) -> u128 {
	u128::from_le_bytes(sp_io::hashing::blake2_128(
		&(SELECTION_DOMAIN, seed, pick, attempt).encode(),
	))
}

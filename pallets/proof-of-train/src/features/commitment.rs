//! Workers commit and reveal their proofs of train.

use crate::*;
use codec::Encode;
use decenter_primitives::{
	merkle,
	proof::{checkpoint_hash_of_parts, seal},
};
use pallet_training_orders::OrderStatus;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_commit_proof(
		who: T::AccountId,
		id: OrderId,
		sealed: Hash256,
	) -> DispatchResult {
		ensure!(T::Orders::status(id) == Some(OrderStatus::Training), Error::<T>::WrongPhase);
		let mut round = match Rounds::<T>::get(id) {
			Some(round) => round,
			None => Self::new_round(id)?,
		};
		ensure!(round.phase == Phase::Committing, Error::<T>::WrongPhase);
		let slot = Self::worker_slot(&round, &who).ok_or(Error::<T>::NotAWorker)?;
		let worker = round.workers.get_mut(slot).ok_or(Error::<T>::NotAWorker)?;
		ensure!(worker.seal.is_none(), Error::<T>::AlreadyCommitted);
		T::Orders::mark_delivered(id, &who)?;
		worker.seal = Some(sealed);
		Self::deposit_event(Event::ProofCommitted { order: id, worker: who });
		Self::progress(id, round)
	}

	fn new_round(id: OrderId) -> Result<RoundOf<T>, DispatchError> {
		let workers = T::Orders::workers(id)
			.into_iter()
			.map(|account| WorkerProof { account, seal: None, commitment: None, fault: None })
			.collect::<alloc::vec::Vec<_>>();
		Ok(Round {
			phase: Phase::Committing,
			workers: BoundedVec::try_from(workers).map_err(|_| Error::<T>::UnknownOrder)?,
			validators: BoundedVec::new(),
			referees: BoundedVec::new(),
			tasks: BoundedVec::new(),
			entropy: [0; 32],
			reserved: 0,
		})
	}

	pub(crate) fn do_reveal_proof(
		who: T::AccountId,
		id: OrderId,
		commitment: PotCommitment,
		salt: Hash256,
		checkpoints: CheckpointList,
	) -> DispatchResult {
		let mut round = Self::current_round(id)?;
		let now = frame_system::Pallet::<T>::block_number();
		match round.phase {
			Phase::Revealing { until } if now <= until => {},
			_ => return Err(Error::<T>::WrongPhase.into()),
		}
		let slot = Self::worker_slot(&round, &who).ok_or(Error::<T>::NotAWorker)?;
		let spec = T::Orders::spec(id)
			.and_then(|spec| spec.variant(slot as u32))
			.ok_or(Error::<T>::UnknownOrder)?;
		let worker = round.workers.get_mut(slot).ok_or(Error::<T>::NotAWorker)?;
		ensure!(worker.fault.is_none(), Error::<T>::Faulted);
		let sealed = worker.seal.ok_or(Error::<T>::NotCommitted)?;
		ensure!(worker.commitment.is_none(), Error::<T>::AlreadyRevealed);
		ensure!(seal(&commitment.hash(), &salt, &who.encode()) == sealed, Error::<T>::SealMismatch);
		ensure!(
			commitment.checkpoints == spec.checkpoint_count(),
			Error::<T>::WrongCheckpointCount
		);
		ensure!(
			checkpoints.len() as u64 == commitment.checkpoints as u64 + 1
				&& merkle::root(&checkpoints) == commitment.checkpoint_root,
			Error::<T>::CheckpointRootMismatch
		);
		// The certificate names `final_model`: it must be the last checkpoint's parameters.
		let last = checkpoint_hash_of_parts(
			u64::from(spec.steps),
			&commitment.final_model,
			&commitment.final_state,
		);
		ensure!(checkpoints.last() == Some(&last), Error::<T>::FinalModelNotLastCheckpoint);
		worker.commitment = Some(commitment.clone());
		round.entropy = sp_io::hashing::blake2_256(&(round.entropy, salt).encode());
		CheckpointHashes::<T>::insert(id, slot as u32, checkpoints);
		Self::deposit_event(Event::ProofRevealed { order: id, worker: who, commitment });
		Self::progress(id, round)
	}

	/// The round of `id`, with a `Committing` round moved to `Revealing` if the orders pallet
	/// already moved the order on (its training deadline passed with some proofs delivered).
	pub(crate) fn current_round(id: OrderId) -> Result<RoundOf<T>, DispatchError> {
		let mut round = Rounds::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		if round.phase == Phase::Committing && T::Orders::status(id) == Some(OrderStatus::Proving) {
			Self::open_reveals(id, &mut round);
		}
		Ok(round)
	}

	pub(crate) fn worker_slot(round: &RoundOf<T>, who: &T::AccountId) -> Option<usize> {
		round.workers.iter().position(|worker| worker.account == *who)
	}
}

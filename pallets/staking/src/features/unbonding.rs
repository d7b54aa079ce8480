//! Unbonding, leaving the pool, and withdrawing matured chunks.

use crate::*;
use frame_support::traits::{fungible::MutateHold, tokens::Precision};
use sp_runtime::traits::{CheckedAdd, Saturating, Zero};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_unbond(who: T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		let mut participant = Participants::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		let leaving = amount >= participant.bond;
		let amount = if leaving {
			ensure!(participant.assignments == 0, Error::<T>::StillAssigned);
			participant.bond
		} else {
			let remaining = participant.bond.saturating_sub(amount);
			ensure!(
				remaining >= Self::required_bond(participant.capacity),
				Error::<T>::BondTooSmall
			);
			amount
		};

		if leaving {
			return Self::leave_pool(&who, &participant, false);
		}
		let unlocks_at = Self::start_unbonding(&who, amount, false)?;
		participant.bond = participant.bond.saturating_sub(amount);
		Participants::<T>::insert(&who, participant);
		Self::deposit_event(Event::Unbonded { who, amount, unlocks_at });
		Ok(())
	}

	/// Takes `who` out of its pool with its whole bond unbonding. `forced` (an eviction) never
	/// fails for want of a free unbonding chunk: the bond then joins the last chunk, which
	/// unlocks at the later of the two blocks.
	pub(crate) fn leave_pool(
		who: &T::AccountId,
		participant: &ParticipantOf<T>,
		forced: bool,
	) -> DispatchResult {
		let unlocks_at = Self::start_unbonding(who, participant.bond, forced)?;
		Participants::<T>::remove(who);
		Pools::<T>::mutate(participant.role, |pool| pool.retain(|member| member != who));
		Self::deposit_event(Event::Unbonded {
			who: who.clone(),
			amount: participant.bond,
			unlocks_at,
		});
		Self::deposit_event(Event::Left { who: who.clone(), role: participant.role });
		Ok(())
	}

	/// Adds `amount` to `who`'s unbonding chunks, unlocking one unbonding period from now;
	/// returns the block it unlocks at.
	fn start_unbonding(
		who: &T::AccountId,
		amount: BalanceOf<T>,
		forced: bool,
	) -> Result<BlockNumberFor<T>, DispatchError> {
		let unlocks_at = frame_system::Pallet::<T>::block_number()
			.checked_add(&UnbondingPeriod::<T>::get())
			.ok_or(Error::<T>::Overflow)?;
		if amount.is_zero() {
			return Ok(unlocks_at);
		}
		Unbonding::<T>::try_mutate(who, |chunks| -> DispatchResult {
			let full = chunks.is_full();
			match chunks.last_mut() {
				Some(last) if last.unlocks_at == unlocks_at || (forced && full) => {
					last.amount = last.amount.saturating_add(amount);
					last.unlocks_at = last.unlocks_at.max(unlocks_at);
				},
				_ => chunks
					.try_push(UnbondingChunk { amount, unlocks_at })
					.map_err(|_| Error::<T>::TooManyUnbondingChunks)?,
			}
			Ok(())
		})?;
		Ok(unlocks_at)
	}

	pub(crate) fn do_withdraw_unbonded(who: T::AccountId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut chunks = Unbonding::<T>::get(&who);
		let mut matured = BalanceOf::<T>::zero();
		chunks.retain(|chunk| {
			let unlocked = chunk.unlocks_at <= now;
			if unlocked {
				matured = matured.saturating_add(chunk.amount);
			}
			!unlocked
		});
		ensure!(!matured.is_zero(), Error::<T>::NothingToWithdraw);

		let released =
			T::Currency::release(&HoldReason::Bond.into(), &who, matured, Precision::BestEffort)?;
		if chunks.is_empty() {
			Unbonding::<T>::remove(&who);
		} else {
			Unbonding::<T>::insert(&who, chunks);
		}
		Self::deposit_event(Event::Withdrawn { who, amount: released });
		Ok(())
	}

	pub(crate) fn do_set_unbonding_period(blocks: BlockNumberFor<T>) -> DispatchResult {
		ensure!(!blocks.is_zero(), Error::<T>::UnbondingPeriodZero);
		UnbondingPeriod::<T>::put(blocks);
		Self::deposit_event(Event::UnbondingPeriodSet { blocks });
		Ok(())
	}
}

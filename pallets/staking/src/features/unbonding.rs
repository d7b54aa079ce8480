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

		let unlocks_at = frame_system::Pallet::<T>::block_number()
			.checked_add(&UnbondingPeriod::<T>::get())
			.ok_or(Error::<T>::Overflow)?;
		if !amount.is_zero() {
			Unbonding::<T>::try_mutate(&who, |chunks| -> DispatchResult {
				match chunks.last_mut() {
					Some(last) if last.unlocks_at == unlocks_at => {
						last.amount = last.amount.saturating_add(amount)
					},
					_ => chunks
						.try_push(UnbondingChunk { amount, unlocks_at })
						.map_err(|_| Error::<T>::TooManyUnbondingChunks)?,
				}
				Ok(())
			})?;
		}

		if leaving {
			Participants::<T>::remove(&who);
			Pools::<T>::mutate(participant.role, |pool| pool.retain(|member| member != &who));
			Self::deposit_event(Event::Unbonded { who: who.clone(), amount, unlocks_at });
			Self::deposit_event(Event::Left { who, role: participant.role });
		} else {
			participant.bond = participant.bond.saturating_sub(amount);
			Participants::<T>::insert(&who, participant);
			Self::deposit_event(Event::Unbonded { who, amount, unlocks_at });
		}
		Ok(())
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

//! Proving, validation and payout, driven by the proof-of-train pallet.

use crate::*;
use alloc::vec::Vec;
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_mark_delivered(id: OrderId, worker: &T::AccountId) -> DispatchResult {
		let mut order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		ensure!(order.status == OrderStatus::Training, Error::<T>::WrongState);
		let slot = order
			.workers
			.iter_mut()
			.find(|slot| slot.account == *worker)
			.ok_or(Error::<T>::NotAssigned)?;
		ensure!(!slot.delivered, Error::<T>::AlreadyDelivered);
		slot.delivered = true;
		Self::deposit_event(Event::ProofDelivered { order: id, worker: worker.clone() });
		if order.workers.iter().all(|slot| slot.delivered) {
			order.status = OrderStatus::Proving;
			Self::deposit_event(Event::ProvingStarted { order: id });
		}
		Orders::<T>::insert(id, order);
		Ok(())
	}

	pub(crate) fn do_begin_validation(
		id: OrderId,
		validators: Vec<T::AccountId>,
	) -> DispatchResult {
		let mut order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		ensure!(order.status == OrderStatus::Proving, Error::<T>::WrongState);
		order.validators =
			BoundedVec::try_from(validators.clone()).map_err(|_| Error::<T>::TooManyValidators)?;
		order.status = OrderStatus::Validating;
		Orders::<T>::insert(id, order);
		Self::deposit_event(Event::ValidationStarted { order: id, validators });
		Ok(())
	}

	pub(crate) fn do_add_validators(id: OrderId, validators: Vec<T::AccountId>) -> DispatchResult {
		let mut order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		ensure!(order.status == OrderStatus::Validating, Error::<T>::WrongState);
		for validator in &validators {
			order
				.validators
				.try_push(validator.clone())
				.map_err(|_| Error::<T>::TooManyValidators)?;
		}
		Orders::<T>::insert(id, order);
		Self::deposit_event(Event::ValidatorsAdded { order: id, validators });
		Ok(())
	}

	/// Pays the validator pool to `validators` in equal parts; returns what was paid.
	fn pay_validators(order: &OrderOf<T>, validators: &[T::AccountId]) -> BalanceOf<T> {
		let each =
			(T::ValidatorShare::get() * order.budget) / (validators.len() as u32).max(1).into();
		validators.iter().fold(Zero::zero(), |paid: BalanceOf<T>, validator| {
			let amount = Self::pay(&order.client, validator, each);
			if !amount.is_zero() {
				T::Staking::record_success(validator);
			}
			paid.saturating_add(amount)
		})
	}

	pub(crate) fn do_complete(
		id: OrderId,
		accepted: &[T::AccountId],
		validators: &[T::AccountId],
	) -> DispatchResult {
		let mut order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		ensure!(order.status == OrderStatus::Validating, Error::<T>::WrongState);
		let slots = (order.workers.len() as u32).max(1);
		let each = (T::WorkerShare::get() * order.budget) / slots.into();
		let workers_paid = order
			.workers
			.iter()
			.filter(|slot| accepted.contains(&slot.account))
			.fold(Zero::zero(), |paid: BalanceOf<T>, slot| {
				T::Staking::record_success(&slot.account);
				paid.saturating_add(Self::pay(&order.client, &slot.account, each))
			});
		let validators_paid = Self::pay_validators(&order, validators);
		for slot in order.workers.iter_mut() {
			slot.paid = accepted.contains(&slot.account);
		}
		let fee_share = order
			.budget
			.saturating_sub(T::WorkerShare::get() * order.budget)
			.saturating_sub(T::ValidatorShare::get() * order.budget);
		let fee = Self::pay(&order.client, &T::Treasury::get(), fee_share);
		let refunded = Self::refund(
			&order.client,
			order
				.budget
				.saturating_sub(workers_paid)
				.saturating_sub(validators_paid)
				.saturating_sub(fee),
		);
		Self::return_deposit(&order, None);
		Self::close(id, order, OrderStatus::Completed);
		Self::deposit_event(Event::OrderCompleted {
			order: id,
			workers_paid,
			validators_paid,
			fee,
			refunded,
		});
		Ok(())
	}

	pub(crate) fn do_fail(id: OrderId, validators: &[T::AccountId]) -> DispatchResult {
		let order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		ensure!(
			matches!(order.status, OrderStatus::Proving | OrderStatus::Validating),
			Error::<T>::WrongState
		);
		let validators_paid = Self::pay_validators(&order, validators);
		let refunded = Self::refund(&order.client, order.budget.saturating_sub(validators_paid));
		Self::return_deposit(&order, None);
		Self::close(id, order, OrderStatus::Failed);
		Self::deposit_event(Event::OrderFailed { order: id, validators_paid, refunded });
		Ok(())
	}
}

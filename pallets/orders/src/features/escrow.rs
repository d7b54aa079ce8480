//! Moving escrowed funds, and closing an order's books.

use crate::*;
use frame_support::traits::{
	fungible::MutateHold,
	tokens::{Fortitude, Precision, Restriction},
	Defensive,
};
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// Pays `amount` of `client`'s escrow to `to`. Returns what was paid: zero when `to` cannot
	/// receive it (a new account below the existential deposit), in which case the amount stays
	/// in escrow and is refunded with the rest.
	pub(crate) fn pay(
		client: &T::AccountId,
		to: &T::AccountId,
		amount: BalanceOf<T>,
	) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		T::Currency::transfer_on_hold(
			&HoldReason::Escrow.into(),
			client,
			to,
			amount,
			Precision::Exact,
			Restriction::Free,
			Fortitude::Polite,
		)
		.unwrap_or_default()
	}

	/// Releases `amount` of escrow back to the client.
	pub(crate) fn refund(client: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		T::Currency::release(&HoldReason::Escrow.into(), client, amount, Precision::BestEffort)
			.defensive_unwrap_or_default()
	}

	/// Returns the deposit, minus `reward` paid to `rewarded` (when given). Returns the reward.
	pub(crate) fn return_deposit(
		order: &OrderOf<T>,
		rewarded: Option<&T::AccountId>,
	) -> BalanceOf<T> {
		let mut reward = BalanceOf::<T>::zero();
		if let Some(caller) = rewarded.filter(|caller| **caller != order.client) {
			reward = T::Currency::transfer_on_hold(
				&HoldReason::Deposit.into(),
				&order.client,
				caller,
				T::ExpiryReward::get().min(order.deposit),
				Precision::Exact,
				Restriction::Free,
				Fortitude::Polite,
			)
			.unwrap_or_default();
		}
		let rest = order.deposit.saturating_sub(reward);
		if !rest.is_zero() {
			let _ = T::Currency::release(
				&HoldReason::Deposit.into(),
				&order.client,
				rest,
				Precision::BestEffort,
			)
			.defensive();
		}
		reward
	}

	/// Ends an order in `status`: releases its workers' capacity and removes it from the
	/// indexes of unfinished orders. Funds must be settled by the caller.
	pub(crate) fn close(id: OrderId, mut order: OrderOf<T>, status: OrderStatus) {
		Self::release_workers(id, &order);
		ClientOrders::<T>::mutate(&order.client, |orders| orders.retain(|o| *o != id));
		OpenOrders::<T>::mutate(|orders| orders.retain(|o| *o != id));
		order.status = status;
		Orders::<T>::insert(id, order);
		Self::queue_prune(id);
	}

	/// Releases the capacity every assigned worker locked for order `id`, and unlists them.
	pub(crate) fn release_workers(id: OrderId, order: &OrderOf<T>) {
		for slot in &order.workers {
			let _ = T::Staking::release_capacity(&slot.account, order.capacity).defensive();
			WorkerOrders::<T>::remove(&slot.account, id);
		}
	}
}

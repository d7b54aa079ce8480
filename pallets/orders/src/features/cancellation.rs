//! Cancelling an order: a full refund before training, time-proportional pay during it, and
//! no cancelling once a worker has delivered (the client would otherwise stop paying for work
//! that is done and whose checkpoints it may already have seen).

use crate::*;
use sp_runtime::{
	traits::{Saturating, UniqueSaturatedInto, Zero},
	Perbill,
};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_cancel_order(who: T::AccountId, id: OrderId) -> DispatchResult {
		let order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		ensure!(order.client == who, Error::<T>::NotClient);
		let now = frame_system::Pallet::<T>::block_number();
		let paid = match order.status {
			OrderStatus::Open | OrderStatus::Assigned => Zero::zero(),
			OrderStatus::Training => {
				ensure!(
					!order.workers.iter().any(|slot| slot.delivered),
					Error::<T>::WorkDelivered
				);
				Self::pay_for_time(&order, now)
			},
			_ => return Err(Error::<T>::WrongState.into()),
		};
		let refunded = Self::refund(&order.client, order.budget.saturating_sub(paid));
		Self::return_deposit(&order, None);
		Self::close(id, order, OrderStatus::Cancelled);
		Self::deposit_event(Event::OrderCancelled { order: id, paid, refunded });
		Ok(())
	}

	/// During training, the worker pool times the fraction of the training window (from the
	/// start of training to the training deadline) that has passed, in equal parts per worker.
	fn pay_for_time(order: &OrderOf<T>, now: BlockNumberFor<T>) -> BalanceOf<T> {
		let started = order.training_started_at.unwrap_or(now);
		let elapsed: u64 = now.saturating_sub(started).unique_saturated_into();
		let window: u64 =
			order.timetable.training_deadline.saturating_sub(started).unique_saturated_into();
		let pool = T::WorkerShare::get() * order.budget;
		let earned = Perbill::from_rational(elapsed.min(window), window.max(1)) * pool;
		let workers = order.workers.len() as u32;
		let each = earned / workers.max(1).into();
		order.workers.iter().fold(Zero::zero(), |paid: BalanceOf<T>, slot| {
			paid.saturating_add(Self::pay(&order.client, &slot.account, each))
		})
	}
}

//! Who may fetch an order's artifacts.

use crate::*;

impl<T: Config> Pallet<T> {
	/// Whether `who` may fetch the dataset, checkpoints and models of order `id`: its client,
	/// its workers and its validators, while the order runs and after it completed. The
	/// off-chain program's artifact server asks this before serving anything.
	pub fn can_fetch(id: OrderId, who: &T::AccountId) -> bool {
		Orders::<T>::get(id).is_some_and(|order| {
			let live = !order.status.is_final() || order.status == OrderStatus::Completed;
			live && (order.client == *who
				|| order.workers.iter().any(|slot| slot.account == *who)
				|| order.validators.contains(who))
		})
	}
}

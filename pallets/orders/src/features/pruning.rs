//! Removing finished orders after `OrderRetention` blocks, so that `Orders` holds what is live
//! plus a bounded window of history instead of growing for ever while deposits are returned.
//!
//! Every order that finishes is appended to `PruneQueue`; `on_initialize` removes the queue's
//! due head entries, at most `MaxPrunesPerBlock` a block. Entries are appended in finishing
//! order with the same retention, so the queue is sorted by due block and the first entry not
//! yet due ends the walk. Nothing is ever dropped: an entry leaves the queue only when its
//! order is removed.

use crate::*;
use sp_runtime::traits::Saturating;

impl<T: Config> Pallet<T> {
	/// Appends order `id`, finished now, to the prune queue.
	pub(crate) fn queue_prune(id: OrderId) {
		let due =
			frame_system::Pallet::<T>::block_number().saturating_add(T::OrderRetention::get());
		PruneQueueEnds::<T>::mutate(|(_, next)| {
			PruneQueue::<T>::insert(*next, (due, id));
			*next = next.saturating_add(1);
		});
	}

	/// Removes the orders whose retention ended by `now`, oldest first, at most
	/// `MaxPrunesPerBlock`; returns the weight used.
	pub(crate) fn prune_finished(now: BlockNumberFor<T>) -> Weight {
		let (first, next) = PruneQueueEnds::<T>::get();
		let mut head = first;
		while head < next && head.saturating_sub(first) < u64::from(T::MaxPrunesPerBlock::get()) {
			match PruneQueue::<T>::get(head) {
				Some((due, _)) if due > now => break,
				Some((_, id)) => Orders::<T>::remove(id),
				// Unreachable while the ends are kept with the entries; skip rather than stall.
				None => {},
			}
			PruneQueue::<T>::remove(head);
			head = head.saturating_add(1);
		}
		let pruned = head.saturating_sub(first);
		if pruned > 0 {
			PruneQueueEnds::<T>::put((head, next));
		}
		// The ends, each entry looked at (one more than pruned when the walk stopped early),
		// and for each pruned entry its order and itself.
		T::DbWeight::get()
			.reads_writes(pruned.saturating_add(2), pruned.saturating_mul(2).saturating_add(1))
	}
}

//! Drawing workers for orders at their start block, and workers confirming or declining.
//!
//! The draw happens in `on_initialize` of the order's start block (or of a retry), with the seed
//! `BLAKE2b-256("decenter/orders/assign" ‖ parent block hash ‖ order id)`: the client chose the
//! start block before that hash existed, and nobody can re-run the draw by timing a call. The
//! author of the parent block could try hashes by reordering its transactions; it gains at most
//! a re-roll of which stake-weighted workers get the order, never a worker of its own choosing
//! without that worker's stake (docs/orders.md).

use crate::*;
use alloc::vec::Vec;
use codec::Encode;
use pallet_compute_staking::Role;
use sp_runtime::traits::Saturating;

impl<T: Config> Pallet<T> {
	pub(crate) fn assign_starting_orders(now: BlockNumberFor<T>) -> Weight {
		let queue = StartQueue::<T>::take(now);
		let mut weight = T::DbWeight::get().reads_writes(1, 1);
		for order in queue {
			Self::try_assign(order, now);
			let workers = T::MaxWorkers::get();
			weight = weight
				.saturating_add(T::Staking::select_weight(workers))
				.saturating_add(T::WeightInfo::assign_workers(workers));
		}
		weight
	}

	pub(crate) fn try_assign(id: OrderId, now: BlockNumberFor<T>) {
		let Some(mut order) = Orders::<T>::get(id) else { return };
		// A cancelled order leaves its queue entry behind; one too late for the work to fit
		// before its training deadline is never assigned and expires unserved (refunded).
		if order.status != OrderStatus::Open || now > Self::latest_start(&order) {
			return;
		}
		let count = order.spec.worker_count();
		let parent = frame_system::Pallet::<T>::parent_hash();
		let seed = sp_io::hashing::blake2_256(&(b"decenter/orders/assign", parent, id).encode());
		// Never the client, nor a worker that declined this order.
		let excluded = core::iter::once(order.client.clone())
			.chain(order.declined.iter().cloned())
			.collect::<Vec<_>>();
		let picked = T::Staking::select(Role::Worker, count, seed, &excluded, order.capacity);

		let mut locked = Vec::new();
		for worker in picked.iter().take(count as usize) {
			if T::Staking::lock_capacity(worker, order.capacity).is_err() {
				break;
			}
			locked.push(worker.clone());
		}
		let slots = locked
			.iter()
			.map(|account| WorkerSlot {
				account: account.clone(),
				confirmed: false,
				delivered: false,
				paid: false,
			})
			.collect::<Vec<_>>();
		let slots = match BoundedVec::try_from(slots) {
			Ok(slots) if locked.len() as u32 == count => slots,
			_ => {
				for worker in &locked {
					let _ = T::Staking::release_capacity(worker, order.capacity);
				}
				Self::defer(id, &order, now);
				return;
			},
		};

		for worker in &locked {
			WorkerOrders::<T>::insert(worker, id, ());
		}
		OpenOrders::<T>::mutate(|orders| orders.retain(|o| *o != id));
		order.workers = slots;
		order.status = OrderStatus::Assigned;
		order.assigned_at = Some(now);
		Orders::<T>::insert(id, order);
		Self::deposit_event(Event::WorkersAssigned { order: id, workers: locked });
	}

	fn defer(id: OrderId, order: &OrderOf<T>, now: BlockNumberFor<T>) {
		let retry_at = now.saturating_add(T::AssignmentRetry::get());
		let retry_at = (retry_at <= Self::latest_start(order)
			&& StartQueue::<T>::try_mutate(retry_at, |queue| queue.try_push(id)).is_ok())
		.then_some(retry_at);
		Self::deposit_event(Event::AssignmentDeferred { order: id, retry_at });
	}

	/// The last block at which workers can still be assigned: the training deadline less the
	/// shortest training window the work needs.
	pub(crate) fn latest_start(order: &OrderOf<T>) -> BlockNumberFor<T> {
		let needed = Self::min_training_window(&order.spec, order.capacity)
			.unwrap_or(order.timetable.training_deadline);
		order.timetable.training_deadline.saturating_sub(needed)
	}

	/// Last block at which the assigned workers may confirm: the order's confirmation window
	/// (`ConfirmWindow` and the time to fetch its inputs) after the assignment, and never after
	/// the training deadline.
	pub(crate) fn confirm_deadline(
		order: &OrderOf<T>,
		now: BlockNumberFor<T>,
	) -> BlockNumberFor<T> {
		order
			.assigned_at
			.unwrap_or(now)
			.saturating_add(Self::confirm_window_of(&order.spec))
			.min(order.timetable.training_deadline)
	}

	pub(crate) fn do_confirm_assignment(who: T::AccountId, id: OrderId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		ensure!(order.status == OrderStatus::Assigned, Error::<T>::WrongState);
		ensure!(now <= Self::confirm_deadline(&order, now), Error::<T>::ConfirmWindowOver);
		let slot = order
			.workers
			.iter_mut()
			.find(|slot| slot.account == who)
			.ok_or(Error::<T>::NotAssigned)?;
		ensure!(!slot.confirmed, Error::<T>::AlreadyConfirmed);
		slot.confirmed = true;
		Self::deposit_event(Event::AssignmentConfirmed { order: id, worker: who });

		if order.workers.iter().all(|slot| slot.confirmed) {
			order.status = OrderStatus::Training;
			order.training_started_at = Some(now);
			Self::deposit_event(Event::TrainingStarted { order: id });
		}
		Orders::<T>::insert(id, order);
		Ok(())
	}

	/// An assigned worker that has not confirmed gives the order back. Nobody is blamed: the
	/// worker's word is no proof that the client's inputs are unavailable (only an on-chain
	/// availability challenge could be), and a free exit harms nobody but the worker, who
	/// forgoes the pay. Every assigned worker is released and the order is drawn again at the
	/// next retry, without the workers that declined it; once `MaxWorkers` workers have
	/// declined, the next decline ends the order as `Expired` with the budget and deposit
	/// refunded.
	pub(crate) fn do_decline_assignment(who: T::AccountId, id: OrderId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		ensure!(order.status == OrderStatus::Assigned, Error::<T>::WrongState);
		ensure!(now <= Self::confirm_deadline(&order, now), Error::<T>::ConfirmWindowOver);
		let slot =
			order.workers.iter().find(|slot| slot.account == who).ok_or(Error::<T>::NotAssigned)?;
		ensure!(!slot.confirmed, Error::<T>::AlreadyConfirmed);

		Self::release_workers(id, &order);
		order.workers = BoundedVec::new();
		order.assigned_at = None;
		order.status = OrderStatus::Open;
		Self::deposit_event(Event::AssignmentDeclined { order: id, worker: who.clone() });
		let reopened = order.declined.try_push(who).is_ok()
			&& OpenOrders::<T>::try_mutate(|orders| orders.try_push(id)).is_ok();
		if !reopened {
			let refunded = Self::refund(&order.client, order.budget);
			let reward = Self::return_deposit(&order, None);
			Self::close(id, order, OrderStatus::Expired);
			Self::deposit_event(Event::OrderExpired { order: id, refunded, reward, caller: None });
			return Ok(());
		}
		Self::defer(id, &order, now);
		Orders::<T>::insert(id, order);
		Ok(())
	}
}

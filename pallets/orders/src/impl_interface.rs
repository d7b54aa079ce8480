//! [`TrainingOrdersInterface`] for the pallet, used by the proof-of-train pallet.

use crate::*;
use alloc::vec::Vec;
use sp_runtime::DispatchResult;

impl<T: Config> TrainingOrdersInterface<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
	fn status(order: OrderId) -> Option<OrderStatus> {
		Orders::<T>::get(order).map(|o| o.status)
	}

	fn client(order: OrderId) -> Option<T::AccountId> {
		Orders::<T>::get(order).map(|o| o.client)
	}

	fn workers(order: OrderId) -> Vec<T::AccountId> {
		Orders::<T>::get(order)
			.map(|o| o.workers.into_iter().map(|slot| slot.account).collect())
			.unwrap_or_default()
	}

	fn spec(order: OrderId) -> Option<OrderSpec> {
		Orders::<T>::get(order).map(|o| o.spec)
	}

	fn capacity(order: OrderId) -> Option<ComputeUnits> {
		Orders::<T>::get(order).map(|o| o.capacity)
	}

	fn timetable(order: OrderId) -> Option<Timetable<BlockNumberFor<T>>> {
		Orders::<T>::get(order).map(|o| o.timetable)
	}

	fn mark_delivered(order: OrderId, worker: &T::AccountId) -> DispatchResult {
		Self::do_mark_delivered(order, worker)
	}

	fn begin_validation(order: OrderId, validators: Vec<T::AccountId>) -> DispatchResult {
		Self::do_begin_validation(order, validators)
	}

	fn add_validators(order: OrderId, validators: Vec<T::AccountId>) -> DispatchResult {
		Self::do_add_validators(order, validators)
	}

	fn complete(
		order: OrderId,
		accepted: &[T::AccountId],
		validators: &[T::AccountId],
	) -> DispatchResult {
		Self::do_complete(order, accepted, validators)
	}

	fn fail(order: OrderId, validators: &[T::AccountId]) -> DispatchResult {
		Self::do_fail(order, validators)
	}
}

//! Expiring orders whose deadline passed, and reporting whoever missed it.

use crate::*;
use pallet_compute_staking::SlashReason;

impl<T: Config> Pallet<T> {
	pub(crate) fn do_expire_order(caller: T::AccountId, id: OrderId) -> DispatchResult {
		let mut order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		let now = frame_system::Pallet::<T>::block_number();
		let deadlines = order.timetable;
		match order.status {
			// Never served: nobody to blame.
			OrderStatus::Open => ensure!(now > deadlines.training_deadline, Error::<T>::NotExpired),
			OrderStatus::Assigned => {
				let confirm_by = Self::confirm_deadline(&order, now);
				ensure!(now > confirm_by, Error::<T>::NotExpired);
				Self::report_missed(id, &order, |slot| !slot.confirmed);
			},
			OrderStatus::Training => {
				ensure!(now > deadlines.training_deadline, Error::<T>::NotExpired);
				Self::report_missed(id, &order, |slot| !slot.delivered);
				if order.workers.iter().any(|slot| slot.delivered) {
					// Those who delivered are checked; the others get nothing.
					order.status = OrderStatus::Proving;
					Orders::<T>::insert(id, order);
					Self::deposit_event(Event::ProvingStarted { order: id });
					return Ok(());
				}
			},
			// Validators that miss their reports are slashed by the proof-of-train pallet; the
			// escrow must not stay locked, so the client gets it back.
			OrderStatus::Proving | OrderStatus::Validating => {
				ensure!(now > deadlines.validation_deadline, Error::<T>::NotExpired)
			},
			_ => return Err(Error::<T>::WrongState.into()),
		}

		let refunded = Self::refund(&order.client, order.budget);
		let reward = Self::return_deposit(&order, Some(&caller));
		Self::close(id, order, OrderStatus::Expired);
		Self::deposit_event(Event::OrderExpired { order: id, refunded, reward, caller });
		Ok(())
	}

	/// Slashes (to the client) and faults every worker for which `missed` holds.
	fn report_missed(
		id: OrderId,
		order: &OrderOf<T>,
		missed: impl Fn(&WorkerSlot<T::AccountId>) -> bool,
	) {
		for slot in order.workers.iter().filter(|slot| missed(slot)) {
			let slashed = T::Staking::slash_fraction(
				&slot.account,
				T::MissedDeadlineSlash::get(),
				SlashReason::MissedDeadline,
				Some(&order.client),
			);
			T::Staking::record_fault(&slot.account);
			Self::deposit_event(Event::DeadlineMissed {
				order: id,
				worker: slot.account.clone(),
				slashed,
			});
		}
	}
}

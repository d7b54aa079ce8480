//! Expiring orders whose deadline passed, and reporting whoever missed it.

use crate::*;
use pallet_compute_staking::SlashReason;

impl<T: Config> Pallet<T> {
	/// Whether a deadline of `order` has passed at `now`, so that expiring it acts.
	pub(crate) fn check_lapsed(order: &OrderOf<T>, now: BlockNumberFor<T>) -> DispatchResult {
		let deadlines = order.timetable;
		let due = match order.status {
			// Once workers could no longer finish it in time, it is never assigned: let it go.
			OrderStatus::Open => now > Self::latest_start(order),
			OrderStatus::Training => now > deadlines.training_deadline,
			OrderStatus::Assigned => now > Self::confirm_deadline(order, now),
			OrderStatus::Proving | OrderStatus::Validating => now > deadlines.validation_deadline,
			_ => return Err(Error::<T>::WrongState.into()),
		};
		ensure!(due, Error::<T>::NotExpired);
		Ok(())
	}

	/// Expires order `id`; `caller`, when given, earns the reward out of the deposit.
	pub(crate) fn do_expire_order(caller: Option<T::AccountId>, id: OrderId) -> DispatchResult {
		let mut order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		let now = frame_system::Pallet::<T>::block_number();
		Self::check_lapsed(&order, now)?;
		match order.status {
			OrderStatus::Assigned => Self::report_missed(id, &order, |slot| !slot.confirmed),
			OrderStatus::Training => {
				Self::report_missed(id, &order, |slot| !slot.delivered);
				if order.workers.iter().any(|slot| slot.delivered) {
					// Those who delivered are checked; the others get nothing.
					order.status = OrderStatus::Proving;
					Orders::<T>::insert(id, order);
					Self::deposit_event(Event::ProvingStarted { order: id });
					return Ok(());
				}
			},
			// Open: never served, nobody to blame. Proving/Validating: validators that missed
			// their reports are the proof-of-train pallet's to slash; the escrow must not stay
			// locked, so the client gets it back.
			_ => {},
		}

		let refunded = Self::refund(&order.client, order.budget);
		let reward = Self::return_deposit(&order, caller.as_ref());
		Self::close(id, order, OrderStatus::Expired);
		Self::deposit_event(Event::OrderExpired { order: id, refunded, reward, caller });
		Ok(())
	}

	/// Slashes (to the treasury) and faults every worker for which `missed` holds. The client
	/// set the deadline, so it must not gain from a worker missing it.
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
				None,
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

//! Creating orders and topping up their budget.

use crate::*;
use decenter_primitives::{order::OrderSpecError, spec::SpecError};
use frame_support::traits::{
	fungible::{Mutate, MutateHold},
	tokens::Preservation,
};
use sp_runtime::traits::{One, Saturating, Zero};

impl<T: Config> Pallet<T> {
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn do_create_order(
		client: T::AccountId,
		spec: OrderSpec,
		capacity: ComputeUnits,
		start_at: Option<BlockNumberFor<T>>,
		training_deadline: BlockNumberFor<T>,
		validation_deadline: BlockNumberFor<T>,
		budget: BalanceOf<T>,
	) -> DispatchResult {
		Self::check_spec_and_capacity(&spec, capacity)?;
		ensure!(budget >= T::MinBudget::get(), Error::<T>::BudgetTooSmall);

		let now = frame_system::Pallet::<T>::block_number();
		let start_at = start_at.unwrap_or_else(|| now.saturating_add(One::one()));
		let min_training = Self::min_training_window(&spec, capacity)?;
		let min_validation = Self::min_validation_window(&spec, capacity)?;
		Self::check_timetable(
			now,
			(min_training, min_validation),
			start_at,
			training_deadline,
			validation_deadline,
		)?;

		let order = NextOrderId::<T>::get();
		NextOrderId::<T>::put(order.checked_add(1).ok_or(Error::<T>::Overflow)?);
		ClientOrders::<T>::try_mutate(&client, |orders| orders.try_push(order))
			.map_err(|_| Error::<T>::TooManyOrders)?;
		OpenOrders::<T>::try_mutate(|orders| orders.try_push(order))
			.map_err(|_| Error::<T>::TooManyOpenOrders)?;
		StartQueue::<T>::try_mutate(start_at, |queue| queue.try_push(order))
			.map_err(|_| Error::<T>::StartBlockFull)?;

		let deposit = T::OrderDeposit::get();
		let fee = T::OrderFee::get();
		T::Currency::hold(&HoldReason::Escrow.into(), &client, budget)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		if !deposit.is_zero() {
			T::Currency::hold(&HoldReason::Deposit.into(), &client, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
		}
		if !fee.is_zero() {
			T::Currency::transfer(&client, &T::Treasury::get(), fee, Preservation::Preserve)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
		}

		let workers = spec.worker_count();
		Orders::<T>::insert(
			order,
			Order {
				client: client.clone(),
				spec,
				capacity,
				budget,
				deposit,
				status: OrderStatus::Open,
				created_at: now,
				timetable: Timetable { start_at, training_deadline, validation_deadline },
				assigned_at: None,
				training_started_at: None,
				workers: BoundedVec::new(),
				validators: BoundedVec::new(),
				declined: BoundedVec::new(),
			},
		);
		Self::deposit_event(Event::OrderCreated { order, client, budget, fee, workers, start_at });
		Ok(())
	}

	/// The rules on what is trained and by whom, shared with `quote`.
	pub(crate) fn check_spec_and_capacity(
		spec: &OrderSpec,
		capacity: ComputeUnits,
	) -> DispatchResult {
		ensure!(capacity > 0, Error::<T>::CapacityZero);
		ensure!(capacity <= T::Staking::max_capacity(), Error::<T>::CapacityTooLarge);
		ensure!(capacity >= T::ValidationWork::min_capacity(), Error::<T>::CapacityBelowCheckers);
		spec.validate().map_err(Self::spec_error)?;
		ensure!(spec.worker_count() <= T::MaxWorkers::get(), Error::<T>::BadWorkerCount);
		Ok(())
	}

	/// The timetable's rules: each bound has its own error.
	fn check_timetable(
		now: BlockNumberFor<T>,
		(min_training, min_validation): (BlockNumberFor<T>, BlockNumberFor<T>),
		start_at: BlockNumberFor<T>,
		training_deadline: BlockNumberFor<T>,
		validation_deadline: BlockNumberFor<T>,
	) -> DispatchResult {
		ensure!(start_at > now, Error::<T>::StartInPast);
		ensure!(start_at.saturating_sub(now) <= T::MaxStartDelay::get(), Error::<T>::StartTooLate);
		ensure!(training_deadline > start_at, Error::<T>::DeadlineBeforeStart);
		let training = training_deadline.saturating_sub(start_at);
		ensure!(training >= min_training, Error::<T>::TrainingWindowTooShort);
		ensure!(training <= T::MaxTrainingWindow::get(), Error::<T>::TrainingWindowTooLong);
		ensure!(validation_deadline > training_deadline, Error::<T>::ValidationBeforeTraining);
		let validation = validation_deadline.saturating_sub(training_deadline);
		ensure!(validation >= min_validation, Error::<T>::ValidationWindowTooShort);
		ensure!(validation <= T::MaxValidationWindow::get(), Error::<T>::ValidationWindowTooLong);
		Ok(())
	}

	pub(crate) fn do_top_up(
		who: T::AccountId,
		order: OrderId,
		amount: BalanceOf<T>,
	) -> DispatchResult {
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		Orders::<T>::try_mutate(order, |entry| -> DispatchResult {
			let order = entry.as_mut().ok_or(Error::<T>::UnknownOrder)?;
			ensure!(order.client == who, Error::<T>::NotClient);
			ensure!(!order.status.is_final(), Error::<T>::WrongState);
			order.budget = order.budget.saturating_add(amount);
			Ok(())
		})?;
		T::Currency::hold(&HoldReason::Escrow.into(), &who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		Self::deposit_event(Event::ToppedUp { order, amount });
		Ok(())
	}

	fn spec_error(error: OrderSpecError) -> Error<T> {
		match error {
			OrderSpecError::Spec(SpecError::ZeroSteps) => Error::<T>::ZeroSteps,
			OrderSpecError::Spec(_) => Error::<T>::InvalidTrainingSpec,
			OrderSpecError::EmptyDataset => Error::<T>::EmptyDataset,
			OrderSpecError::BatchLargerThanDataset => Error::<T>::BatchLargerThanDataset,
			OrderSpecError::FeatureMismatch => Error::<T>::FeatureMismatch,
			OrderSpecError::LabelMismatch => Error::<T>::LabelMismatch,
			OrderSpecError::BadReplicaCount | OrderSpecError::EmptySweep => {
				Error::<T>::BadWorkerCount
			},
		}
	}
}

//! Windows that follow from the work. An order's training window must leave room for an
//! assigned worker to fetch the inputs and confirm, to train `ComputeSlack` times as long as
//! the spec's cost model says at the order's capacity, and to deliver its proof; otherwise a
//! client could set a deadline no worker can meet and have the worker slashed for missing it.
//! `quote` gives every bound for a spec before anyone signs.

use crate::*;
use decenter_primitives::spec::blocks_for;
use sp_runtime::{traits::Saturating, SaturatedConversion};

/// A billion flops: capacities are in GFLOP/s.
const GIGA: u128 = 1_000_000_000;

impl<T: Config> Pallet<T> {
	/// Blocks that `amount` units take at `per_second` units a second, rounded up.
	fn blocks_for(amount: u128, per_second: u128) -> BlockNumberFor<T> {
		blocks_for(amount, per_second, T::ExpectedBlockTime::get()).saturated_into()
	}

	/// The shortest validation window for `spec` trained at `capacity`: `MinValidationWindow`
	/// (the game's fixed windows and waits) and the time its checkers' work takes; at most
	/// `MaxValidationWindow` (`CheckingTooLong`).
	pub(crate) fn min_validation_window(
		spec: &OrderSpec,
		capacity: ComputeUnits,
	) -> Result<BlockNumberFor<T>, Error<T>> {
		let work = T::ValidationWork::validation_work_blocks(spec, capacity)
			.ok_or(Error::<T>::InvalidTrainingSpec)?;
		let window = T::MinValidationWindow::get().saturating_add(work);
		ensure!(window <= T::MaxValidationWindow::get(), Error::<T>::CheckingTooLong);
		Ok(window)
	}

	/// Blocks the assigned workers of an order of `spec` have to confirm: `ConfirmWindow` and
	/// the time its inputs take at `WorkerBandwidth`.
	pub(crate) fn confirm_window_of(spec: &OrderSpec) -> BlockNumberFor<T> {
		let fetch =
			Self::blocks_for(u128::from(spec.input_bytes()), u128::from(T::WorkerBandwidth::get()));
		ConfirmWindow::<T>::get().saturating_add(fetch)
	}

	/// The shortest training window for `spec` at `capacity` GFLOP/s: confirmation (with
	/// fetching), `ComputeSlack` times the compute time of the costliest slot, and
	/// `ConfirmWindow` again to commit the proof.
	pub(crate) fn min_training_window(
		spec: &OrderSpec,
		capacity: ComputeUnits,
	) -> Result<BlockNumberFor<T>, Error<T>> {
		let flops = spec.max_training_flops().ok_or(Error::<T>::InvalidTrainingSpec)?;
		let compute = Self::blocks_for(flops, u128::from(capacity).saturating_mul(GIGA));
		let slack: BlockNumberFor<T> = T::ComputeSlack::get().into();
		Ok(Self::confirm_window_of(spec)
			.saturating_add(compute.saturating_mul(slack))
			.saturating_add(ConfirmWindow::<T>::get()))
	}

	/// Everything `create_order` requires of an order of `spec` at `capacity`, or the error it
	/// would fail with (`TrainingWindowTooShort` when even `MaxTrainingWindow` is too short).
	pub fn quote(
		spec: &OrderSpec,
		capacity: ComputeUnits,
	) -> Result<Quote<BalanceOf<T>, BlockNumberFor<T>>, DispatchError> {
		Self::check_spec_and_capacity(spec, capacity)?;
		let min_training_window = Self::min_training_window(spec, capacity)?;
		ensure!(
			min_training_window <= T::MaxTrainingWindow::get(),
			Error::<T>::TrainingWindowTooShort
		);
		let min_validation_window = Self::min_validation_window(spec, capacity)?;
		Ok(Quote {
			fee: T::OrderFee::get(),
			deposit: T::OrderDeposit::get(),
			min_budget: T::MinBudget::get(),
			max_start_delay: T::MaxStartDelay::get(),
			confirm_window: Self::confirm_window_of(spec),
			min_training_window,
			max_training_window: T::MaxTrainingWindow::get(),
			min_validation_window,
			max_validation_window: T::MaxValidationWindow::get(),
		})
	}
}

//! Benchmarks of every call, at its worst case, and of `select` over the pool size.

use super::*;
use alloc::{vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, Mutate};
use frame_system::RawOrigin;
use sp_runtime::traits::{Bounded, Saturating};

fn assert_last_event<T: Config>(event: Event<T>) {
	frame_system::Pallet::<T>::assert_last_event(<T as Config>::RuntimeEvent::from(event).into());
}

/// An account with enough balance for the largest bond, many times over.
fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	let amount = Pallet::<T>::required_bond(T::MaxCapacity::get())
		.saturating_mul(100u32.into())
		.saturating_add(T::Currency::minimum_balance());
	T::Currency::set_balance(&who, amount);
	who
}

fn longest<S: Get<u32>>() -> BoundedVec<u8, S> {
	BoundedVec::truncate_from(vec![b'x'; S::get() as usize])
}

/// Fills a pool with `members` accounts that only exist in the pool list, so that the list
/// costs what a full one does to decode and encode.
fn fill_pool<T: Config>(role: Role, members: u32) {
	let list = (0..members).map(|i| account::<T::AccountId>("member", i, 1)).collect::<Vec<_>>();
	Pools::<T>::insert(role, BoundedVec::truncate_from(list));
}

/// Registers `who` through the call, with the largest capacity and strings.
fn register<T: Config>(who: &T::AccountId, role: Role) -> BalanceOf<T> {
	let bond = Pallet::<T>::required_bond(T::MaxCapacity::get());
	let result = Pallet::<T>::do_register(
		who.clone(),
		role,
		T::MaxCapacity::get(),
		longest::<T::MaxDeviceLength>(),
		longest::<T::MaxEndpointLength>(),
		bond,
	);
	assert!(result.is_ok(), "registration in benchmark setup failed: {result:?}");
	bond
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_worker() {
		fill_pool::<T>(Role::Worker, T::MaxPoolSize::get().saturating_sub(1));
		let who = funded::<T>("worker", 0);
		let capacity = T::MaxCapacity::get();
		let bond = Pallet::<T>::required_bond(capacity);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			capacity,
			longest::<T::MaxDeviceLength>(),
			longest::<T::MaxEndpointLength>(),
			bond,
		);

		assert_last_event::<T>(Event::Registered { who, role: Role::Worker, capacity, bond });
	}

	#[benchmark]
	fn register_validator() {
		fill_pool::<T>(Role::Validator, T::MaxPoolSize::get().saturating_sub(1));
		let who = funded::<T>("validator", 0);
		let capacity = T::MaxCapacity::get();
		let bond = Pallet::<T>::required_bond(capacity);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			capacity,
			longest::<T::MaxDeviceLength>(),
			longest::<T::MaxEndpointLength>(),
			bond,
		);

		assert_last_event::<T>(Event::Registered { who, role: Role::Validator, capacity, bond });
	}

	#[benchmark]
	fn update_capacity() {
		let who = funded::<T>("worker", 0);
		register::<T>(&who, Role::Worker);
		let capacity = T::MaxCapacity::get().saturating_sub(1).max(1);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), capacity);

		assert_last_event::<T>(Event::CapacityUpdated { who, capacity });
	}

	#[benchmark]
	fn set_endpoint() {
		let who = funded::<T>("worker", 0);
		register::<T>(&who, Role::Worker);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), longest::<T::MaxEndpointLength>());

		assert_last_event::<T>(Event::EndpointUpdated { who });
	}

	#[benchmark]
	fn bond_extra() {
		let who = funded::<T>("worker", 0);
		register::<T>(&who, Role::Worker);
		let amount = T::MinBond::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), amount);

		assert_last_event::<T>(Event::Bonded { who, amount });
	}

	#[benchmark]
	fn chill() {
		let who = funded::<T>("worker", 0);
		register::<T>(&who, Role::Worker);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert_last_event::<T>(Event::Chilled { who });
	}

	#[benchmark]
	fn resume() {
		let who = funded::<T>("worker", 0);
		register::<T>(&who, Role::Worker);
		assert!(Pallet::<T>::do_chill(who.clone()).is_ok());

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert_last_event::<T>(Event::Resumed { who });
	}

	/// Worst case: leaving a full pool as its last member, with every other unbonding chunk in
	/// use.
	#[benchmark]
	fn unbond() {
		fill_pool::<T>(Role::Worker, T::MaxPoolSize::get().saturating_sub(1));
		let who = funded::<T>("worker", 0);
		let bond = register::<T>(&who, Role::Worker);
		let chunks = T::MaxUnbondingChunks::get().saturating_sub(1);
		assert!(Pallet::<T>::do_bond_extra(who.clone(), chunks.into()).is_ok());
		for block in 0..chunks {
			frame_system::Pallet::<T>::set_block_number(block.into());
			assert!(Pallet::<T>::do_unbond(who.clone(), 1u32.into()).is_ok());
		}
		frame_system::Pallet::<T>::set_block_number(chunks.into());

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), BalanceOf::<T>::max_value());

		assert_last_event::<T>(Event::Left { who: who.clone(), role: Role::Worker });
		assert_eq!(Unbonding::<T>::get(&who).len() as u32, chunks.saturating_add(1));
		assert_eq!(Pallet::<T>::total_bonded(&who), bond.saturating_add(chunks.into()));
	}

	/// Worst case: every chunk slot used and matured.
	#[benchmark]
	fn withdraw_unbonded() {
		let who = funded::<T>("worker", 0);
		let bond = register::<T>(&who, Role::Worker);
		let chunks = T::MaxUnbondingChunks::get();
		assert!(Pallet::<T>::do_bond_extra(who.clone(), chunks.into()).is_ok());
		for block in 0..chunks.saturating_sub(1) {
			frame_system::Pallet::<T>::set_block_number(block.into());
			assert!(Pallet::<T>::do_unbond(who.clone(), 1u32.into()).is_ok());
		}
		frame_system::Pallet::<T>::set_block_number(chunks.into());
		assert!(Pallet::<T>::do_unbond(who.clone(), BalanceOf::<T>::max_value()).is_ok());
		let period = UnbondingPeriod::<T>::get();
		frame_system::Pallet::<T>::set_block_number(period.saturating_add(chunks.into()));

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert_last_event::<T>(Event::Withdrawn {
			who: who.clone(),
			amount: bond.saturating_add(chunks.into()),
		});
		assert!(Unbonding::<T>::get(&who).is_empty());
	}

	#[benchmark]
	fn set_unbonding_period() {
		let blocks: BlockNumberFor<T> = 100u32.into();

		#[extrinsic_call]
		_(RawOrigin::Root, blocks);

		assert_last_event::<T>(Event::UnbondingPeriodSet { blocks });
	}

	/// `p` eligible validators in the pool, `n` picks.
	#[benchmark]
	fn select(p: Linear<1, { T::MaxPoolSize::get() }>, n: Linear<1, 32>) {
		let members =
			(0..p).map(|i| account::<T::AccountId>("validator", i, 2)).collect::<Vec<_>>();
		for (index, who) in members.iter().enumerate() {
			Participants::<T>::insert(
				who,
				Participant {
					role: Role::Validator,
					status: ParticipantStatus::Active,
					capacity: T::MaxCapacity::get(),
					locked_capacity: 0,
					assignments: 0,
					bond: T::MinBond::get().saturating_add((index as u32).into()),
					device: longest::<T::MaxDeviceLength>(),
					endpoint: longest::<T::MaxEndpointLength>(),
					registered_at: 0u32.into(),
				},
			);
		}
		Pools::<T>::insert(Role::Validator, BoundedVec::truncate_from(members));
		let picked;

		#[block]
		{
			picked = Pallet::<T>::do_select(Role::Validator, n, [7u8; 32], &[], 0);
		}

		assert_eq!(picked.len() as u32, n.min(p));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

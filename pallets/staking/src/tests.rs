//! Tests of every call, every error, the interface and the balance invariants.

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};
use frame_system::RawOrigin;
use sp_runtime::{BuildStorage, DispatchError, Perbill, TokenError};

fn bounded<S: Get<u32>>(bytes: &[u8]) -> BoundedVec<u8, S> {
	BoundedVec::try_from(bytes.to_vec()).unwrap()
}

fn register(who: AccountId, role: Role, capacity: ComputeUnits, bond: Balance) -> DispatchResult {
	let origin = RuntimeOrigin::signed(who);
	let device = bounded(b"1x test GPU");
	let endpoint = bounded(b"http://127.0.0.1:8700");
	let registered = match role {
		Role::Worker => ComputeStaking::register_worker(origin, capacity, device, endpoint, bond),
		Role::Validator => {
			ComputeStaking::register_validator(origin, capacity, device, endpoint, bond)
		},
	};
	registered.map(|_| ()).map_err(|e| e.error)
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::Bond.into(), &who)
}

fn free(who: AccountId) -> Balance {
	Balances::balance(&who)
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event was deposited").event
}

fn participant(who: AccountId) -> ParticipantOf<Test> {
	Participants::<Test>::get(who).expect("registered")
}

/// Bond + unbonding chunks must equal what Balances holds for the pallet, for every account.
fn assert_holds_match_bookkeeping() {
	for who in (1..=20).chain([TREASURY]) {
		assert_eq!(held(who), ComputeStaking::total_bonded(&who), "account {who}");
	}
}

#[test]
fn register_worker_holds_the_bond() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 300));
		assert_eq!(held(1), 300);
		assert_eq!(free(1), 10_000 - 300);
		let p = participant(1);
		assert_eq!(
			(p.role, p.status, p.capacity, p.bond),
			(Role::Worker, ParticipantStatus::Active, 50, 300)
		);
		assert_eq!(p.endpoint.to_vec(), b"http://127.0.0.1:8700".to_vec());
		assert_eq!(Pools::<Test>::get(Role::Worker).to_vec(), vec![1]);
		assert_eq!(Reputations::<Test>::get(1).last_active, 1);
		assert_eq!(
			last_event(),
			Event::Registered { who: 1, role: Role::Worker, capacity: 50, bond: 300 }.into()
		);
	});
}

#[test]
fn register_validator_joins_the_validator_pool() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(2, Role::Validator, 10, 120));
		assert_eq!(participant(2).role, Role::Validator);
		assert_eq!(Pools::<Test>::get(Role::Validator).to_vec(), vec![2]);
		assert!(Pools::<Test>::get(Role::Worker).is_empty());
	});
}

#[test]
fn bonded_funds_cannot_be_transferred() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 9_000));
		assert_noop!(
			Balances::transfer_allow_death(RuntimeOrigin::signed(1), 2, 1_500),
			TokenError::FundsUnavailable
		);
		assert_ok!(Balances::transfer_allow_death(RuntimeOrigin::signed(1), 2, 900));
		assert_eq!(held(1), 9_000);
	});
}

#[test]
fn register_rejects_bad_input() {
	new_test_ext().execute_with(|| {
		assert_noop!(register(1, Role::Worker, 0, 300), Error::<Test>::CapacityZero);
		assert_noop!(
			register(1, Role::Worker, MAX_CAPACITY + 1, 10_000),
			Error::<Test>::CapacityTooLarge
		);
		// 100 + 2 × 50 = 200 is the least bond for 50 units.
		assert_noop!(register(1, Role::Worker, 50, 199), Error::<Test>::BondTooSmall);
		assert_noop!(register(1, Role::Worker, 50, 10_000), Error::<Test>::InsufficientBalance);
		assert_noop!(
			ComputeStaking::register_worker(
				RuntimeOrigin::signed(1),
				50,
				bounded(b"gpu"),
				bounded(b""),
				300
			),
			Error::<Test>::EndpointMissing
		);
		assert_ok!(register(1, Role::Worker, 50, 200));
		assert_noop!(register(1, Role::Worker, 50, 200), Error::<Test>::AlreadyRegistered);
		assert_noop!(register(1, Role::Validator, 50, 200), Error::<Test>::AlreadyRegistered);
		assert_noop!(
			ComputeStaking::register_worker(
				RawOrigin::None.into(),
				50,
				bounded(b"gpu"),
				bounded(b"x"),
				300
			),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn pool_is_bounded() {
	new_test_ext().execute_with(|| {
		for who in 1..=MAX_POOL as AccountId {
			assert_ok!(register(who, Role::Worker, 1, 102));
		}
		// A full pool takes no equal bond, nor one within the eviction margin (10%).
		assert_noop!(register(19, Role::Worker, 1, 102), Error::<Test>::BondTooLowForPool);
		assert_noop!(register(19, Role::Worker, 1, 112), Error::<Test>::BondTooLowForPool);
		// The other pool has its own bound.
		assert_ok!(register(19, Role::Validator, 1, 102));
	});
}

#[test]
fn attack_fill_the_pool_to_keep_honest_participants_out() {
	new_test_ext().execute_with(|| {
		// An attacker fills the worker pool with small bonds; member 2 has the lowest.
		for who in 1..=MAX_POOL as AccountId {
			assert_ok!(register(who, Role::Worker, 1, if who == 2 { 102 } else { 110 }));
		}
		// Within the margin (102 + 10%) nobody gets in.
		assert_noop!(register(19, Role::Worker, 1, 112), Error::<Test>::BondTooLowForPool);
		// Member 1 is busy: an assigned member is never evicted, whatever its bond.
		assert_ok!(ComputeStaking::lock_capacity(&1, 1));
		// An honest newcomer bonding more than 110% of the lowest idle bond takes its place.
		let before = (free(2), held(2));
		let newcomer = 20;
		let registered = ComputeStaking::register_worker(
			RuntimeOrigin::signed(newcomer),
			1,
			bounded(b"1x test GPU"),
			bounded(b"http://127.0.0.1:8700"),
			113,
		);
		assert_ok!(registered);
		// It paid for the scan of the pool, and only because it evicted someone.
		assert_eq!(
			registered.unwrap().actual_weight,
			Some(
				<() as WeightInfo>::register_worker()
					.saturating_add(ComputeStaking::eviction_weight())
			)
		);
		assert!(Pools::<Test>::get(Role::Worker).contains(&newcomer));
		assert!(!Pools::<Test>::get(Role::Worker).contains(&2));
		assert!(!Participants::<Test>::contains_key(2));
		System::assert_has_event(
			Event::Evicted { who: 2, by: newcomer, role: Role::Worker }.into(),
		);
		// The evicted member loses nothing: its whole bond unbonds as if it had left.
		assert_eq!((free(2), held(2)), before);
		let chunks = Unbonding::<Test>::get(2);
		assert_eq!(chunks.len(), 1);
		assert_eq!((chunks[0].amount, chunks[0].unlocks_at), (102, 1 + UNBONDING_PERIOD));
		System::set_block_number(1 + UNBONDING_PERIOD);
		assert_ok!(ComputeStaking::withdraw_unbonded(RuntimeOrigin::signed(2)));
		assert_eq!((free(2), held(2)), (before.0 + 102, 0));
		// Every idle member now bonds 110: 112 is within their margin, and the pool is closed.
		assert_noop!(register(19, Role::Worker, 1, 112), Error::<Test>::BondTooLowForPool);
		assert_eq!(participant(1).bond, 110);
	});
}

#[test]
fn eviction_never_fails_for_want_of_an_unbonding_chunk() {
	new_test_ext().execute_with(|| {
		for who in 1..=MAX_POOL as AccountId {
			assert_ok!(register(who, Role::Worker, 1, 1_000));
		}
		// Member 3 fills its unbonding chunks, one block apart, leaving the lowest bond.
		for block in 1..=MAX_CHUNKS as u64 {
			System::set_block_number(block);
			assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(3), 100));
		}
		assert_eq!(Unbonding::<Test>::get(3).len(), MAX_CHUNKS as usize);
		let remaining = participant(3).bond;
		System::set_block_number(MAX_CHUNKS as u64 + 1);
		assert_ok!(register(19, Role::Worker, 1, 1_000));
		// The rest of its bond joined the last chunk, which unlocks at the later block.
		let chunks = Unbonding::<Test>::get(3);
		assert_eq!(chunks.len(), MAX_CHUNKS as usize);
		let last = chunks.last().unwrap();
		assert_eq!(
			(last.amount, last.unlocks_at),
			(100 + remaining, MAX_CHUNKS as u64 + 1 + UNBONDING_PERIOD)
		);
		assert_eq!(held(3), 100 * MAX_CHUNKS as u64 + remaining);
	});
}

#[test]
fn update_capacity_rechecks_the_bond() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 300));
		assert_ok!(ComputeStaking::update_capacity(RuntimeOrigin::signed(1), 100));
		assert_eq!(participant(1).capacity, 100);
		assert_eq!(last_event(), Event::CapacityUpdated { who: 1, capacity: 100 }.into());
		assert_noop!(
			ComputeStaking::update_capacity(RuntimeOrigin::signed(1), 101),
			Error::<Test>::BondTooSmall
		);
		assert_noop!(
			ComputeStaking::update_capacity(RuntimeOrigin::signed(1), 0),
			Error::<Test>::CapacityZero
		);
		assert_noop!(
			ComputeStaking::update_capacity(RuntimeOrigin::signed(1), MAX_CAPACITY + 1),
			Error::<Test>::CapacityTooLarge
		);
		assert_noop!(
			ComputeStaking::update_capacity(RuntimeOrigin::signed(2), 10),
			Error::<Test>::NotRegistered
		);
		assert_ok!(ComputeStaking::lock_capacity(&1, 80));
		assert_noop!(
			ComputeStaking::update_capacity(RuntimeOrigin::signed(1), 79),
			Error::<Test>::CapacityBelowLocked
		);
	});
}

#[test]
fn set_endpoint_changes_the_endpoint() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 300));
		assert_ok!(ComputeStaking::set_endpoint(RuntimeOrigin::signed(1), bounded(b"https://w1")));
		assert_eq!(participant(1).endpoint.to_vec(), b"https://w1".to_vec());
		assert_eq!(last_event(), Event::EndpointUpdated { who: 1 }.into());
		assert_noop!(
			ComputeStaking::set_endpoint(RuntimeOrigin::signed(1), bounded(b"")),
			Error::<Test>::EndpointMissing
		);
		assert_noop!(
			ComputeStaking::set_endpoint(RuntimeOrigin::signed(2), bounded(b"https://w2")),
			Error::<Test>::NotRegistered
		);
	});
}

#[test]
fn bond_extra_adds_to_the_hold() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 300));
		assert_ok!(ComputeStaking::bond_extra(RuntimeOrigin::signed(1), 700));
		assert_eq!((participant(1).bond, held(1)), (1_000, 1_000));
		assert_eq!(last_event(), Event::Bonded { who: 1, amount: 700 }.into());
		assert_noop!(
			ComputeStaking::bond_extra(RuntimeOrigin::signed(1), 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			ComputeStaking::bond_extra(RuntimeOrigin::signed(1), 9_000),
			Error::<Test>::InsufficientBalance
		);
		assert_noop!(
			ComputeStaking::bond_extra(RuntimeOrigin::signed(2), 10),
			Error::<Test>::NotRegistered
		);
	});
}

#[test]
fn chill_and_resume() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 300));
		assert_ok!(ComputeStaking::chill(RuntimeOrigin::signed(1)));
		assert_eq!(participant(1).status, ParticipantStatus::Chilled);
		assert_eq!(last_event(), Event::Chilled { who: 1 }.into());
		assert!(!ComputeStaking::is_active(&1, Role::Worker));
		assert_noop!(ComputeStaking::lock_capacity(&1, 1), Error::<Test>::NotActive);
		assert_noop!(
			ComputeStaking::chill(RuntimeOrigin::signed(1)),
			Error::<Test>::AlreadyChilled
		);
		assert_eq!(held(1), 300, "chilling keeps the bond");

		assert_ok!(ComputeStaking::resume(RuntimeOrigin::signed(1)));
		assert_eq!(last_event(), Event::Resumed { who: 1 }.into());
		assert!(ComputeStaking::is_active(&1, Role::Worker));
		assert_noop!(ComputeStaking::resume(RuntimeOrigin::signed(1)), Error::<Test>::NotChilled);
		assert_noop!(ComputeStaking::chill(RuntimeOrigin::signed(2)), Error::<Test>::NotRegistered);
		assert_noop!(
			ComputeStaking::resume(RuntimeOrigin::signed(2)),
			Error::<Test>::NotRegistered
		);
	});
}

#[test]
fn partial_unbond_keeps_the_participant() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 500));
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 300));
		assert_eq!(participant(1).bond, 200);
		assert_eq!(held(1), 500, "unbonding funds stay held");
		let unlocks_at = 1 + UNBONDING_PERIOD;
		assert_eq!(
			Unbonding::<Test>::get(1).to_vec(),
			vec![UnbondingChunk { amount: 300, unlocks_at }]
		);
		assert_eq!(last_event(), Event::Unbonded { who: 1, amount: 300, unlocks_at }.into());
		assert_noop!(
			ComputeStaking::unbond(RuntimeOrigin::signed(1), 1),
			Error::<Test>::BondTooSmall
		);
		assert_noop!(
			ComputeStaking::unbond(RuntimeOrigin::signed(1), 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			ComputeStaking::unbond(RuntimeOrigin::signed(2), 10),
			Error::<Test>::NotRegistered
		);
	});
}

#[test]
fn unbond_everything_leaves_and_withdraw_after_the_period() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 500));
		assert_ok!(register(2, Role::Worker, 50, 500));
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), u64::MAX));
		assert!(Participants::<Test>::get(1).is_none());
		assert_eq!(Pools::<Test>::get(Role::Worker).to_vec(), vec![2]);
		assert_eq!(last_event(), Event::Left { who: 1, role: Role::Worker }.into());
		assert_eq!(held(1), 500);

		assert_noop!(
			ComputeStaking::withdraw_unbonded(RuntimeOrigin::signed(1)),
			Error::<Test>::NothingToWithdraw
		);
		System::set_block_number(UNBONDING_PERIOD);
		assert_noop!(
			ComputeStaking::withdraw_unbonded(RuntimeOrigin::signed(1)),
			Error::<Test>::NothingToWithdraw
		);
		System::set_block_number(1 + UNBONDING_PERIOD);
		assert_ok!(ComputeStaking::withdraw_unbonded(RuntimeOrigin::signed(1)));
		assert_eq!(last_event(), Event::Withdrawn { who: 1, amount: 500 }.into());
		assert_eq!((held(1), free(1)), (0, 10_000));
		assert!(!Unbonding::<Test>::contains_key(1));
		assert_noop!(
			ComputeStaking::withdraw_unbonded(RuntimeOrigin::signed(1)),
			Error::<Test>::NothingToWithdraw
		);
	});
}

#[test]
fn withdraw_releases_only_matured_chunks() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 1_000));
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 100));
		// Same block: merged into the same chunk.
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 50));
		System::set_block_number(5);
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 200));
		assert_eq!(Unbonding::<Test>::get(1).len(), 2);

		System::set_block_number(1 + UNBONDING_PERIOD);
		assert_ok!(ComputeStaking::withdraw_unbonded(RuntimeOrigin::signed(1)));
		assert_eq!(held(1), 1_000 - 150);
		assert_eq!(
			Unbonding::<Test>::get(1).to_vec(),
			vec![UnbondingChunk { amount: 200, unlocks_at: 5 + UNBONDING_PERIOD }]
		);
	});
}

#[test]
fn unbonding_chunks_are_bounded() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 1_000));
		for block in 1..=MAX_CHUNKS as u64 {
			System::set_block_number(block);
			assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 10));
		}
		System::set_block_number(MAX_CHUNKS as u64 + 1);
		assert_noop!(
			ComputeStaking::unbond(RuntimeOrigin::signed(1), 10),
			Error::<Test>::TooManyUnbondingChunks
		);
	});
}

#[test]
fn cannot_leave_with_assignments() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 500));
		assert_ok!(ComputeStaking::lock_capacity(&1, 10));
		assert_noop!(
			ComputeStaking::unbond(RuntimeOrigin::signed(1), 500),
			Error::<Test>::StillAssigned
		);
		// Chilling does not end assignments either.
		assert_ok!(ComputeStaking::chill(RuntimeOrigin::signed(1)));
		assert_noop!(
			ComputeStaking::unbond(RuntimeOrigin::signed(1), 500),
			Error::<Test>::StillAssigned
		);
		assert_ok!(ComputeStaking::release_capacity(&1, 10));
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 500));
	});
}

#[test]
fn re_registering_after_leaving_keeps_reputation() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 500));
		ComputeStaking::record_success(&1);
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 500));
		// While the old bond unbonds, the account may join again, in either role.
		assert_ok!(register(1, Role::Validator, 10, 200));
		assert_eq!(held(1), 700);
		assert_eq!(Reputations::<Test>::get(1).completed_jobs, 1);
		System::set_block_number(1 + UNBONDING_PERIOD);
		assert_ok!(ComputeStaking::withdraw_unbonded(RuntimeOrigin::signed(1)));
		assert_eq!(held(1), 200);
		assert_eq!(participant(1).bond, 200);
		assert_holds_match_bookkeeping();
	});
}

#[test]
fn set_unbonding_period_is_root_only() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			ComputeStaking::set_unbonding_period(RuntimeOrigin::signed(1), 5),
			DispatchError::BadOrigin
		);
		assert_noop!(
			ComputeStaking::set_unbonding_period(RuntimeOrigin::root(), 0),
			Error::<Test>::UnbondingPeriodZero
		);
		assert_ok!(ComputeStaking::set_unbonding_period(RuntimeOrigin::root(), 3));
		assert_eq!(last_event(), Event::UnbondingPeriodSet { blocks: 3 }.into());
		assert_ok!(register(1, Role::Worker, 50, 500));
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 500));
		System::set_block_number(4);
		assert_ok!(ComputeStaking::withdraw_unbonded(RuntimeOrigin::signed(1)));
	});
}

#[test]
fn genesis_sets_the_unbonding_period() {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	crate::GenesisConfig::<Test> { unbonding_period: Some(7) }
		.assimilate_storage(&mut storage)
		.unwrap();
	sp_io::TestExternalities::new(storage).execute_with(|| {
		assert_eq!(UnbondingPeriod::<Test>::get(), 7);
	});
	new_test_ext().execute_with(|| assert_eq!(UnbondingPeriod::<Test>::get(), UNBONDING_PERIOD));
}

#[test]
fn slash_goes_to_the_slash_destination() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 1_000));
		let issuance = Balances::total_issuance();
		let slashed = ComputeStaking::slash(&1, 300, SlashReason::InvalidProof, None);
		assert_eq!(slashed, 300);
		assert_eq!((participant(1).bond, held(1)), (700, 700));
		assert_eq!(free(TREASURY), EXISTENTIAL_DEPOSIT + 300);
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(
			last_event(),
			Event::Slashed {
				who: 1,
				amount: 300,
				reason: SlashReason::InvalidProof,
				beneficiary: None
			}
			.into()
		);
		let reputation = Reputations::<Test>::get(1);
		assert_eq!((reputation.slashes, reputation.total_slashed), (1, 300));
	});
}

#[test]
fn slash_to_a_beneficiary() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Validator, 50, 1_000));
		let before = free(2);
		let slashed = ComputeStaking::slash_fraction(
			&1,
			Perbill::from_percent(25),
			SlashReason::FalseAccusation,
			Some(&2),
		);
		assert_eq!(slashed, 250);
		assert_eq!(free(2), before + 250);
		assert_eq!(held(1), 750);
	});
}

#[test]
fn slash_to_a_beneficiary_that_cannot_receive_goes_to_the_destination() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 1_000));
		// Account 50 does not exist and 3 is below the existential deposit, so it cannot be
		// created with it: the funds go to the slash destination instead of being lost.
		assert_eq!(ComputeStaking::slash(&1, 3, SlashReason::WithheldData, Some(&50)), 3);
		assert_eq!(free(50), 0);
		assert_eq!(free(TREASURY), EXISTENTIAL_DEPOSIT + 3);
	});
}

#[test]
fn slash_below_requirement_chills() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 250));
		ComputeStaking::slash(&1, 100, SlashReason::MissedDeadline, None);
		assert_eq!(participant(1).status, ParticipantStatus::Chilled);
		assert!(System::events()
			.iter()
			.any(|record| record.event == Event::<Test>::Chilled { who: 1 }.into()));
		assert_noop!(ComputeStaking::resume(RuntimeOrigin::signed(1)), Error::<Test>::BondTooSmall);
		assert_ok!(ComputeStaking::bond_extra(RuntimeOrigin::signed(1), 50));
		assert_ok!(ComputeStaking::resume(RuntimeOrigin::signed(1)));
	});
}

#[test]
fn slash_during_unbonding_takes_the_chunks() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 1_000));
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 1_000));
		let slashed = ComputeStaking::slash(&1, 400, SlashReason::InvalidProof, None);
		assert_eq!(slashed, 400);
		assert_eq!(held(1), 600);
		assert_eq!(Unbonding::<Test>::get(1)[0].amount, 600);
		System::set_block_number(1 + UNBONDING_PERIOD);
		assert_ok!(ComputeStaking::withdraw_unbonded(RuntimeOrigin::signed(1)));
		assert_eq!(free(1), 10_000 - 400);
	});
}

#[test]
fn slash_takes_active_bond_before_the_latest_chunks() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 1_000));
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 300));
		System::set_block_number(3);
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 200));
		// Active 500, chunks 300 (early) and 200 (late): 600 takes the bond and 100 of the late chunk.
		assert_eq!(ComputeStaking::slash(&1, 600, SlashReason::InvalidProof, None), 600);
		assert_eq!(participant(1).bond, 0);
		let chunks = Unbonding::<Test>::get(1);
		assert_eq!(chunks.iter().map(|c| c.amount).collect::<Vec<_>>(), vec![300, 100]);
		assert_holds_match_bookkeeping();
	});
}

#[test]
fn slash_larger_than_the_bond_takes_everything() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 1_000));
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 200));
		let issuance = Balances::total_issuance();
		assert_eq!(ComputeStaking::slash(&1, 5_000, SlashReason::InvalidProof, None), 1_000);
		assert_eq!(held(1), 0);
		assert!(!Unbonding::<Test>::contains_key(1));
		assert_eq!(participant(1).bond, 0);
		assert_eq!(participant(1).status, ParticipantStatus::Chilled);
		assert_eq!(Balances::total_issuance(), issuance);
		// Nothing left to slash: no event, nothing taken.
		let events = System::events().len();
		assert_eq!(ComputeStaking::slash(&1, 5, SlashReason::InvalidProof, None), 0);
		assert_eq!(System::events().len(), events);
		// An account with a zero bond can still leave.
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(1), 1));
		assert!(Participants::<Test>::get(1).is_none());
	});
}

#[test]
fn slashing_unknown_accounts_takes_nothing() {
	new_test_ext().execute_with(|| {
		assert_eq!(ComputeStaking::slash(&7, 100, SlashReason::MissedDeadline, None), 0);
		assert_eq!(
			ComputeStaking::slash_fraction(&7, Perbill::one(), SlashReason::MissedDeadline, None),
			0
		);
		assert_eq!(Reputations::<Test>::get(7), Default::default());
	});
}

#[test]
fn capacity_locks() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 500));
		assert_eq!(ComputeStaking::free_capacity(&1), Some(50));
		assert_ok!(ComputeStaking::lock_capacity(&1, 30));
		assert_eq!(last_event(), Event::CapacityLocked { who: 1, units: 30 }.into());
		assert_ok!(ComputeStaking::lock_capacity(&1, 0));
		assert_eq!(ComputeStaking::free_capacity(&1), Some(20));
		assert_eq!(participant(1).assignments, 2);
		assert_noop!(ComputeStaking::lock_capacity(&1, 21), Error::<Test>::NotEnoughFreeCapacity);
		assert_noop!(ComputeStaking::lock_capacity(&2, 1), Error::<Test>::NotRegistered);

		assert_ok!(ComputeStaking::release_capacity(&1, 30));
		assert_eq!(last_event(), Event::CapacityReleased { who: 1, units: 30 }.into());
		assert_noop!(ComputeStaking::release_capacity(&1, 1), Error::<Test>::NoSuchAssignment);
		assert_ok!(ComputeStaking::release_capacity(&1, 0));
		assert_noop!(ComputeStaking::release_capacity(&1, 0), Error::<Test>::NoSuchAssignment);
		assert_noop!(ComputeStaking::release_capacity(&2, 0), Error::<Test>::NotRegistered);
		assert_eq!(ComputeStaking::free_capacity(&1), Some(50));
		assert_eq!(ComputeStaking::free_capacity(&2), None);
	});
}

#[test]
fn reputation_records() {
	new_test_ext().execute_with(|| {
		System::set_block_number(9);
		ComputeStaking::record_success(&1);
		assert_eq!(last_event(), Event::JobCompleted { who: 1 }.into());
		System::set_block_number(12);
		ComputeStaking::record_fault(&1);
		assert_eq!(last_event(), Event::FaultRecorded { who: 1 }.into());
		let reputation = Reputations::<Test>::get(1);
		assert_eq!(
			(reputation.completed_jobs, reputation.faults, reputation.last_active),
			(1, 1, 12)
		);
	});
}

#[test]
fn interface_reads() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, Role::Worker, 50, 500));
		assert!(ComputeStaking::is_active(&1, Role::Worker));
		assert!(!ComputeStaking::is_active(&1, Role::Validator));
		assert!(!ComputeStaking::is_active(&2, Role::Worker));
		assert_eq!(ComputeStaking::stake(&1), 500);
		assert_eq!(ComputeStaking::stake(&2), 0);
		assert_eq!(ComputeStaking::required_bond(50), MIN_BOND + 50 * BOND_PER_UNIT);
	});
}

fn register_pool(bonds: &[(AccountId, Balance)]) {
	for &(who, bond) in bonds {
		assert_ok!(register(who, Role::Validator, 10, bond));
	}
}

#[test]
fn select_is_deterministic_distinct_and_respects_exclusions() {
	new_test_ext().execute_with(|| {
		register_pool(&[(1, 200), (2, 300), (3, 400), (4, 500), (5, 600)]);
		assert_ok!(register(6, Role::Worker, 10, 5_000));
		let seed = [7u8; 32];
		let picked = ComputeStaking::select(Role::Validator, 3, seed, &[2], 0);
		assert_eq!(picked, ComputeStaking::select(Role::Validator, 3, seed, &[2], 0));
		assert_eq!(picked.len(), 3);
		let mut unique = picked.clone();
		unique.sort();
		unique.dedup();
		assert_eq!(unique.len(), 3);
		assert!(!picked.contains(&2) && !picked.contains(&6));
		// Asking for more than are eligible returns all of them.
		let mut all = ComputeStaking::select(Role::Validator, 10, seed, &[2], 0);
		all.sort();
		assert_eq!(all, vec![1, 3, 4, 5]);
		// Different seeds give different orders somewhere.
		let differs = (0..20u8).any(|s| {
			ComputeStaking::select(Role::Validator, 4, [s; 32], &[], 0)
				!= ComputeStaking::select(Role::Validator, 4, [s + 100; 32], &[], 0)
		});
		assert!(differs);
	});
}

#[test]
fn select_skips_chilled_busy_and_unbonded_participants() {
	new_test_ext().execute_with(|| {
		register_pool(&[(1, 200), (2, 300), (3, 400), (4, 500)]);
		assert_ok!(ComputeStaking::chill(RuntimeOrigin::signed(1)));
		assert_ok!(ComputeStaking::lock_capacity(&2, 8));
		assert_ok!(ComputeStaking::unbond(RuntimeOrigin::signed(3), 400));
		let mut picked = ComputeStaking::select(Role::Validator, 4, [1; 32], &[], 5);
		picked.sort();
		assert_eq!(picked, vec![4]);
		assert!(ComputeStaking::select(Role::Validator, 0, [1; 32], &[], 0).is_empty());
		assert!(ComputeStaking::select(Role::Worker, 3, [1; 32], &[], 0).is_empty());
	});
}

#[test]
fn select_is_weighted_by_stake() {
	new_test_ext().execute_with(|| {
		// Bonds 1 : 3 → first picks 1 : 3.
		register_pool(&[(1, 1_000), (2, 3_000)]);
		let trials = 4_000u32;
		let firsts = (0..trials)
			.filter(|t| {
				let seed = sp_io::hashing::blake2_256(&t.to_le_bytes());
				ComputeStaking::select(Role::Validator, 1, seed, &[], 0) == vec![2]
			})
			.count() as f64;
		let share = firsts / trials as f64;
		// Binomial standard deviation is 0.007; five of them either side.
		assert!((share - 0.75).abs() < 0.035, "account 2 picked first in {share} of trials");
	});
}

mod balances_property {
	use super::*;
	use proptest::prelude::*;

	#[derive(Clone, Debug)]
	enum Action {
		Register { who: AccountId, validator: bool, capacity: u32, bond: Balance },
		UpdateCapacity { who: AccountId, capacity: u32 },
		BondExtra { who: AccountId, amount: Balance },
		Chill { who: AccountId },
		Resume { who: AccountId },
		Unbond { who: AccountId, amount: Balance },
		Withdraw { who: AccountId },
		Lock { who: AccountId, units: u32 },
		Release { who: AccountId, units: u32 },
		Slash { who: AccountId, amount: Balance, beneficiary: Option<AccountId> },
		SlashFraction { who: AccountId, percent: u32 },
		Advance { blocks: u64 },
	}

	fn action() -> impl Strategy<Value = Action> {
		let who = 1..6u64;
		prop_oneof![
			(who.clone(), any::<bool>(), 0..120u32, 0..2_000u64).prop_map(
				|(who, validator, capacity, bond)| Action::Register {
					who,
					validator,
					capacity,
					bond
				}
			),
			(who.clone(), 0..120u32)
				.prop_map(|(who, capacity)| Action::UpdateCapacity { who, capacity }),
			(who.clone(), 0..3_000u64).prop_map(|(who, amount)| Action::BondExtra { who, amount }),
			who.clone().prop_map(|who| Action::Chill { who }),
			who.clone().prop_map(|who| Action::Resume { who }),
			(who.clone(), 0..2_500u64).prop_map(|(who, amount)| Action::Unbond { who, amount }),
			who.clone().prop_map(|who| Action::Withdraw { who }),
			(who.clone(), 0..60u32).prop_map(|(who, units)| Action::Lock { who, units }),
			(who.clone(), 0..60u32).prop_map(|(who, units)| Action::Release { who, units }),
			(who.clone(), 0..1_500u64, proptest::option::of(1..8u64))
				.prop_map(|(who, amount, beneficiary)| Action::Slash { who, amount, beneficiary }),
			(who, 0..=100u32).prop_map(|(who, percent)| Action::SlashFraction { who, percent }),
			(1..8u64).prop_map(|blocks| Action::Advance { blocks }),
		]
	}

	fn apply(action: &Action) {
		let signed = |who: AccountId| RuntimeOrigin::signed(who);
		// Calls may fail; a failed call must change nothing, which the invariants check.
		let _ = match action.clone() {
			Action::Register { who, validator, capacity, bond } => register(
				who,
				if validator { Role::Validator } else { Role::Worker },
				capacity,
				bond,
			),
			Action::UpdateCapacity { who, capacity } => {
				ComputeStaking::update_capacity(signed(who), capacity)
			},
			Action::BondExtra { who, amount } => ComputeStaking::bond_extra(signed(who), amount),
			Action::Chill { who } => ComputeStaking::chill(signed(who)),
			Action::Resume { who } => ComputeStaking::resume(signed(who)),
			Action::Unbond { who, amount } => ComputeStaking::unbond(signed(who), amount),
			Action::Withdraw { who } => ComputeStaking::withdraw_unbonded(signed(who)),
			Action::Lock { who, units } => ComputeStaking::lock_capacity(&who, units),
			Action::Release { who, units } => ComputeStaking::release_capacity(&who, units),
			Action::Slash { who, amount, beneficiary } => {
				ComputeStaking::slash(
					&who,
					amount,
					SlashReason::InvalidProof,
					beneficiary.as_ref(),
				);
				Ok(())
			},
			Action::SlashFraction { who, percent } => {
				ComputeStaking::slash_fraction(
					&who,
					Perbill::from_percent(percent),
					SlashReason::WrongReport,
					None,
				);
				Ok(())
			},
			Action::Advance { blocks } => {
				System::set_block_number(System::block_number() + blocks);
				Ok(())
			},
		};
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(256))]

		#[test]
		fn issuance_and_holds_stay_consistent(actions in proptest::collection::vec(action(), 1..60)) {
			new_test_ext().execute_with(|| {
				let issuance = Balances::total_issuance();
				for action in &actions {
					apply(action);
					// Slashes move funds; nothing is minted or burned.
					prop_assert_eq!(Balances::total_issuance(), issuance);
					let accounts: Vec<AccountId> = (1..=20).chain([TREASURY]).collect();
					let total: Balance = accounts.iter().map(|who| Balances::total_balance(who)).sum();
					prop_assert_eq!(total, issuance);
					for who in &accounts {
						prop_assert_eq!(held(*who), ComputeStaking::total_bonded(who));
					}
					for role in [Role::Worker, Role::Validator] {
						for member in Pools::<Test>::get(role) {
							let p = Participants::<Test>::get(member);
							prop_assert!(p.is_some_and(|p| p.role == role));
						}
					}
					for (who, p) in Participants::<Test>::iter() {
						prop_assert!(Pools::<Test>::get(p.role).contains(&who));
						prop_assert!(p.locked_capacity <= p.capacity);
						if p.status == ParticipantStatus::Active {
							prop_assert!(p.bond >= ComputeStaking::required_bond(p.capacity));
						}
					}
				}
				Ok(())
			})?;
		}
	}
}

//! A runtime with System, Balances and ComputeStaking for the tests.

use crate as pallet_compute_staking;
use frame_support::{derive_impl, parameter_types, traits::tokens::imbalance::ResolveTo};
use sp_runtime::{BuildStorage, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = u64;
pub type Balance = u64;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		ComputeStaking: pallet_compute_staking,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	type ExistentialDeposit = ExistentialDeposit;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pub const EXISTENTIAL_DEPOSIT: Balance = 5;
pub const MIN_BOND: Balance = 100;
pub const BOND_PER_UNIT: Balance = 2;
pub const MAX_CAPACITY: u32 = 1_000;
pub const MAX_POOL: u32 = 8;
pub const MAX_CHUNKS: u32 = 3;
pub const UNBONDING_PERIOD: u64 = 10;
/// Receives slashes that name no beneficiary.
pub const TREASURY: AccountId = 999;

parameter_types! {
	pub const ExistentialDeposit: Balance = EXISTENTIAL_DEPOSIT;
	pub const Treasury: AccountId = TREASURY;
	pub const PoolEvictionMargin: Perbill = Perbill::from_percent(10);
}

impl pallet_compute_staking::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type SlashDestination = ResolveTo<Treasury, Balances>;
	type MinBond = frame_support::traits::ConstU64<MIN_BOND>;
	type BondPerComputeUnit = frame_support::traits::ConstU64<BOND_PER_UNIT>;
	type MaxCapacity = frame_support::traits::ConstU32<MAX_CAPACITY>;
	type MaxDeviceLength = frame_support::traits::ConstU32<32>;
	type MaxEndpointLength = frame_support::traits::ConstU32<32>;
	type MaxPoolSize = frame_support::traits::ConstU32<MAX_POOL>;
	type EvictionMargin = PoolEvictionMargin;
	type MaxUnbondingChunks = frame_support::traits::ConstU32<MAX_CHUNKS>;
	type DefaultUnbondingPeriod = frame_support::traits::ConstU64<UNBONDING_PERIOD>;
	type WeightInfo = ();
}

/// Accounts 1..=20 start with 10_000 each; the treasury with the existential deposit.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut balances: Vec<(AccountId, Balance)> = (1..=20).map(|who| (who, 10_000)).collect();
	balances.push((TREASURY, EXISTENTIAL_DEPOSIT));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

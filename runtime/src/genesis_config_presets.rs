//! Genesis presets: the starting states the node's chain specs are built from.

use crate::{
	configs::TreasuryAccount, AccountId, Balance, BalancesConfig, BlockNumber,
	ComputeStakingConfig, ProofOfTrainConfig, RuntimeGenesisConfig, SudoConfig,
	TrainingOrdersConfig, DCEN, EXISTENTIAL_DEPOSIT,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// Unbonding period of the development and local presets: 10 blocks (30 s), so that leaving
/// a pool can be tried quickly. A testnet keeps the runtime's default of one day.
pub const DEV_UNBONDING_PERIOD: BlockNumber = 10;

/// Confirmation window of the development and local presets: 10 blocks (30 s) plus fetch time,
/// so that an order nobody serves expires within a minute or two. A testnet keeps the
/// runtime's default of 10 minutes.
pub const DEV_CONFIRM_WINDOW: BlockNumber = 10;

/// GFLOP/s a validator or referee reserves per round on the development and local presets: 1,
/// so that the debug builds the tests run, and a laptop's validators, are drawn. A testnet
/// keeps the runtime's default of 10.
pub const DEV_CHECK_CAPACITY: u32 = 1;

/// Every endowed account starts with this balance.
pub const ENDOWMENT: u128 = 1_000_000 * DCEN;

fn genesis(
	authorities: Vec<(AuraId, GrandpaId)>,
	endowed_accounts: Vec<(AccountId, Balance)>,
	root: Option<AccountId>,
	development: bool,
) -> Value {
	let unbonding_period = development.then_some(DEV_UNBONDING_PERIOD);
	let confirm_window = development.then_some(DEV_CONFIRM_WINDOW);
	let check_capacity = development.then_some(DEV_CHECK_CAPACITY);
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed_accounts
				.into_iter()
				// The treasury exists from genesis, so that no slash is too small to reach it.
				.chain([(TreasuryAccount::get(), EXISTENTIAL_DEPOSIT)])
				.collect::<Vec<_>>(),
		},
		compute_staking: ComputeStakingConfig { unbonding_period },
		training_orders: TrainingOrdersConfig { confirm_window },
		proof_of_train: ProofOfTrainConfig { check_capacity },
		aura: pallet_aura::GenesisConfig {
			authorities: authorities.iter().map(|(aura, _)| aura.clone()).collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: authorities
				.iter()
				.map(|(_, grandpa)| (grandpa.clone(), 1))
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: root },
	})
}

fn authority(sr: Sr25519Keyring, ed: Ed25519Keyring) -> (AuraId, GrandpaId) {
	(sr.public().into(), ed.public().into())
}

/// The well-known development accounts, each with [`ENDOWMENT`].
fn development_accounts() -> Vec<(AccountId, Balance)> {
	Sr25519Keyring::well_known().map(|k| (k.to_account_id(), ENDOWMENT)).collect()
}

/// One authority (Alice), the well-known dev accounts endowed, Alice is sudo.
pub fn development_config_genesis() -> Value {
	genesis(
		vec![authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		development_accounts(),
		Some(Sr25519Keyring::Alice.to_account_id()),
		true,
	)
}

/// Two authorities (Alice and Bob) for a two-node local network.
pub fn local_config_genesis() -> Value {
	genesis(
		vec![
			authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			authority(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
		],
		development_accounts(),
		Some(Sr25519Keyring::Alice.to_account_id()),
		true,
	)
}

/// A testnet run by several operators, from their own keys (`decenter-node testnet-spec`,
/// docs/operators.md): `authorities` author and finalize, `endowed` start with those balances,
/// `root` (if any) holds sudo. The runtime's defaults hold for every parameter the
/// development presets shorten. There is no named preset for it: a preset's keys would be
/// public, and anyone could author its blocks or act as its root.
pub fn testnet_genesis(
	authorities: Vec<(AuraId, GrandpaId)>,
	endowed: Vec<(AccountId, Balance)>,
	root: Option<AccountId>,
) -> Value {
	genesis(authorities, endowed, root, false)
}

/// The preset named `id`, as JSON.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		_ => return None,
	};
	serde_json::to_string(&patch).ok().map(alloc::string::String::into_bytes)
}

/// Names of the presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}

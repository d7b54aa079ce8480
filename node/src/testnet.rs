//! `testnet-spec`: the chain spec of a testnet run by several operators, from a file of their
//! public keys. No DeCenter network ships with fixed keys: a key in a built-in spec is known to
//! everyone who has the binary, so anyone could author its blocks or act as its root.
//!
//! The operators file (JSON):
//!
//! ```json
//! {
//!   "name": "DeCenter Testnet",
//!   "id": "decenter_testnet",
//!   "bootNodes": ["/dns/boot.example.org/tcp/30333/p2p/12D3KooW..."],
//!   "authorities": [{ "aura": "5F...", "grandpa": "5G..." }],
//!   "sudo": "5H...",
//!   "endowed": [{ "account": "5H...", "dcen": 1000000 }]
//! }
//! ```
//!
//! `aura` is an sr25519 key and `grandpa` an ed25519 key of each authority, `sudo` (optional:
//! leave it out for a chain without a root) and `endowed` are accounts, all in SS58. Keys of the
//! well-known development keyring (Alice, Bob, …, their stashes) are refused anywhere.

use std::path::PathBuf;

use decenter_runtime::{
	configs::TreasuryAccount, genesis_config_presets::testnet_genesis, AccountId, DCEN,
};
use sc_network::config::MultiaddrWithPeerId;
use sc_service::ChainType;
use serde::Deserialize;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_core::{crypto::Ss58Codec, ed25519, sr25519};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

use crate::chain_spec::{properties, wasm_binary, ChainSpec};

/// `decenter-node testnet-spec --operators FILE [--raw] [--output FILE]`.
#[derive(Debug, clap::Parser)]
pub struct TestnetSpecCmd {
	/// The operators file: name, id, boot nodes, authorities' keys, sudo, endowments.
	#[arg(long, value_name = "FILE")]
	pub operators: PathBuf,

	/// Write the raw form, which nodes start from (`--chain FILE`).
	#[arg(long)]
	pub raw: bool,

	/// Where to write the spec; standard output without it.
	#[arg(long, value_name = "FILE")]
	pub output: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Operators {
	name: String,
	id: String,
	#[serde(default)]
	boot_nodes: Vec<String>,
	authorities: Vec<Authority>,
	sudo: Option<String>,
	#[serde(default)]
	endowed: Vec<Endowment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Authority {
	aura: String,
	grandpa: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Endowment {
	account: String,
	dcen: u64,
}

impl TestnetSpecCmd {
	pub fn run(&self) -> sc_cli::Result<()> {
		let text = std::fs::read_to_string(&self.operators).map_err(|e| {
			format!("cannot read the operators file {}: {e}", self.operators.display())
		})?;
		let operators: Operators = serde_json::from_str(&text).map_err(|e| {
			format!(
				"{} is not an operators file: {e} (see `decenter-node testnet-spec --help` and \
				 docs/operators.md)",
				self.operators.display()
			)
		})?;
		let json = testnet_spec(&operators)?.as_json(self.raw)?;
		match &self.output {
			Some(path) => std::fs::write(path, json)
				.map_err(|e| format!("cannot write {}: {e}", path.display()))?,
			None => println!("{json}"),
		}
		Ok(())
	}
}

fn testnet_spec(operators: &Operators) -> Result<ChainSpec, String> {
	if operators.authorities.is_empty() {
		return Err("the operators file names no authority: a chain needs at least one to \
		            author and finalize blocks"
			.into());
	}
	let most = <<decenter_runtime::Runtime as pallet_aura::Config>::MaxAuthorities as sp_core::Get<
		u32,
	>>::get();
	if operators.authorities.len() > most as usize {
		return Err(format!(
			"the operators file names {} authorities; the runtime takes at most {most}",
			operators.authorities.len()
		));
	}
	let authorities = operators
		.authorities
		.iter()
		.enumerate()
		.map(|(i, authority)| {
			let aura = sr25519_key(&authority.aura, &format!("authority {i}'s aura key"))?;
			let grandpa = ed25519_key(&authority.grandpa, &format!("authority {i}'s grandpa key"))?;
			Ok((AuraId::from(aura), GrandpaId::from(grandpa)))
		})
		.collect::<Result<Vec<_>, String>>()?;
	for (i, (aura, grandpa)) in authorities.iter().enumerate() {
		if authorities[..i].iter().any(|(a, g)| a == aura || g == grandpa) {
			return Err(format!("authority {i} repeats a key of an earlier authority"));
		}
	}
	let root = operators.sudo.as_deref().map(|sudo| account(sudo, "the sudo key")).transpose()?;
	let endowed = operators
		.endowed
		.iter()
		.enumerate()
		.map(|(i, endowment)| {
			let who = account(&endowment.account, &format!("endowed account {i}"))?;
			if endowment.dcen == 0 {
				return Err(format!("endowed account {i} gets 0 DCEN: leave it out instead"));
			}
			if who == TreasuryAccount::get() {
				return Err(format!(
					"endowed account {i} is the treasury, which every genesis creates itself"
				));
			}
			let balance = u128::from(endowment.dcen)
				.checked_mul(DCEN)
				.ok_or_else(|| format!("endowed account {i}'s balance overflows"))?;
			Ok((who, balance))
		})
		.collect::<Result<Vec<_>, String>>()?;
	for (i, (who, _)) in endowed.iter().enumerate() {
		if endowed[..i].iter().any(|(earlier, _)| earlier == who) {
			return Err(format!("endowed account {i} is listed twice"));
		}
	}
	let boot_nodes = operators
		.boot_nodes
		.iter()
		.map(|node| {
			node.parse::<MultiaddrWithPeerId>().map_err(|e| {
				format!("boot node `{node}` is not a multiaddress ending in /p2p/PEER_ID: {e}")
			})
		})
		.collect::<Result<Vec<_>, String>>()?;
	let spec = ChainSpec::builder(wasm_binary()?, None)
		.with_name(&operators.name)
		.with_id(&operators.id)
		.with_chain_type(ChainType::Live)
		.with_protocol_id(&operators.id)
		.with_boot_nodes(boot_nodes)
		.with_genesis_config_patch(testnet_genesis(authorities, endowed, root))
		.with_properties(properties())
		.build();
	// Anything else the runtime refuses shows now, not when the first node starts.
	sp_runtime::BuildStorage::build_storage(&spec)
		.map_err(|e| format!("the runtime refuses this genesis: {e}"))?;
	Ok(spec)
}

/// The refusal for a key of the development keyring, which anyone can sign with.
fn development_key(what: &str, name: impl std::fmt::Display) -> String {
	format!(
		"{what} is the well-known development key of {name}: anyone can sign with it. Generate \
		 a key of your own (`decenter-node key generate --scheme sr25519`, or `ed25519` for \
		 grandpa) and put its public key (SS58) here."
	)
}

fn sr25519_key(text: &str, what: &str) -> Result<sr25519::Public, String> {
	let key = sr25519::Public::from_ss58check(text)
		.map_err(|e| format!("{what} `{text}` is not an SS58 sr25519 public key: {e:?}"))?;
	match Sr25519Keyring::from_public(&key) {
		Some(name) => Err(development_key(what, name)),
		None => Ok(key),
	}
}

fn ed25519_key(text: &str, what: &str) -> Result<ed25519::Public, String> {
	let key = ed25519::Public::from_ss58check(text)
		.map_err(|e| format!("{what} `{text}` is not an SS58 ed25519 public key: {e:?}"))?;
	match Ed25519Keyring::from_public(&key) {
		Some(name) => Err(development_key(what, name)),
		None => Ok(key),
	}
}

fn account(text: &str, what: &str) -> Result<AccountId, String> {
	let who = AccountId::from_ss58check(text)
		.map_err(|e| format!("{what} `{text}` is not an SS58 account: {e:?}"))?;
	if let Some(name) = Sr25519Keyring::from_account_id(&who) {
		return Err(development_key(what, name));
	}
	if let Some(name) = Ed25519Keyring::from_account_id(&who) {
		return Err(development_key(what, name));
	}
	Ok(who)
}

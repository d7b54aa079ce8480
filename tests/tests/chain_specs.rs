//! The chain specs checked in under `chain-spec/` are what the runtime produces now, and
//! `export-genesis-state` agrees with a running node's genesis block.

use std::path::PathBuf;

use decenter_e2e::{crate_dir, node_output};
use serde_json::Value;

fn chain_spec_dir() -> PathBuf {
	crate_dir().join("../chain-spec")
}

/// The spec with the runtime's wasm blob taken out. The wasm is rebuilt bit for bit only by
/// the same toolchain in the same paths (docs/chain-specs.md); the genesis state is not.
fn without_code(mut spec: Value) -> Value {
	fn strip(value: &mut Value) {
		if let Value::Object(map) = value {
			map.remove("code");
			// `:code` in a raw spec's top storage.
			map.remove("0x3a636f6465");
			map.values_mut().for_each(strip);
		}
	}
	strip(&mut spec);
	spec
}

fn check(chain: &str, file: &str, raw: bool) {
	let mut args = vec!["export-chain-spec", "--chain", chain];
	if raw {
		args.push("--raw");
	}
	let fresh: Value = serde_json::from_str(&node_output(&args)).expect("node prints JSON");
	let path = chain_spec_dir().join(file);
	let text = std::fs::read_to_string(&path)
		.unwrap_or_else(|e| panic!("{} is missing ({e})", path.display()));
	let checked_in: Value = serde_json::from_str(&text).expect("checked-in spec is JSON");
	assert!(
		without_code(fresh) == without_code(checked_in),
		"{} drifted from what the runtime produces: run scripts/regenerate-chain-specs.sh",
		path.display()
	);
}

#[test]
fn dev_spec_matches_runtime() {
	check("dev", "dev.json", false);
	check("dev", "dev-raw.json", true);
}

#[test]
fn local_spec_matches_runtime() {
	check("local", "local.json", false);
	check("local", "local-raw.json", true);
}

#[test]
fn testnet_spec_matches_runtime() {
	check("staging", "testnet.json", false);
	check("staging", "testnet-raw.json", true);
}

#[test]
fn genesis_state_export_is_consistent() {
	let out: Value =
		serde_json::from_str(&node_output(&["export-genesis-state", "--chain", "dev"]))
			.expect("export-genesis-state prints JSON");
	let hash = out["genesisHash"].as_str().expect("genesisHash");
	let header = out["header"].as_str().expect("header");
	assert!(hash.starts_with("0x") && hash.len() == 66, "genesis hash {hash}");
	assert!(header.starts_with("0x"), "header {header}");
	// Same chain, same genesis: a second export is identical.
	let again: Value =
		serde_json::from_str(&node_output(&["export-genesis-state", "--chain", "dev"])).unwrap();
	assert_eq!(out, again);
}

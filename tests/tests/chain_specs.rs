//! The chain specs checked in under `chain-spec/` are what the runtime produces now, a
//! testnet's spec is built from its operators' keys (never the development keys), and
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

/// A testnet's spec comes from its operators' keys: the example operators file gives exactly
/// its authorities, sudo, endowment and boot node, the runtime's defaults where the development
/// presets shorten them, and a raw form whose genesis a node computes.
#[test]
fn testnet_spec_is_built_from_its_operators_keys() {
	let example = chain_spec_dir().join("testnet-operators.example.json");
	let example = example.to_str().expect("UTF-8 path");
	let operators: Value =
		serde_json::from_str(&std::fs::read_to_string(example).expect("example file")).unwrap();
	let spec: Value =
		serde_json::from_str(&node_output(&["testnet-spec", "--operators", example])).unwrap();
	assert_eq!(spec["id"], operators["id"]);
	assert_eq!(spec["chainType"], "Live");
	assert_eq!(spec["bootNodes"], operators["bootNodes"]);
	let genesis = &spec["genesis"]["runtimeGenesis"]["patch"];
	let authorities = operators["authorities"].as_array().expect("authorities");
	let aura: Vec<Value> = authorities.iter().map(|a| a["aura"].clone()).collect();
	let grandpa: Vec<Value> =
		authorities.iter().map(|a| serde_json::json!([a["grandpa"], 1])).collect();
	assert_eq!(genesis["aura"]["authorities"], Value::Array(aura));
	assert_eq!(genesis["grandpa"]["authorities"], Value::Array(grandpa));
	assert_eq!(genesis["sudo"]["key"], operators["sudo"]);
	let endowed = &operators["endowed"][0];
	let dcen = endowed["dcen"].as_u64().unwrap() as u128 * 1_000_000_000_000;
	assert_eq!(genesis["balances"]["balances"][0], serde_json::json!([endowed["account"], dcen]));
	for parameter in [
		&genesis["computeStaking"]["unbondingPeriod"],
		&genesis["trainingOrders"]["confirmWindow"],
		&genesis["proofOfTrain"]["checkCapacity"],
	] {
		assert_eq!(*parameter, Value::Null, "a testnet keeps the runtime's defaults");
	}

	let raw =
		std::env::temp_dir().join(format!("decenter-testnet-raw-{}.json", std::process::id()));
	let raw_path = raw.to_str().expect("UTF-8 path");
	node_output(&["testnet-spec", "--operators", example, "--raw", "--output", raw_path]);
	let state: Value =
		serde_json::from_str(&node_output(&["export-genesis-state", "--chain", raw_path]))
			.expect("export-genesis-state prints JSON");
	let _ = std::fs::remove_file(&raw);
	assert_eq!(state["chain"], operators["id"]);
}

/// The example operators file, as JSON.
fn example_operators() -> Value {
	let example = chain_spec_dir().join("testnet-operators.example.json");
	serde_json::from_str(&std::fs::read_to_string(example).expect("example file")).unwrap()
}

/// What `testnet-spec` says on standard error when it refuses `operators` (case `what`);
/// fails the test if it accepts them.
fn refusal(what: &str, operators: &Value) -> String {
	let path = std::env::temp_dir().join(format!(
		"decenter-operators-{}-{}.json",
		std::process::id(),
		what.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
	));
	std::fs::write(&path, operators.to_string()).unwrap();
	let output = std::process::Command::new(decenter_e2e::node_binary())
		.args(["testnet-spec", "--operators", path.to_str().unwrap()])
		.output()
		.expect("decenter-node runs");
	let _ = std::fs::remove_file(&path);
	assert!(!output.status.success(), "{what}: accepted");
	String::from_utf8_lossy(&output.stderr).to_string()
}

/// A key of the development keyring, which anyone can sign with, is refused anywhere in a
/// testnet's operators file, with the reason and how to make a key of one's own.
#[test]
fn testnet_spec_refuses_development_keys() {
	let operators = example_operators();
	let alice_sr = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
	let alice_ed = "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu";
	let mut cases = Vec::new();
	let mut aura = operators.clone();
	aura["authorities"][1]["aura"] = alice_sr.into();
	cases.push((aura, "authority 1's aura key"));
	let mut grandpa = operators.clone();
	grandpa["authorities"][0]["grandpa"] = alice_ed.into();
	cases.push((grandpa, "authority 0's grandpa key"));
	let mut sudo = operators.clone();
	sudo["sudo"] = alice_sr.into();
	cases.push((sudo, "the sudo key"));
	let mut endowed = operators.clone();
	endowed["endowed"][0]["account"] = alice_sr.into();
	cases.push((endowed, "endowed account 0"));
	for (file, what) in cases {
		let stderr = refusal(what, &file);
		assert!(
			stderr.contains(&format!("{what} is the well-known development key of Alice"))
				&& stderr.contains("key generate"),
			"{what}: {stderr}"
		);
	}
}

/// What the runtime's genesis cannot take is refused with the entry and the reason, before
/// any node tries to start from it: a zero endowment, an account endowed twice, the treasury
/// endowed, an authority's key repeated.
#[test]
fn testnet_spec_refuses_what_the_genesis_cannot_take() {
	let operators = example_operators();
	let treasury = "5EYCAe5gKGcB9oMKcV5qKQgoxqH5kwwU5bLqtv8dZGHp42vA";
	let mut zero = operators.clone();
	zero["endowed"][0]["dcen"] = 0.into();
	let mut twice = operators.clone();
	let first = twice["endowed"][0].clone();
	twice["endowed"].as_array_mut().unwrap().push(first);
	let mut to_treasury = operators.clone();
	to_treasury["endowed"][0]["account"] = treasury.into();
	let mut repeated = operators.clone();
	repeated["authorities"][1]["aura"] = repeated["authorities"][0]["aura"].clone();
	let cases = [
		(zero, "endowed account 0 gets 0 DCEN"),
		(twice, "endowed account 1 is listed twice"),
		(to_treasury, "endowed account 0 is the treasury"),
		(repeated, "authority 1 repeats a key"),
	];
	for (file, expected) in cases {
		let stderr = refusal(expected, &file);
		assert!(stderr.contains(expected), "{expected}: {stderr}");
	}
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

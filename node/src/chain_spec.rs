//! The chain specifications the node knows by name.

use decenter_runtime::WASM_BINARY;
use sc_service::{ChainType, Properties};
use sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};

/// A chain spec with no extensions.
pub type ChainSpec = sc_service::GenericChainSpec;

pub fn wasm_binary() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"The runtime's wasm binary is not available: the node was built with SKIP_WASM_BUILD; \
		 rebuild it without that variable."
			.to_string()
	})
}

/// Token symbol, decimals and address format, as polkadot.js apps reads them.
pub fn properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), "DCEN".into());
	properties.insert("tokenDecimals".into(), 12.into());
	properties.insert("ss58Format".into(), 42.into());
	properties
}

/// Single-node development chain: Alice authors and finalizes.
pub fn development() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("DeCenter Development")
		.with_id("decenter_dev")
		.with_chain_type(ChainType::Development)
		.with_protocol_id("decenter-dev")
		.with_genesis_config_preset_name(DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// Two-node local network: Alice and Bob author and finalize.
pub fn local_testnet() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("DeCenter Local Testnet")
		.with_id("decenter_local")
		.with_chain_type(ChainType::Local)
		.with_protocol_id("decenter-local")
		.with_genesis_config_preset_name(LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

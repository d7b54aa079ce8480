//! What each subcommand of `decenter-node` does.

use decenter_runtime::{opaque::Block, EXISTENTIAL_DEPOSIT};
use frame_benchmarking_cli::{BenchmarkCmd, ExtrinsicFactory, SUBSTRATE_REFERENCE_HARDWARE};
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;
use sp_core::Encode;
use sp_keyring::Sr25519Keyring;
use sp_runtime::traits::{Block as BlockT, Hash as HashT, HashingFor};

use crate::{
	benchmarking::{inherent_benchmark_data, RemarkBuilder, TransferKeepAliveBuilder},
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"DeCenter Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://example.invalid/decenter/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		Ok(match id {
			"dev" => Box::new(chain_spec::development()?),
			"" | "local" => Box::new(chain_spec::local_testnet()?),
			path => Box::new(
				chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path)).map_err(
					|e| {
						format!(
							"`--chain {path}` is neither a known chain (dev, local) nor a \
							 readable chain-spec file (a testnet's comes from `decenter-node \
							 testnet-spec`): {e}"
						)
					},
				)?,
			),
		})
	}
}

/// `export-genesis-state`: the genesis block of a chain spec, computed without a database.
#[derive(Debug, clap::Parser)]
pub struct ExportGenesisStateCmd {
	/// Chain name (dev, local) or path to a chain-spec file.
	#[arg(long, default_value = "dev")]
	pub chain: String,
}

impl ExportGenesisStateCmd {
	fn run(&self, cli: &Cli) -> sc_cli::Result<()> {
		let spec = cli.load_spec(&self.chain)?;
		let storage = spec.build_storage()?;
		let executor =
			sc_executor::WasmExecutor::<sp_io::SubstrateHostFunctions>::builder().build();
		let state_version = sc_service::resolve_state_version_from_wasm::<_, HashingFor<Block>>(
			&storage, &executor,
		)?;
		let child_roots = storage.children_default.values().map(|child| {
			let root = HashingFor::<Block>::trie_root(
				child.data.clone().into_iter().collect(),
				state_version,
			);
			(child.child_info.prefixed_storage_key().into_inner(), root.encode())
		});
		let state_root = HashingFor::<Block>::trie_root(
			storage.top.clone().into_iter().chain(child_roots).collect(),
			state_version,
		);
		let block: Block = sc_service::construct_genesis_block(state_root, state_version);
		let output = serde_json::json!({
			"chain": spec.id(),
			"genesisHash": format!("{:?}", block.hash()),
			"stateRoot": format!("{state_root:?}"),
			"header": sp_core::bytes::to_hex(&block.header().encode(), false),
		});
		println!("{output:#}");
		Ok(())
	}
}

/// Parses the command line and runs what it asks for.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::BuildSpec(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
		},
		Some(Subcommand::ExportChainSpec(cmd)) => {
			let chain_spec = cli.load_spec(&cmd.chain)?;
			cmd.run(chain_spec)
		},
		Some(Subcommand::ExportGenesisState(cmd)) => cmd.run(&cli),
		Some(Subcommand::TestnetSpec(cmd)) => cmd.run(),
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		},
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		},
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		},
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		},
		Some(Subcommand::Benchmark(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| match cmd {
				BenchmarkCmd::Pallet(cmd) => {
					// With `--runtime`, the benchmarks run in that blob (a runtime built with the
					// `runtime-benchmarks` feature: scripts/benchmark-pallets.sh builds one);
					// without it, in the chain spec's runtime, which only has them when this node
					// was built with the feature.
					if cmd.runtime.is_some() {
						cmd.run_with_spec::<HashingFor<Block>, ()>(None)
					} else if cfg!(feature = "runtime-benchmarks") {
						cmd.run_with_spec::<HashingFor<Block>, ()>(Some(config.chain_spec))
					} else {
						Err("This node's runtime has no benchmarks. Pass `--runtime PATH` with a \
						     runtime built with the `runtime-benchmarks` feature (`bash \
						     scripts/benchmark-pallets.sh` builds one and runs every pallet), or \
						     rebuild the node with `--features runtime-benchmarks`."
							.into())
					}
				},
				BenchmarkCmd::Block(cmd) => {
					let PartialComponents { client, .. } = service::new_partial(&config)?;
					cmd.run(client)
				},
				BenchmarkCmd::Storage(_) => Err("`benchmark storage` needs RocksDB, which this \
				                                 node is built without (it uses ParityDB)."
					.into()),
				BenchmarkCmd::Overhead(cmd) => {
					let PartialComponents { client, .. } = service::new_partial(&config)?;
					let ext_builder = RemarkBuilder::new(client.clone());
					cmd.run(
						config.chain_spec.name().into(),
						client,
						inherent_benchmark_data()?,
						Vec::new(),
						&ext_builder,
						false,
					)
				},
				BenchmarkCmd::Extrinsic(cmd) => {
					let PartialComponents { client, .. } = service::new_partial(&config)?;
					let ext_factory = ExtrinsicFactory(vec![
						Box::new(RemarkBuilder::new(client.clone())),
						Box::new(TransferKeepAliveBuilder::new(
							client.clone(),
							Sr25519Keyring::Alice.to_account_id(),
							EXISTENTIAL_DEPOSIT,
						)),
					]);
					cmd.run(client, inherent_benchmark_data()?, Vec::new(), &ext_factory)
				},
				BenchmarkCmd::Machine(cmd) => {
					cmd.run(&config, SUBSTRATE_REFERENCE_HARDWARE.clone())
				},
			})
		},
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<Block>(&config))
		},
		None => {
			let runner = cli.create_runner(&cli.run)?;
			runner.run_node_until_exit(|config| async move {
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => service::new_full::<
						sc_network::NetworkWorker<Block, <Block as BlockT>::Hash>,
					>(config)
					.map_err(sc_cli::Error::Service),
					sc_network::config::NetworkBackendType::Litep2p => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(config)
							.map_err(sc_cli::Error::Service)
					},
				}
			})
		},
	}
}

//! `decenter-node`: the DeCenter chain's node.

mod benchmarking;
mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;
mod testnet;

fn main() -> sc_cli::Result<()> {
	command::run()
}

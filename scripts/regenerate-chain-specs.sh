#!/usr/bin/env bash
# Rewrites chain-spec/*.json from the runtime's genesis presets.
set -euo pipefail
cd "$(dirname "$0")/.."

# The shared workspace build (scripts/build.sh): `-p decenter-node` alone would resolve
# features differently and recompile much of what the tests and the demo reuse.
bash scripts/build.sh
node="${CARGO_TARGET_DIR:-target}/debug/decenter-node"

# A testnet's spec comes from its operators' keys (`decenter-node testnet-spec`), not from here.
for chain in dev local; do
	"$node" export-chain-spec --chain "$chain" --output "chain-spec/$chain.json"
	"$node" export-chain-spec --chain "$chain" --raw --output "chain-spec/$chain-raw.json"
	echo "wrote chain-spec/$chain.json and chain-spec/$chain-raw.json"
done
# The decenter program's client is generated from the runtime's metadata: refresh it too, and
# rebuild the program against it.
DECENTER_BLESS_METADATA=1 cargo test --workspace --test metadata
bash scripts/build.sh
echo "wrote offchain-worker/decenter/metadata/decenter.scale"

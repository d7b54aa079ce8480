#!/usr/bin/env bash
# Rewrites chain-spec/*.json from the runtime's genesis presets.
set -euo pipefail
cd "$(dirname "$0")/.."

# The shared workspace build (scripts/build.sh): `-p decenter-node` alone would resolve
# features differently and recompile much of what the tests and the demo reuse.
bash scripts/build.sh
node="${CARGO_TARGET_DIR:-target}/debug/decenter-node"

for pair in dev:dev local:local staging:testnet; do
	chain=${pair%%:*}
	file=${pair##*:}
	"$node" export-chain-spec --chain "$chain" --output "chain-spec/$file.json"
	"$node" export-chain-spec --chain "$chain" --raw --output "chain-spec/$file-raw.json"
	echo "wrote chain-spec/$file.json and chain-spec/$file-raw.json"
done
# testnet-raw.json is built into the node: rebuild it with the new spec.
bash scripts/build.sh
# The decenter program's client is generated from the runtime's metadata: refresh it too, and
# rebuild the program against it.
DECENTER_BLESS_METADATA=1 cargo test --workspace --test metadata
bash scripts/build.sh
echo "wrote offchain-worker/decenter/metadata/decenter.scale"

#!/usr/bin/env bash
# Builds decenter-node (with scripts/build.sh, the build the demo and the tests share) and
# starts a development chain on ws://127.0.0.1:9944. PROFILE=release builds an optimized node
# (slower to build). Extra arguments go to the node (e.g. `--rpc-external`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
profile="${PROFILE:-debug}"
if [ "$profile" = release ]; then
	cargo build --release -p decenter-node
else
	bash scripts/build.sh
fi
exec "${CARGO_TARGET_DIR:-target}/$profile/decenter-node" --dev "$@"

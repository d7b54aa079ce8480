#!/usr/bin/env bash
# The whole test suite: unit tests, pallet tests, chain-spec drift, and end-to-end tests
# against real decenter-node processes (subxt and polkadot.js clients).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# NVRTC for the CUDA kernels' compile check, which must not be skipped here.
source scripts/nvrtc-env.sh
export DECENTER_REQUIRE_NVRTC=1

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "formatting"
cargo fmt --all -- --check

step "polkadot.js client (npm ci)"
(cd tests/polkadotjs && npm ci --no-audit --no-fund)

# Everything `cargo test` builds, with the same feature resolution (dev-dependencies included),
# so the decenter-node and decenter binaries the end-to-end tests start are built only once, and
# the demo's build (the same script) is reused.
step "build the workspace (decenter-node, decenter, tests)"
bash scripts/build.sh

step "cargo test"
cargo test --workspace

#!/usr/bin/env bash
# The demo: builds decenter-node and decenter, then runs `decenter demo`: a dev chain, a
# client, two workers and two validators train the digits MLP from upload to certificate.
# Extra arguments go to `decenter demo` (e.g. `--steps 3000`, `--work-dir DIR`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cargo build -p decenter-node -p decenter
target="${CARGO_TARGET_DIR:-target}/debug"
exec "$target/decenter" demo --node-binary "$target/decenter-node" "$@"

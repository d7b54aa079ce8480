#!/usr/bin/env bash
# The demo: builds the workspace (scripts/build.sh, the same build the test suite uses, so
# either reuses what the other built), then runs `decenter demo`: a dev chain, a client, two
# workers and two validators train the digits MLP from upload to certificate.
# Extra arguments go to `decenter demo` (e.g. `--steps 3000`, `--work-dir DIR`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh
target="${CARGO_TARGET_DIR:-target}/debug"
exec "$target/decenter" demo --node-binary "$target/decenter-node" "$@"

#!/usr/bin/env bash
# The one build of the workspace that the demo, the test suite and the chain-spec script share:
# every target `cargo test --workspace` needs, with its feature resolution (dev-dependencies
# included), so that whichever runs first builds what the others reuse. Building only
# `-p decenter-node -p decenter` would resolve features differently and compile much of it twice.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --workspace --all-targets "$@"

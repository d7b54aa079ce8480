#!/usr/bin/env bash
# Regenerates the weights.rs of DeCenter's pallets with the node's `benchmark pallet` command.
#
# The benchmarks run in a runtime blob built with the `runtime-benchmarks` feature, compiled here
# straight to wasm32v1-none (as the wasm builder does), so the node used for testing stays as it
# is and no second native build is needed.
#
# usage: bash scripts/benchmark-pallets.sh [PALLET...]   (default: every DeCenter pallet)
#   STEPS / REPEAT override the sampling (default 50 / 20); NODE names the node binary (default:
#   the debug build, whose unoptimized host side makes the weights about 30x too high; a release
#   node gives the real figures).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
pallets=("$@")
[ ${#pallets[@]} -gt 0 ] || pallets=(pallet_compute_staking pallet_training_orders pallet_proof_of_train)

echo "building the runtime with benchmarks (wasm32v1-none, release)"
RUSTFLAGS="-C link-arg=--export-table -C link-arg=--export=__heap_base -C link-arg=--import-memory --cfg substrate_runtime" \
	cargo rustc --quiet --release --target wasm32v1-none -p decenter-runtime \
	--no-default-features --features runtime-benchmarks --crate-type cdylib
runtime="$target/wasm32v1-none/release/decenter_runtime.wasm"

node=${NODE:-$target/debug/decenter-node}
[ -x "$node" ] || cargo build --quiet -p decenter-node
for pallet in "${pallets[@]}"; do
	case "$pallet" in
		pallet_compute_staking) dir=pallets/staking ;;
		pallet_training_orders) dir=pallets/orders ;;
		pallet_proof_of_train) dir=pallets/proof-of-train ;;
		*) echo "unknown DeCenter pallet $pallet" >&2; exit 2 ;;
	esac
	echo "benchmarking $pallet -> $dir/src/weights.rs"
	"$node" benchmark pallet \
		--runtime "$runtime" \
		--genesis-builder runtime \
		--pallet "$pallet" --extrinsic '*' \
		--steps "${STEPS:-50}" --repeat "${REPEAT:-20}" \
		--wasm-execution compiled \
		--header scripts/weights-header.txt \
		--template scripts/frame-weight-template.hbs \
		--output "$dir/src/weights.rs"
done

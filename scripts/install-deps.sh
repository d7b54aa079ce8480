#!/usr/bin/env bash
# Installs what building and testing DeCenter needs on a fresh Debian/Ubuntu machine:
# protoc (libp2p's build scripts), OpenSSL's headers and pkg-config (litep2p's WebRTC links the
# system OpenSSL, see .cargo/config.toml), Node.js and npm (the polkadot.js check), NVRTC from
# PyPI's nvidia-cuda-nvrtc-cu12 wheel (the CUDA kernels' compile check; no GPU needed), and the
# Rust toolchain pinned in rust-toolchain.toml with its wasm target (the runtime).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# NVRTC, pinned: the checked-in PTX is what this very version makes of the kernels. Installed
# outside the clone; scripts/nvrtc-env.sh puts its lib folder on LD_LIBRARY_PATH.
nvrtc_version=12.6.77
nvrtc_dir="${DECENTER_NVRTC_DIR:-$HOME/.cache/decenter-nvrtc}"
if [ ! -e "$nvrtc_dir/$nvrtc_version" ]; then
	echo "install-deps: installing nvidia-cuda-nvrtc-cu12==$nvrtc_version into $nvrtc_dir"
	rm -rf "$nvrtc_dir"
	python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$nvrtc_dir" \
		"nvidia-cuda-nvrtc-cu12==$nvrtc_version"
	touch "$nvrtc_dir/$nvrtc_version"
fi

if ! command -v rustup >/dev/null 2>&1; then
	echo "install-deps: rustup is missing; install it from your distribution or rustup.rs" >&2
	exit 1
fi
# Installs the channel, components and targets that rust-toolchain.toml names.
rustup toolchain install
rustup show active-toolchain

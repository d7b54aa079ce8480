# Source this to put the NVRTC that scripts/install-deps.sh installed on LD_LIBRARY_PATH (cudarc
# loads libnvrtc.so.12 at run time).
nvrtc_lib="${DECENTER_NVRTC_DIR:-$HOME/.cache/decenter-nvrtc}/nvidia/cuda_nvrtc/lib"
export LD_LIBRARY_PATH="$nvrtc_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

#!/usr/bin/env bash
# Measures the CPU training engine against PyTorch on this machine, same thread counts and the
# same instruction set, and prints the tables of BENCHMARKS.md: training throughput (digits MLP
# 64-128-10 batch 32, and a 784-256-256-10 MLP on synthetic MNIST-shaped data batch 128, both
# Adam), GEMM GFLOP/s against the measured f32 FMA peak of one core, and a validator's
# re-execution as a fraction of the training. Every table is repeated for each vector
# instruction set the CPU executes (avx512, avx2): the engine is forced to it by name in the
# benchmark, PyTorch by ATEN_CPU_CAPABILITY and DNNL_MAX_CPU_ISA, so the comparison is fair.
#
# usage: bash benches/compare.sh
#   PYTHON: a Python with torch (default: the venv made here on first use, from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}

python=${PYTHON:-}
if [ -z "$python" ]; then
	venv="${DECENTER_BENCH_VENV:-$HOME/.cache/decenter-bench-venv}"
	if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
		echo "compare: installing torch into $venv" >&2
		python3 -m venv "$venv"
		"$venv/bin/pip" install --quiet --disable-pip-version-check torch
	fi
	python="$venv/bin/python"
fi

isas=()
grep -qw avx512f /proc/cpuinfo && grep -qw fma /proc/cpuinfo && isas+=(avx512)
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && isas+=(avx2)
if [ ${#isas[@]} -eq 0 ]; then
	echo "compare: this CPU has neither AVX-512 nor AVX2 with FMA; the engine's vector kernels need one" >&2
	exit 1
fi

echo "compare: criterion (cargo bench -p decenter-engine --bench training), sets: ${isas[*]}" >&2
cargo bench --quiet -p decenter-engine --bench training >&2

torch_results=$(mktemp)
for isa in "${isas[@]}"; do
	case $isa in
	avx512) capability=avx512 dnnl=AVX512_CORE ;;
	avx2) capability=avx2 dnnl=AVX2 ;;
	esac
	for threads in 1 2; do
		echo "compare: PyTorch, $isa, $threads thread(s)" >&2
		ATEN_CPU_CAPABILITY=$capability DNNL_MAX_CPU_ISA=$dnnl \
			OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads \
			"$python" benches/pytorch_mlp.py "$threads" "$isa" >>"$torch_results"
	done
done

CRITERION="$target/criterion" TORCH="$torch_results" ISAS="${isas[*]}" python3 - <<'PY'
import json, os, re

root = os.environ["CRITERION"]
def mean_ns(*parts):
    with open(os.path.join(root, *parts, "new", "estimates.json")) as f:
        return json.load(f)["mean"]["point_estimate"]

torch, capability = {}, {}
for line in open(os.environ["TORCH"]):
    r = json.loads(line)
    torch[(r["case"], r["isa"], r["threads"])] = r["samples_per_s"]
    capability[r["isa"]] = r["capability"]
    version = r["torch"]

cpu = open("/proc/cpuinfo").read()
model = re.search(r"model name\s*:\s*(.*)", cpu).group(1).strip()
cores = os.cpu_count()
print(f"Machine: {model}, {cores} cores; PyTorch {version}.\n")

lanes = {"avx512": 16, "avx2": 8}
chains = {"avx512": 16, "avx2": 10}
targets = {("digits_64-128-10_b32", 1): 2.0, ("digits_64-128-10_b32", 2): 2.0,
           ("mnist_784-256-256-10_b128", 1): 1.0, ("mnist_784-256-256-10_b128", 2): 1.0}
for isa in os.environ["ISAS"].split():
    print(f"### {isa}: the engine forced to {isa}; PyTorch with ATEN_CPU_CAPABILITY={isa} "
          f"(it reports {capability[isa]})\n")
    print("| case | threads | DeCenter samples/s | PyTorch samples/s | ratio | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    for case, batch in [("digits_64-128-10_b32", 32), ("mnist_784-256-256-10_b128", 128)]:
        for t in (1, 2):
            ours = batch / (mean_ns("train_step", case, f"{isa}_{t}t") * 1e-9)
            theirs = torch[(case, isa, t)]
            ratio = ours / theirs
            goal = targets[(case, t)]
            print(f"| {case} | {t} | {ours:,.0f} | {theirs:,.0f} | {ratio:.2f}× | ≥ {goal}× {'✓' if ratio >= goal else '✗'} |")

    # The peak is measured, not assumed: independent FMA chains on one core (`fma_peak`).
    flops = 100_000 * chains[isa] * lanes[isa] * 2
    peak = flops / mean_ns("gemm", "fma_peak", f"{isa}_1t")
    print(f"\nf32 FMA peak of one core with {isa}: {peak:.1f} GFLOP/s, measured with "
          f"{chains[isa]} independent {lanes[isa]}-lane FMA chains (`gemm/fma_peak/{isa}_1t`); "
          f"two cores: {2 * peak:.1f}.\n")
    print("| GEMM | threads | GFLOP/s | of peak (same threads) | target |")
    print("| --- | --- | --- | --- | --- |")
    for shape in ["128x784x256", "512x512x512"]:
        r, k, c = map(int, shape.split("x"))
        for t in (1, 2):
            gflops = 2 * r * k * c / mean_ns("gemm", shape, f"{isa}_{t}t")
            share = 100 * gflops / (peak * t)
            goal = 70 if t == 1 else 60
            print(f"| {shape} | {t} | {gflops:.1f} | {share:.0f}% | ≥ {goal}% {'✓' if share >= goal else '✗'} |")
    print()

full = mean_ns("verification", "digits_full_500_steps_2t")
part = mean_ns("verification", "digits_4_segments_of_50_2t")
print(f"Verification: re-executing S = 4 segments of 50 steps of the 500-step digits run takes "
      f"{part / 1e6:.1f} ms against {full / 1e6:.1f} ms for the whole run: {100 * part / full:.0f}% "
      f"(one validator; 200 of 500 steps are {100 * 200 / 500:.0f}%).")
PY

#!/usr/bin/env bash
# Measures the CPU training engine against PyTorch on this machine, same thread counts, and
# prints the table of BENCHMARKS.md: training throughput (digits MLP 64-128-10 batch 32, and a
# 784-256-256-10 MLP on synthetic MNIST-shaped data batch 128, both Adam), GEMM GFLOP/s against
# the machine's f32 FMA peak, and a validator's re-execution as a fraction of the training.
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

echo "compare: criterion (cargo bench -p decenter-engine --bench training)" >&2
cargo bench --quiet -p decenter-engine --bench training >&2

torch_results=$(mktemp)
for threads in 1 2; do
	echo "compare: PyTorch, $threads thread(s)" >&2
	OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads "$python" benches/pytorch_mlp.py "$threads" >>"$torch_results"
done

CRITERION="$target/criterion" TORCH="$torch_results" python3 - <<'PY'
import json, os, re, subprocess

root = os.environ["CRITERION"]
def mean_ns(*parts):
    with open(os.path.join(root, *parts, "new", "estimates.json")) as f:
        return json.load(f)["mean"]["point_estimate"]

torch = {}
for line in open(os.environ["TORCH"]):
    r = json.loads(line)
    torch[(r["case"], r["threads"])] = r["samples_per_s"]
    version = r["torch"]

cpu = open("/proc/cpuinfo").read()
model = re.search(r"model name\s*:\s*(.*)", cpu).group(1)
ghz = float(re.search(r"@\s*([\d.]+)GHz", model).group(1)) if "GHz" in model else None
cores = os.cpu_count()
lanes = 16 if " avx512f" in cpu else 8 if " avx2" in cpu else 4
peak = cores * ghz * lanes * 2 * 2 if ghz else None

print(f"Machine: {model}, {cores} cores, {'AVX-512' if lanes == 16 else 'AVX2'}; PyTorch {version}.\n")
print("| case | threads | DeCenter samples/s | PyTorch samples/s | ratio | target |")
print("| --- | --- | --- | --- | --- | --- |")
targets = {("digits_64-128-10_b32", 1): 2.0, ("digits_64-128-10_b32", 2): 2.0,
           ("mnist_784-256-256-10_b128", 1): 0.8, ("mnist_784-256-256-10_b128", 2): 1.0}
for case, batch in [("digits_64-128-10_b32", 32), ("mnist_784-256-256-10_b128", 128)]:
    for t in (1, 2):
        ours = batch / (mean_ns("train_step", case, f"{t}t") * 1e-9)
        theirs = torch[(case, t)]
        ratio = ours / theirs
        goal = targets[(case, t)]
        print(f"| {case} | {t} | {ours:,.0f} | {theirs:,.0f} | {ratio:.2f}× | ≥ {goal}× {'✓' if ratio >= goal else '✗'} |")

measured = 16 * 16 * 2 * 100_000 / mean_ns("gemm", "fma_peak", "1t") if lanes == 16 else None
print(f"\nf32 FMA peak: {cores} cores × {ghz} GHz × {lanes} lanes × 2 FMA units × 2 = {peak:.0f} GFLOP/s"
      + (f"; measured on one core with 16 independent FMA chains: {measured:.0f} GFLOP/s ({cores * measured:.0f} for {cores})" if measured else "") + "\n")
print("| GEMM | threads | GFLOP/s | of peak (same threads) |")
print("| --- | --- | --- | --- |")
for shape in ["128x784x256", "512x512x512"]:
    r, k, c = map(int, shape.split("x"))
    for t in (1, 2):
        gflops = 2 * r * k * c / mean_ns("gemm", shape, f"{t}t")
        print(f"| {shape} | {t} | {gflops:.1f} | {100 * gflops / (peak * t / cores):.0f}% |")

full = mean_ns("verification", "digits_full_500_steps_2t")
part = mean_ns("verification", "digits_4_segments_of_50_2t")
print(f"\nVerification: re-executing S = 4 segments of 50 steps of the 500-step digits run takes "
      f"{part / 1e6:.1f} ms against {full / 1e6:.1f} ms for the whole run: {100 * part / full:.0f}% "
      f"(one validator; 200 of 500 steps are {100 * 200 / 500:.0f}%).")
PY

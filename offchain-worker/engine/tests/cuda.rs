//! The CUDA backend without a GPU: the kernel source compiles with the real NVRTC to exactly the
//! checked-in PTX; the PTX has no approximate, flush-to-zero or atomic instruction and fuses
//! multiply-adds only where the source wrote `dm_fma`; the shared math header built for the
//! host gives bitwise the Rust results; the kernel bodies run over an emulated grid on the host
//! give bitwise the reference. Without a driver the backend turns itself off with an error; with
//! one, training on the GPU gives every checkpoint hash of the CPU.
//!
//! NVRTC comes from PyPI's `nvidia-cuda-nvrtc-cu12` wheel (scripts/install-deps.sh puts it on
//! `LD_LIBRARY_PATH`); `DECENTER_REQUIRE_NVRTC=1` (set by scripts/test.sh) makes its absence a
//! failure instead of a skip. `DECENTER_BLESS_PTX=1` rewrites `kernels/ops.ptx`.

mod common;

use std::{
	io::Write,
	path::{Path, PathBuf},
	process::{Command, Stdio},
	sync::OnceLock,
};

use common::*;
use decenter_engine::{
	cpu::Cpu,
	cuda::{self, kernels, Cuda},
	math,
	model::Checkpoint,
	ops,
	ops::Update,
	pot::{probe, replay, train, Quiet, Trace},
};
use decenter_primitives::spec::{Activation, Loss};

fn kernels_dir() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels")
}

#[test]
fn checked_in_ptx_is_what_nvrtc_makes_of_the_source() {
	if !kernels::nvrtc_present() {
		assert!(
			std::env::var_os("DECENTER_REQUIRE_NVRTC").is_none(),
			"NVRTC is required here but libnvrtc.so.12 is not on LD_LIBRARY_PATH"
		);
		eprintln!("skipped: NVRTC not installed (scripts/install-deps.sh installs it)");
		return;
	}
	let fresh = kernels::compile().expect("the kernels compile");
	let path = kernels_dir().join("ops.ptx");
	if std::env::var_os("DECENTER_BLESS_PTX").is_some() {
		std::fs::write(&path, &fresh).expect("write ops.ptx");
	}
	assert!(
		fresh == kernels::PTX,
		"kernels/ops.ptx is stale: rerun with DECENTER_BLESS_PTX=1 and commit it"
	);
}

/// The PTX of each kernel (`.entry name` up to the next entry).
fn entries(ptx: &str) -> Vec<(String, String)> {
	ptx.split(".entry ")
		.skip(1)
		.map(|body| {
			let name = body.split('(').next().unwrap_or_default().trim().to_string();
			(name, body.to_string())
		})
		.collect()
}

#[test]
fn ptx_is_exact_ieee_with_fma_only_where_written() {
	let ptx = kernels::PTX;
	assert!(ptx.contains(".target"), "kernels/ops.ptx is empty");
	for forbidden in [
		".approx",
		".ftz",
		".full",
		"atom.",
		"red.",
		"mad.f32",
		"mad.rn.f32",
		"max.f32",
		"min.f32",
		"ex2.",
		"lg2.",
		"sin.",
		"cos.",
	] {
		assert!(!ptx.contains(forbidden), "the PTX contains {forbidden}");
	}
	// Every float add, subtract, multiply, divide and square root carries an explicit rounding
	// mode, which forbids ptxas from contracting them into an fma.
	for line in ptx.lines().map(str::trim) {
		for op in ["add.f32", "sub.f32", "mul.f32", "div.f32", "sqrt.f32"] {
			assert!(!line.starts_with(op), "float op without a rounding mode: {line}");
		}
	}
	let mut found: Vec<String> = entries(ptx).into_iter().map(|(name, _)| name).collect();
	let mut expected: Vec<String> = kernels::KERNELS.iter().map(|s| s.to_string()).collect();
	expected.sort();
	found.sort();
	assert_eq!(found, expected, "kernels in the PTX");
	// Kernels whose source has no dm_fma have no fma; the others do.
	let without_fma = ["relu", "relu_backward", "column_sums"];
	for (name, body) in entries(ptx) {
		let fused = body.contains("fma.rn.f32");
		assert_eq!(fused, !without_fma.contains(&name.as_str()), "fma in kernel {name}");
		assert_eq!(body.matches("fma.").count(), body.matches("fma.rn.f32").count(), "{name}");
	}
}

/// The host build of the kernels (`tests/cuda_host/harness.c`), compiled once per test run.
fn harness() -> &'static Path {
	static HARNESS: OnceLock<PathBuf> = OnceLock::new();
	HARNESS.get_or_init(|| {
		let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cuda_host/harness.c");
		let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("decenter-kernels-host");
		let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
			.args([
				"-std=c11",
				"-O2",
				"-ffp-contract=off",
				"-fno-fast-math",
				"-Wall",
				"-Werror",
				"-o",
			])
			.arg(&out)
			.arg(&source)
			.arg("-lm")
			.status()
			.expect("a C compiler (cc) runs");
		assert!(status.success(), "the kernels do not compile as host C");
		out
	})
}

/// Runs `op` of the host kernels on `inputs`; returns its output arrays.
fn host(op: &str, args: &[u32], inputs: &[&[f32]]) -> Vec<Vec<f32>> {
	let mut child = Command::new(harness())
		.arg(op)
		.args(args.iter().map(|a| a.to_string()))
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.spawn()
		.expect("harness runs");
	let mut bytes = Vec::new();
	for input in inputs {
		bytes.extend_from_slice(&(input.len() as u32).to_le_bytes());
		for value in *input {
			bytes.extend_from_slice(&value.to_le_bytes());
		}
	}
	child.stdin.take().unwrap().write_all(&bytes).unwrap();
	let output = child.wait_with_output().unwrap();
	assert!(output.status.success(), "harness {op} failed");
	let mut arrays = Vec::new();
	let mut rest = &output.stdout[..];
	while rest.len() >= 4 {
		let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
		let values = rest[4..4 + 4 * len]
			.chunks_exact(4)
			.map(|b| f32::from_le_bytes(b.try_into().unwrap()))
			.collect();
		arrays.push(values);
		rest = &rest[4 + 4 * len..];
	}
	arrays
}

#[test]
fn math_header_on_the_host_matches_math_rs_bit_for_bit() {
	// Special values, every power of two, and a dense sweep with random bit patterns.
	let mut x: Vec<f32> = vec![
		0.0,
		-0.0,
		1.0,
		-1.0,
		f32::INFINITY,
		f32::NEG_INFINITY,
		f32::NAN,
		f32::MIN_POSITIVE,
		f32::from_bits(1),
		f32::MAX,
		88.72284,
		88.7229,
		-103.0,
		-103.1,
		0.55,
		9.0,
		9.0001,
	];
	x.extend((-149..128).map(|e| 2f32.powi(e)));
	let mut state = 0x9e37_79b9u32;
	for _ in 0..20_000 {
		state ^= state << 13;
		state ^= state >> 17;
		state ^= state << 5;
		x.push(f32::from_bits(state));
	}
	x.extend((0..20_000).map(|i| (i as f32 - 10_000.0) * 0.0123));
	for (name, f) in [("exp", math::exp as fn(f32) -> f32), ("ln", math::ln), ("tanh", math::tanh)]
	{
		let got = host(name, &[], &[&x]).remove(0);
		for (input, (g, want)) in x.iter().zip(got.iter().zip(x.iter().map(|v| f(*v)))) {
			assert_eq!(g.to_bits(), want.to_bits(), "{name}({input:e}): host {g:e}, Rust {want:e}");
		}
	}
}

const SHAPES: &[(usize, usize, usize)] =
	&[(1, 1, 1), (7, 3, 10), (9, 5, 33), (17, 31, 70), (32, 64, 128), (33, 129, 65)];

#[test]
fn kernel_bodies_on_an_emulated_grid_match_the_reference() {
	for (salt, &(m, k, n)) in SHAPES.iter().enumerate() {
		let salt = salt as u32 * 16;
		let dims = [m as u32, k as u32, n as u32];
		let (a, w, bias, dz) = (
			random(m * k, salt, 4.0),
			random(k * n, salt + 1, 2.0),
			random(n, salt + 2, 1.0),
			random(m * n, salt + 3, 2.0),
		);

		let mut z = vec![0.0; m * n];
		ops::dense_forward(&a, &w, &bias, &mut z, m, k, n);
		assert_eq!(
			bits(&host("dense_forward", &dims, &[&a, &w, &bias])[0]),
			bits(&z),
			"forward {m}x{k}x{n}"
		);

		let (mut dw, mut db) = (vec![0.0; k * n], vec![0.0; n]);
		ops::dense_backward_params(&a, &dz, &mut dw, &mut db, m, k, n);
		let got = host("dense_backward_params", &dims, &[&a, &dz]);
		assert_eq!((bits(&got[0]), bits(&got[1])), (bits(&dw), bits(&db)), "params {m}x{k}x{n}");

		let mut da = vec![0.0; m * k];
		ops::dense_backward_input(&dz, &w, &mut da, m, k, n);
		assert_eq!(
			bits(&host("dense_backward_input", &dims, &[&dz, &w])[0]),
			bits(&da),
			"input {m}x{k}x{n}"
		);

		for (activation, forward, backward) in [
			(Activation::Relu, "relu", "relu_backward"),
			(Activation::Tanh, "tanh_activation", "tanh_backward"),
		] {
			let mut out = vec![0.0; m * n];
			ops::activate(activation, &dz, &mut out);
			assert_eq!(bits(&host(forward, &[], &[&dz])[0]), bits(&out), "{forward}");
			let mut grad = z.clone();
			ops::activation_backward(activation, &dz, &out, &mut grad);
			let from = if activation == Activation::Relu { &dz } else { &out };
			assert_eq!(bits(&host(backward, &[], &[from, &z])[0]), bits(&grad), "{backward}");
		}

		let labels: Vec<f32> = (0..m).map(|i| ((i * 7 + salt as usize) % n) as f32).collect();
		for (loss, name, targets) in [
			(Loss::SoftmaxCrossEntropy, "cross_entropy", labels.clone()),
			(Loss::MeanSquaredError, "mean_squared_error", random(m * n, salt + 4, 3.0)),
		] {
			let (mut grad, mut rows) = (vec![0.0; m * n], vec![0.0; m]);
			ops::loss(loss, &z, &targets, &mut grad, &mut rows, m, n);
			let got = host(name, &[m as u32, n as u32], &[&z, &targets]);
			assert_eq!(
				(bits(&got[0]), bits(&got[1])),
				(bits(&grad), bits(&rows)),
				"{name} {m}x{n}"
			);
		}

		let (g, s0, s1) = (
			random(k * n, salt + 5, 1.0),
			random(k * n, salt + 6, 0.1),
			random(k * n, salt + 7, 0.01).iter().map(|v| v.abs()).collect::<Vec<_>>(),
		);
		let updates = [
			Update::Sgd { lr: 0.01 },
			Update::Momentum { lr: 0.01, momentum: 0.9 },
			Update::Adam {
				lr: 0.001,
				beta1: 0.9,
				beta2: 0.999,
				epsilon: 1e-8,
				correction1: 0.19,
				correction2: 0.002,
			},
		];
		for update in updates {
			let (mut w2, mut m0, mut m1) = (w.clone(), s0.clone(), s1.clone());
			ops::apply_update(update, &mut w2, &g, &mut m0, &mut m1);
			let got = match update {
				Update::Sgd { lr } => host("sgd", &[lr.to_bits()], &[&w, &g]),
				Update::Momentum { lr, momentum } => {
					host("momentum", &[lr.to_bits(), momentum.to_bits()], &[&w, &g, &s0])
				},
				Update::Adam { lr, beta1, beta2, epsilon, correction1, correction2 } => host(
					"adam",
					&[
						lr,
						beta1,
						beta2,
						epsilon,
						correction1,
						correction2,
						1.0 - beta1,
						1.0 - beta2,
					]
					.map(f32::to_bits),
					&[&w, &g, &s0, &s1],
				),
			};
			assert_eq!(bits(&got[0]), bits(&w2), "{update:?} weights");
			if update.slots() > 0 {
				assert_eq!(bits(&got[1]), bits(&m0), "{update:?} first slot");
			}
			if update.slots() > 1 {
				assert_eq!(bits(&got[2]), bits(&m1), "{update:?} second slot");
			}
		}
	}
}

/// Bits, with every NaN as one: which NaN an operation returns is not portable (x86 and CUDA
/// propagate different operands), and a NaN stops training anyway (docs/determinism.md).
fn bits_nan_as_one(values: &[f32]) -> Vec<u32> {
	values.iter().map(|v| if v.is_nan() { f32::NAN.to_bits() } else { v.to_bits() }).collect()
}

#[test]
fn activations_agree_on_zeros_of_both_signs_infinities_and_nan() {
	let special = [
		0.0,
		-0.0,
		f32::NAN,
		-f32::NAN,
		f32::INFINITY,
		f32::NEG_INFINITY,
		f32::from_bits(1),
		-f32::from_bits(1),
		1.0,
		-1.0,
	];
	for (activation, forward, backward) in [
		(Activation::Relu, "relu", "relu_backward"),
		(Activation::Tanh, "tanh_activation", "tanh_backward"),
	] {
		let mut out = vec![0.0; special.len()];
		ops::activate(activation, &special, &mut out);
		let got = host(forward, &[], &[&special]).remove(0);
		assert_eq!(bits_nan_as_one(&got), bits_nan_as_one(&out), "{forward}");
		let mut grad = vec![1.5; special.len()];
		ops::activation_backward(activation, &special, &out, &mut grad);
		let from = if activation == Activation::Relu { &special[..] } else { &out[..] };
		let got = host(backward, &[], &[from, &[1.5; 10]]).remove(0);
		assert_eq!(bits_nan_as_one(&got), bits_nan_as_one(&grad), "{backward}");
	}
}

#[test]
fn the_driver_the_ptx_needs_follows_its_declared_isa() {
	let declared = kernels::PTX
		.lines()
		.find_map(|line| line.trim().strip_prefix(".version "))
		.expect("the PTX declares its ISA version");
	assert_eq!(
		declared.trim(),
		kernels::PTX_ISA,
		"a new NVRTC made the PTX: update PTX_ISA and PTX_NEEDS_DRIVER in src/cuda/kernels.rs"
	);
	// PTX ISA 8.0 … 8.5 came with CUDA 12.0 … 12.5.
	let (major, minor) = declared.trim().split_once('.').expect("major.minor");
	let (major, minor): (i32, i32) = (major.parse().unwrap(), minor.parse().unwrap());
	assert_eq!(major, 8, "map the new ISA to its CUDA release here");
	assert_eq!(kernels::PTX_NEEDS_DRIVER, 12_000 + minor * 10);
}

#[test]
fn without_a_driver_the_backend_turns_itself_off_and_with_one_it_matches_the_cpu() {
	if !cuda::driver_present() {
		let error = Cuda::new(0).err().expect("no driver, no backend");
		assert!(error.0.contains("no CUDA driver"), "{error}");
		return;
	}
	// A GPU host: every checkpoint of the digits run equals the CPU's.
	let data = digits();
	let spec = digits_spec(200, adam());
	let start = Checkpoint::seeded(&spec);
	let gpu = Cuda::new(0).expect("the GPU opens");
	let (gpu_last, gpu_trace) =
		train(gpu, &spec, &data, &start, Trace::default(), &mut Quiet).unwrap();
	let (cpu_last, cpu_trace) =
		train(Cpu::new(2).unwrap(), &spec, &data, &start, Trace::default(), &mut Quiet).unwrap();
	assert_eq!(gpu_trace, cpu_trace, "GPU and CPU checkpoints differ");
	assert_eq!(gpu_last.hash(), cpu_last.hash());
	// A probe also hashes a step's gradients: those must be the same bits too.
	let from = replay(Cpu::new(1).unwrap(), &spec, &data, &start, 40).unwrap();
	let gpu = Cuda::new(0).expect("the GPU opens");
	let gpu_probe = probe(gpu, &spec, &data, &from, 41).unwrap().1;
	assert_eq!(gpu_probe, probe(Cpu::new(2).unwrap(), &spec, &data, &from, 41).unwrap().1);
}

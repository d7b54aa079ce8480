//! Each CPU kernel gives the plain loop's bits for awkward shapes (tile remainders in
//! rows and columns, reductions longer than one blocking slice, more columns than one packed
//! block), on every instruction set this CPU executes and any thread count; the math
//! functions are pure functions of their input bits.

mod common;

use common::{bits, random};
use decenter_engine::{
	backend::{Backend, Reference},
	cpu::{Cpu, Isa},
	math,
	ops::Update,
};
use decenter_primitives::spec::{Activation, Loss};

const SHAPES: &[(usize, usize, usize)] = &[
	(1, 1, 1),
	(7, 3, 10),
	(8, 64, 32),
	(9, 5, 33),
	(17, 31, 70),
	(32, 64, 128),
	(33, 129, 65),
	(128, 300, 31),
	(13, 600, 70),
	(25, 520, 200),
	(5, 20, 1100),
	// Above the parallel threshold with one column panel: threads split rows.
	(600, 300, 20),
	(0, 4, 3),
	(3, 0, 5),
];

#[test]
fn dense_kernels_match_the_plain_loops() {
	for (isa, threads) in
		Isa::available().into_iter().flat_map(|isa| [(isa, 1), (isa, 2), (isa, 3)])
	{
		let cpu = Cpu::with_isa(threads, isa).unwrap();
		for (salt, &(m, k, n)) in SHAPES.iter().enumerate() {
			let salt = salt as u32 * 8;
			let a = random(m * k, salt, 4.0);
			let w = random(k * n, salt + 1, 4.0);
			let bias = random(n, salt + 2, 4.0);
			let dz = random(m * n, salt + 3, 4.0);

			let (mut z_ref, mut z_cpu) = (vec![0.0; m * n], vec![0.0; m * n]);
			Reference.dense_forward(&a, &w, &bias, &mut z_ref, m, k, n).unwrap();
			cpu.dense_forward(&a, &w, &bias, &mut z_cpu, m, k, n).unwrap();
			assert_eq!(bits(&z_ref), bits(&z_cpu), "forward {m}x{k}x{n}, {isa}, {threads} threads");

			let (mut dw_ref, mut db_ref) = (vec![0.0; k * n], vec![0.0; n]);
			let (mut dw_cpu, mut db_cpu) = (vec![0.0; k * n], vec![0.0; n]);
			Reference.dense_backward_params(&a, &dz, &mut dw_ref, &mut db_ref, m, k, n).unwrap();
			cpu.dense_backward_params(&a, &dz, &mut dw_cpu, &mut db_cpu, m, k, n).unwrap();
			assert_eq!(bits(&dw_ref), bits(&dw_cpu), "dW {m}x{k}x{n}, {isa}, {threads} threads");
			assert_eq!(bits(&db_ref), bits(&db_cpu), "db {m}x{k}x{n}, {isa}, {threads} threads");

			let (mut da_ref, mut da_cpu) = (vec![0.0; m * k], vec![0.0; m * k]);
			Reference.dense_backward_input(&dz, &w, &mut da_ref, m, k, n).unwrap();
			cpu.dense_backward_input(&dz, &w, &mut da_cpu, m, k, n).unwrap();
			assert_eq!(bits(&da_ref), bits(&da_cpu), "dA {m}x{k}x{n}, {isa}, {threads} threads");
		}
	}
}

#[test]
fn elementwise_kernels_match_the_plain_loops() {
	for isa in Isa::available() {
		elementwise_kernels_match_on(&Cpu::with_isa(2, isa).unwrap());
	}
}

#[test]
fn a_set_this_cpu_lacks_is_refused_with_what_it_runs() {
	for isa in Isa::ALL.into_iter().filter(|isa| !isa.supported()) {
		let err = Cpu::with_isa(1, isa).err().expect("refused").0;
		assert!(err.contains("portable"), "{err}");
	}
}

fn elementwise_kernels_match_on(cpu: &Cpu) {
	let (m, n) = (13, 10);
	let z = random(m * n, 100, 4.0);
	for activation in [Activation::Relu, Activation::Tanh] {
		let (mut a_ref, mut a_cpu) = (vec![0.0; m * n], vec![0.0; m * n]);
		Reference.activate(activation, &z, &mut a_ref).unwrap();
		cpu.activate(activation, &z, &mut a_cpu).unwrap();
		assert_eq!(bits(&a_ref), bits(&a_cpu));
		let mut g_ref = random(m * n, 101, 4.0);
		let mut g_cpu = g_ref.clone();
		Reference.activation_backward(activation, &z, &a_ref, &mut g_ref).unwrap();
		cpu.activation_backward(activation, &z, &a_cpu, &mut g_cpu).unwrap();
		assert_eq!(bits(&g_ref), bits(&g_cpu));
	}
	let labels: Vec<f32> = (0..m).map(|i| (i % n) as f32).collect();
	let targets = random(m * n, 102, 4.0);
	for (loss, t) in [(Loss::SoftmaxCrossEntropy, &labels), (Loss::MeanSquaredError, &targets)] {
		let (mut g_ref, mut r_ref) = (vec![0.0; m * n], vec![0.0; m]);
		let (mut g_cpu, mut r_cpu) = (vec![0.0; m * n], vec![0.0; m]);
		Reference.loss(loss, &z, t, &mut g_ref, &mut r_ref, m, n).unwrap();
		cpu.loss(loss, &z, t, &mut g_cpu, &mut r_cpu, m, n).unwrap();
		assert_eq!(bits(&g_ref), bits(&g_cpu), "{loss:?}");
		assert_eq!(bits(&r_ref), bits(&r_cpu), "{loss:?}");
	}
	let updates = [
		Update::Sgd { lr: 0.01 },
		Update::Momentum { lr: 0.01, momentum: 0.9 },
		Update::Adam {
			lr: 0.001,
			beta1: 0.9,
			beta2: 0.999,
			epsilon: 1e-8,
			correction1: 0.1,
			correction2: 0.001,
		},
	];
	for update in updates {
		let g = random(1000, 103, 4.0);
		let (mut w_ref, mut s0_ref, mut s1_ref) =
			(random(1000, 104, 4.0), random(1000, 105, 4.0), random(1000, 106, 4.0));
		s1_ref.iter_mut().for_each(|v| *v = v.abs());
		let (mut w_cpu, mut s0_cpu, mut s1_cpu) = (w_ref.clone(), s0_ref.clone(), s1_ref.clone());
		Reference.update(update, &mut w_ref, &g, &mut s0_ref, &mut s1_ref).unwrap();
		cpu.update(update, &mut w_cpu, &g, &mut s0_cpu, &mut s1_cpu).unwrap();
		assert_eq!(bits(&w_ref), bits(&w_cpu), "{update:?}");
		assert_eq!(bits(&s0_ref), bits(&s0_cpu));
		assert_eq!(bits(&s1_ref), bits(&s1_cpu));
	}
}

/// Golden values: the math functions must give exactly these bits on every platform
/// (and in the CUDA mirror). A change here is a change of the determinism contract.
#[test]
fn math_golden_bits() {
	let inputs = [-87.5f32, -10.0, -1.0, -0.3, 0.0, 1e-6, 0.4, 0.55, 1.0, 2.5, 9.5, 50.0, 88.0];
	let exp: Vec<u32> = inputs.iter().map(|&x| math::exp(x).to_bits()).collect();
	let tanh: Vec<u32> = inputs.iter().map(|&x| math::tanh(x).to_bits()).collect();
	let ln: Vec<u32> = inputs.iter().map(|&x| math::ln(x.abs() + 1e-3).to_bits()).collect();
	assert_eq!(exp, GOLDEN_EXP, "exp: {exp:#x?}");
	assert_eq!(tanh, GOLDEN_TANH, "tanh: {tanh:#x?}");
	assert_eq!(ln, GOLDEN_LN, "ln: {ln:#x?}");
}

const GOLDEN_EXP: [u32; 13] = [
	0x006cb2bc, 0x383e6bce, 0x3ebc5ab2, 0x3f3da643, 0x3f800000, 0x3f800008, 0x3fbef41c, 0x3fdddb3c,
	0x402df854, 0x4142eb7f, 0x4650bee8, 0x638c881f, 0x7ef882b7,
];
const GOLDEN_TANH: [u32; 13] = [
	0xbf800000, 0xbf800000, 0xbf42f7d6, 0xbe9526ee, 0x00000000, 0x358637bd, 0x3ec288ac, 0x3f002218,
	0x3f42f7d6, 0x3f7c92c1, 0x3f800000, 0x3f800000, 0x3f800000,
];
const GOLDEN_LN: [u32; 13] = [
	0x408f17c2, 0x40135f32, 0x3a83033c, 0xbf99aebc, 0xc0dd0c55, 0xc0dd0425, 0xbf69ee65, 0xbf1894cc,
	0x3a83033c, 0x3f6aac3d, 0x401016e4, 0x407a5eea, 0x408f4670,
];

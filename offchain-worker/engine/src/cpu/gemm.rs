//! The CPU kernels. One micro-kernel computes an `MR×NR` tile of outputs, each with its
//! own accumulator running over the reduction index in ascending order with fused
//! multiply-add: the plain loop's sequence, kept in registers and vectorized across the
//! tile's independent columns. Compiled once per instruction set and chosen at run time;
//! fma is correctly rounded, so every instruction set gives the same bits.

use rayon::prelude::*;

use decenter_primitives::spec::{Activation, Loss};

use crate::ops::{self, Update};

/// Columns per tile: two AVX-512 vectors, four AVX2 vectors.
const NR: usize = 32;
/// Rows per tile.
const MR: usize = 8;
/// Below this many multiply-adds a product runs on the calling thread.
const PARALLEL_THRESHOLD: usize = 1 << 16;

/// The instruction sets the kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
	/// AVX-512F with FMA.
	Avx512,
	/// AVX2 with FMA.
	Avx2,
	/// No vector FMA: scalar `fmaf` (correctly rounded in software or libm).
	Portable,
}

impl Isa {
	/// The best set this CPU has.
	pub fn detect() -> Self {
		#[cfg(target_arch = "x86_64")]
		{
			if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
				return Isa::Avx512;
			}
			if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
				return Isa::Avx2;
			}
		}
		Isa::Portable
	}

	/// Its name in logs.
	pub fn name(&self) -> &'static str {
		match self {
			Isa::Avx512 => "avx512+fma",
			Isa::Avx2 => "avx2+fma",
			Isa::Portable => "portable",
		}
	}
}

/// The operands of one product (see [`super::Cpu::gemm`]).
pub struct Operands<'a> {
	pub a: &'a [f32],
	pub row_stride: usize,
	pub red_stride: usize,
	pub b: &'a [f32],
	pub rows: usize,
	pub red: usize,
	pub cols: usize,
}

/// Runs `body` compiled for `isa`.
macro_rules! dispatch {
	($isa:expr, $body:expr) => {{
		#[cfg(target_arch = "x86_64")]
		{
			#[target_feature(enable = "avx512f,avx2,fma")]
			unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
				f()
			}
			#[target_feature(enable = "avx2,fma")]
			unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
				f()
			}
			match $isa {
				// SAFETY: `Isa::detect` chose these only where the CPU has the features.
				Isa::Avx512 => unsafe { avx512($body) },
				Isa::Avx2 => unsafe { avx2($body) },
				Isa::Portable => ($body)(),
			}
		}
		#[cfg(not(target_arch = "x86_64"))]
		{
			let _ = $isa;
			($body)()
		}
	}};
}

/// `c = A·B` with the plain loop's per-element order.
pub fn run(isa: Isa, op: &Operands<'_>, c: &mut [f32]) {
	let blocks = op.cols.div_ceil(NR);
	// B packed column block by column block, each `red×NR`, zero-padded past `cols`.
	let mut packed = vec![0.0f32; blocks * op.red * NR];
	for (jb, panel) in packed.chunks_exact_mut(op.red * NR).enumerate() {
		let j0 = jb * NR;
		let width = NR.min(op.cols - j0);
		for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
			row[..width].copy_from_slice(&op.b[p * op.cols + j0..p * op.cols + j0 + width]);
		}
	}
	let packed = &packed;
	let work = |(tile, c_rows): (usize, &mut [f32])| {
		dispatch!(isa, || compute_rows(isa, op, packed, tile * MR, c_rows))
	};
	let chunk = MR * op.cols;
	if op.rows * op.red * op.cols < PARALLEL_THRESHOLD || rayon::current_num_threads() == 1 {
		c[..op.rows * op.cols].chunks_mut(chunk).enumerate().for_each(work);
	} else {
		c[..op.rows * op.cols].par_chunks_mut(chunk).enumerate().for_each(work);
	}
}

/// Rows `row0 ..` of `c` (as many as `c_rows` holds, at most `MR`).
#[inline(always)]
fn compute_rows(isa: Isa, op: &Operands<'_>, packed: &[f32], row0: usize, c_rows: &mut [f32]) {
	let rows = c_rows.len() / op.cols;
	for (jb, panel) in packed.chunks_exact(op.red * NR).enumerate() {
		let j0 = jb * NR;
		let width = NR.min(op.cols - j0);
		if rows == MR {
			let acc = full_tile(isa, op, panel, row0);
			for (r, out) in acc.iter().enumerate() {
				c_rows[r * op.cols + j0..r * op.cols + j0 + width].copy_from_slice(&out[..width]);
			}
		} else {
			for r in 0..rows {
				let acc = tile::<1>(op, panel, row0 + r);
				c_rows[r * op.cols + j0..r * op.cols + j0 + width]
					.copy_from_slice(&acc[0][..width]);
			}
		}
	}
}

/// A full `MR×NR` tile: the AVX-512 kernel where the CPU has it, else the portable one.
#[inline(always)]
fn full_tile(isa: Isa, op: &Operands<'_>, panel: &[f32], row0: usize) -> [[f32; NR]; MR] {
	#[cfg(target_arch = "x86_64")]
	if isa == Isa::Avx512 {
		let last = (row0 + MR - 1) * op.row_stride + op.red.saturating_sub(1) * op.red_stride;
		if op.red > 0 && last < op.a.len() && panel.len() >= op.red * NR {
			// SAFETY: the CPU has AVX-512F and FMA (`Isa::detect`), and every index the kernel
			// reads is below `last < a.len()` and `red·NR ≤ panel.len()`.
			return unsafe {
				avx512::tile(
					op.a,
					row0 * op.row_stride,
					op.row_stride,
					op.red_stride,
					panel,
					op.red,
				)
			};
		}
	}
	let _ = isa;
	tile::<MR>(op, panel, row0)
}

/// The AVX-512 micro-kernel: `MR×NR` accumulators in 16 zmm registers; for each reduction
/// index `p` (ascending) two vectors of B and one broadcast of A per row, fused multiply-add.
/// Each output's sequence is the plain loop's: `acc = fma(a[r][p], b[p][c], acc)` from 0.
#[cfg(target_arch = "x86_64")]
mod avx512 {
	use super::{MR, NR};
	use core::arch::x86_64::*;

	#[target_feature(enable = "avx512f,fma")]
	pub unsafe fn tile(
		a: &[f32],
		first: usize,
		row_stride: usize,
		red_stride: usize,
		panel: &[f32],
		red: usize,
	) -> [[f32; NR]; MR] {
		let (pa, pb) = (a.as_ptr(), panel.as_ptr());
		let mut acc = [[_mm512_setzero_ps(); 2]; MR];
		let mut rows = [0usize; MR];
		for (r, row) in rows.iter_mut().enumerate() {
			*row = first + r * row_stride;
		}
		for p in 0..red {
			let b0 = _mm512_loadu_ps(pb.add(p * NR));
			let b1 = _mm512_loadu_ps(pb.add(p * NR + 16));
			let offset = p * red_stride;
			for r in 0..MR {
				let av = _mm512_set1_ps(*pa.add(rows[r] + offset));
				acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
				acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
			}
		}
		let mut out = [[0.0f32; NR]; MR];
		for r in 0..MR {
			_mm512_storeu_ps(out[r].as_mut_ptr(), acc[r][0]);
			_mm512_storeu_ps(out[r].as_mut_ptr().add(16), acc[r][1]);
		}
		out
	}
}

/// The micro-kernel: `R×NR` accumulators, reduction index ascending.
#[inline(always)]
fn tile<const R: usize>(op: &Operands<'_>, panel: &[f32], row0: usize) -> [[f32; NR]; R] {
	let mut acc = [[0.0f32; NR]; R];
	let mut a_index = [0usize; R];
	for (r, index) in a_index.iter_mut().enumerate() {
		*index = (row0 + r) * op.row_stride;
	}
	for b in panel.chunks_exact(NR) {
		let b: &[f32; NR] = b.try_into().unwrap_or(&[0.0; NR]);
		for r in 0..R {
			let av = op.a[a_index[r]];
			for c in 0..NR {
				acc[r][c] = av.mul_add(b[c], acc[r][c]);
			}
			a_index[r] += op.red_stride;
		}
	}
	acc
}

/// [`ops::apply_update`] compiled for `isa`.
pub fn apply_update(
	isa: Isa,
	update: Update,
	w: &mut [f32],
	g: &[f32],
	slot0: &mut [f32],
	slot1: &mut [f32],
) {
	dispatch!(isa, || ops::apply_update(update, w, g, slot0, slot1))
}

/// [`ops::activate`] compiled for `isa`.
pub fn activate(isa: Isa, activation: Activation, z: &[f32], out: &mut [f32]) {
	dispatch!(isa, || ops::activate(activation, z, out))
}

/// [`ops::activation_backward`] compiled for `isa`.
pub fn activation_backward(
	isa: Isa,
	activation: Activation,
	z: &[f32],
	a: &[f32],
	grad: &mut [f32],
) {
	dispatch!(isa, || ops::activation_backward(activation, z, a, grad))
}

/// [`ops::loss`] compiled for `isa`.
#[allow(clippy::too_many_arguments)]
pub fn loss(
	isa: Isa,
	kind: Loss,
	z: &[f32],
	targets: &[f32],
	grad: &mut [f32],
	row_losses: &mut [f32],
	m: usize,
	n: usize,
) {
	dispatch!(isa, || ops::loss(kind, z, targets, grad, row_losses, m, n))
}

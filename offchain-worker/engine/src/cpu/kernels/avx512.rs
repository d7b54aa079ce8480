//! The AVX-512 micro-kernel: a 12×32 tile in 24 zmm accumulators. For each reduction index,
//! two vectors of `B` and one broadcast of `A` per row; 24 independent fma chains hide the
//! fma latency on both of a core's FMA units. A tile cut by `C`'s edge runs with fewer rows
//! (a kernel per height) and masked loads and stores of its columns.

use core::arch::x86_64::*;

use super::{by_height, MicroKernel, Tile};

pub struct Avx512;

const MR: usize = 12;
const NR: usize = 32;

impl MicroKernel for Avx512 {
	const MR: usize = MR;
	const NR: usize = NR;

	unsafe fn tile(tile: Tile) {
		// SAFETY: the caller's contract is the kernel's, with `R = rows`.
		unsafe { by_height!(tile.rows, tile_of_height(tile), [12 11 10 9 8 7 6 5 4 3 2 1]) }
	}
}

/// The lanes of the vector starting at column `from` that lie before column `cols`.
#[inline(always)]
fn lanes(cols: usize, from: usize) -> __mmask16 {
	let n = cols.saturating_sub(from).min(16);
	((1u32 << n) - 1) as __mmask16
}

#[target_feature(enable = "avx512f,fma")]
unsafe fn tile_of_height<const R: usize>(tile: Tile) {
	let Tile { kc, mut a, a_rs, a_ps, mut b, c, ldc, cols, first, .. } = tile;
	let (m0, m1) = (lanes(cols, 0), lanes(cols, 16));
	// Masked lanes are never accessed, so the second vector's address may lie past `C`.
	let at = |r: usize, j: usize| c.wrapping_add(r * ldc + j);
	let mut acc = [[_mm512_setzero_ps(); 2]; R];
	if !first {
		for (r, row) in acc.iter_mut().enumerate() {
			row[0] = _mm512_maskz_loadu_ps(m0, at(r, 0));
			row[1] = _mm512_maskz_loadu_ps(m1, at(r, 16));
		}
	}
	for _ in 0..kc {
		let b0 = _mm512_loadu_ps(b);
		let b1 = _mm512_loadu_ps(b.add(16));
		for (r, row) in acc.iter_mut().enumerate() {
			let av = _mm512_set1_ps(*a.add(r * a_rs));
			row[0] = _mm512_fmadd_ps(av, b0, row[0]);
			row[1] = _mm512_fmadd_ps(av, b1, row[1]);
		}
		a = a.add(a_ps);
		b = b.add(NR);
	}
	for (r, row) in acc.iter().enumerate() {
		_mm512_mask_storeu_ps(at(r, 0), m0, row[0]);
		_mm512_mask_storeu_ps(at(r, 16), m1, row[1]);
	}
}

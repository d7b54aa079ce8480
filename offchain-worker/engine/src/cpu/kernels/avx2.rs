//! The AVX2 micro-kernel: a 6×16 tile in 12 ymm accumulators, with two vectors of `B` and
//! one broadcast of `A` in the remaining registers (16 ymm in all). 12 independent fma
//! chains hide the fma latency on both of a core's FMA units. A tile cut by `C`'s edge runs
//! with fewer rows (a kernel per height) and moves its columns through the stack (AVX2's
//! masked stores are slow on AMD).

use core::arch::x86_64::*;

use super::{by_height, MicroKernel, Tile};

pub struct Avx2;

const MR: usize = 6;
const NR: usize = 16;

impl MicroKernel for Avx2 {
	const MR: usize = MR;
	const NR: usize = NR;

	unsafe fn tile(tile: Tile) {
		// SAFETY: the caller's contract is the kernel's, with `R = rows`.
		unsafe { by_height!(tile.rows, tile_of_height(tile), [6 5 4 3 2 1]) }
	}
}

#[target_feature(enable = "avx2,fma")]
unsafe fn tile_of_height<const R: usize>(tile: Tile) {
	let Tile { kc, mut a, a_rs, a_ps, mut b, c, ldc, cols, first, .. } = tile;
	let mut acc = [[_mm256_setzero_ps(); 2]; R];
	if !first {
		for (r, row) in acc.iter_mut().enumerate() {
			if cols == NR {
				row[0] = _mm256_loadu_ps(c.add(r * ldc));
				row[1] = _mm256_loadu_ps(c.add(r * ldc + 8));
			} else {
				let mut edge = [0.0f32; NR];
				core::ptr::copy_nonoverlapping(c.add(r * ldc), edge.as_mut_ptr(), cols);
				row[0] = _mm256_loadu_ps(edge.as_ptr());
				row[1] = _mm256_loadu_ps(edge.as_ptr().add(8));
			}
		}
	}
	for _ in 0..kc {
		let b0 = _mm256_loadu_ps(b);
		let b1 = _mm256_loadu_ps(b.add(8));
		for (r, row) in acc.iter_mut().enumerate() {
			let av = _mm256_set1_ps(*a.add(r * a_rs));
			row[0] = _mm256_fmadd_ps(av, b0, row[0]);
			row[1] = _mm256_fmadd_ps(av, b1, row[1]);
		}
		a = a.add(a_ps);
		b = b.add(NR);
	}
	for (r, row) in acc.iter().enumerate() {
		if cols == NR {
			_mm256_storeu_ps(c.add(r * ldc), row[0]);
			_mm256_storeu_ps(c.add(r * ldc + 8), row[1]);
		} else {
			let mut edge = [0.0f32; NR];
			_mm256_storeu_ps(edge.as_mut_ptr(), row[0]);
			_mm256_storeu_ps(edge.as_mut_ptr().add(8), row[1]);
			core::ptr::copy_nonoverlapping(edge.as_ptr(), c.add(r * ldc), cols);
		}
	}
}

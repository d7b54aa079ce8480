//! The portable micro-kernel: a 4×16 tile of scalar `fmaf`, for CPUs without vector FMA and
//! as the plainest statement of what the vector kernels compute.

use super::{MicroKernel, Tile};

pub struct Portable;

const MR: usize = 4;
const NR: usize = 16;

impl MicroKernel for Portable {
	const MR: usize = MR;
	const NR: usize = NR;

	unsafe fn tile(tile: Tile) {
		let Tile { kc, a, a_rs, a_ps, b, c, ldc, rows, cols, first } = tile;
		let (rows, cols) = (rows.min(MR), cols.min(NR));
		let mut acc = [[0.0f32; NR]; MR];
		if !first {
			for (r, row) in acc.iter_mut().enumerate().take(rows) {
				// SAFETY: `c` addresses `rows` rows of `cols` floats `ldc` apart (the contract).
				let line = unsafe { core::slice::from_raw_parts(c.add(r * ldc), cols) };
				row[..cols].copy_from_slice(line);
			}
		}
		// SAFETY: `b` holds kc·NR floats (the contract).
		let b = unsafe { core::slice::from_raw_parts(b, kc * NR) };
		for (p, b) in b.chunks_exact(NR).enumerate() {
			for (r, row) in acc.iter_mut().enumerate().take(rows) {
				// SAFETY: `A(r, p)` is at `r·a_rs + p·a_ps` (the contract).
				let av = unsafe { *a.add(r * a_rs + p * a_ps) };
				for (out, &bv) in row.iter_mut().zip(b).take(cols) {
					*out = crate::math::fma(av, bv, *out);
				}
			}
		}
		for (r, row) in acc.iter().enumerate().take(rows) {
			// SAFETY: as above.
			let line = unsafe { core::slice::from_raw_parts_mut(c.add(r * ldc), cols) };
			line.copy_from_slice(&row[..cols]);
		}
	}
}

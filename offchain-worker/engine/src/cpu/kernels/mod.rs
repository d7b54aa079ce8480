//! The GEMM micro-kernels, one file per instruction set. Each computes one `MR×NR` tile of
//! outputs from packed operands and continues every output's fma chain where the previous
//! reduction slice left it, in ascending reduction order: the plain loop's sequence, kept in
//! registers and vectorized across the tile's independent columns.

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
pub mod portable;

/// One tile's operands: for `r < rows ≤ MR`, `j < cols ≤ NR`, `c[r·ldc + j]` becomes
/// `fma(a[r·a_rs + p·a_ps], b[p·NR + j], …)` over `p = 0 .. kc` in ascending order, starting
/// from `0.0` when `first`, else from the value in `c`.
#[derive(Clone, Copy)]
pub struct Tile {
	pub kc: usize,
	/// `A`: a packed panel (`a_rs = 1`, `a_ps = MR`) or the operand itself.
	pub a: *const f32,
	pub a_rs: usize,
	pub a_ps: usize,
	/// A packed panel of `B`, `NR` floats per reduction index.
	pub b: *const f32,
	pub c: *mut f32,
	pub ldc: usize,
	pub rows: usize,
	pub cols: usize,
	pub first: bool,
}

/// One instruction set's micro-kernel.
pub trait MicroKernel {
	/// Rows of the tile: broadcast from `A`.
	const MR: usize;
	/// Columns of the tile: whole vectors of the packed `B` panel.
	const NR: usize;

	/// Computes the tile (see [`Tile`]). A tile cut by `C`'s edge (`rows < MR` or `cols < NR`)
	/// touches nothing of `C` outside `rows × cols`.
	///
	/// # Safety
	/// `a` is readable at every `r·a_rs + p·a_ps` (`r < rows`, `p < kc`), `b` holds `kc·NR`
	/// floats; `c` addresses `rows` rows of `cols` floats `ldc` apart that nothing else reads or
	/// writes meanwhile; the CPU executes the kernel's instruction set.
	unsafe fn tile(tile: Tile);
}

/// Calls `$kernel::<R>($tile)` for `R = $rows`, one of the heights listed.
macro_rules! by_height {
	($rows:expr, $kernel:ident($tile:expr), [$($height:literal)*]) => {
		match $rows {
			$($height => $kernel::<$height>($tile),)*
			// The driver passes 1 ..= MR rows.
			_ => debug_assert!(false, "a tile of {} rows", $rows),
		}
	};
}
pub(super) use by_height;

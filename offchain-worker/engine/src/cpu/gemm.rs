//! The blocked product `C = A·B`, BLIS-style: `B` packed `KC×NC` at a time into panels of
//! the micro-kernel's width (kept in L2), `A` read one `MR×KC` panel at a time (kept in L1:
//! in place when its rows run along the reduction, as in the forward pass, else packed), and
//! the micro-kernel over every tile.
//!
//! Blocking never reorders a sum: each output's accumulator runs over the reduction index in
//! ascending order, and between reduction slices it waits in `C` (a store and a load of an
//! f32 are exact), so every output is the plain loop's fma chain from `0.0`. Threads split
//! the outputs into rectangles, never a sum, so any thread count gives the same bits.

use std::{cell::RefCell, ops::Range};

use super::{
	isa::Isa,
	kernels::{portable::Portable, MicroKernel, Tile},
};

/// The reduction slice per pass: long enough to hide loading and storing the accumulators,
/// short enough that an `A` panel (`MR·KC` floats, 12 KiB for AVX-512) stays in L1. (Cutting
/// 784 into four equal slices instead of 3 × 256 + 16 measured 3–5% slower.)
const KC: usize = 256;
/// Columns of `B` packed per pass: a `KC×NC` block is 512 KiB, within L2.
const NC: usize = 512;
/// Below this many multiply-adds (about 10 µs of one core) a product runs on the calling
/// thread alone: splitting it gains less than the hand-over and the packing each part repeats
/// (measured: no gain at 2¹⁷ on the digits MLP).
const PARALLEL_THRESHOLD: usize = 1 << 20;

/// The operands of one product: `A(row, p) = a[row·a_row + p·a_red]`,
/// `B(p, col) = b[p·b_red + col·b_col]`, `C` row-major `rows×cols`.
pub struct Operands<'a> {
	pub a: &'a [f32],
	pub a_row: usize,
	pub a_red: usize,
	pub b: &'a [f32],
	pub b_red: usize,
	pub b_col: usize,
	pub rows: usize,
	pub red: usize,
	pub cols: usize,
}

/// `c = A·B` with the plain loop's per-element order, in `threads` rectangles (the calling
/// thread's and `helpers`').
///
/// Panics when `c` is shorter than `rows·cols` or an operand shorter than its strides say.
pub fn run(
	isa: Isa,
	op: &Operands<'_>,
	c: &mut [f32],
	threads: usize,
	helpers: Option<&super::helpers::Helpers>,
) {
	match isa {
		#[cfg(target_arch = "x86_64")]
		Isa::Avx512 => run_with::<super::kernels::avx512::Avx512>(op, c, threads, helpers),
		#[cfg(target_arch = "x86_64")]
		Isa::Avx2 => run_with::<super::kernels::avx2::Avx2>(op, c, threads, helpers),
		_ => run_with::<Portable>(op, c, threads, helpers),
	}
}

/// `C`'s storage, shared by the threads that each write their own rectangle of it.
struct Output {
	ptr: *mut f32,
	cols: usize,
}

// SAFETY: the threads given one `Output` write disjoint rectangles (`split`), and the slice it
// points into stays borrowed mutably by `run_with` until they are all done.
unsafe impl Sync for Output {}

fn run_with<K: MicroKernel>(
	op: &Operands<'_>,
	c: &mut [f32],
	threads: usize,
	helpers: Option<&super::helpers::Helpers>,
) {
	// Checked: a wrapped product would let the kernels write past `c`.
	let outputs = op.rows.checked_mul(op.cols).expect("gemm: rows × cols overflows usize");
	let c = &mut c[..outputs];
	if c.is_empty() {
		return;
	}
	if op.red == 0 {
		c.fill(0.0);
		return;
	}
	check_operands(op);
	let out = Output { ptr: c.as_mut_ptr(), cols: op.cols };
	if outputs.saturating_mul(op.red) < PARALLEL_THRESHOLD || threads == 1 {
		product::<K>(op, &out, 0..op.rows, 0..op.cols);
		return;
	}
	super::share(helpers, split::<K>(op, threads), &|(rows, cols)| {
		product::<K>(op, &out, rows, cols)
	});
}

/// The last index either operand is read at must be inside it (the packing loops index
/// safely too; this says which operand was wrong). `C` is not empty. The arithmetic is
/// checked: the kernels read `A` in place, so a wrapped index would let them read past it.
fn check_operands(op: &Operands<'_>) {
	let last = |(n, stride): (usize, usize), (m, other): (usize, usize)| {
		(n - 1)
			.checked_mul(stride)
			.zip((m - 1).checked_mul(other))
			.and_then(|(x, y)| x.checked_add(y))
	};
	let last_a = last((op.rows, op.a_row), (op.red, op.a_red));
	let last_b = last((op.red, op.b_red), (op.cols, op.b_col));
	assert!(
		last_a.is_some_and(|last| last < op.a.len()),
		"gemm: A has {} floats, fewer than {} rows × {} with strides {} and {} need",
		op.a.len(),
		op.rows,
		op.red,
		op.a_row,
		op.a_red
	);
	assert!(
		last_b.is_some_and(|last| last < op.b.len()),
		"gemm: B has {} floats, fewer than {} × {} columns with strides {} and {} need",
		op.b.len(),
		op.red,
		op.cols,
		op.b_red,
		op.b_col
	);
}

/// One rectangle of `C` per thread: column ranges of whole panels when there are at least two
/// panels a thread (each thread then packs only its own part of `B`), else row ranges of
/// whole tiles.
fn split<K: MicroKernel>(op: &Operands<'_>, threads: usize) -> Vec<(Range<usize>, Range<usize>)> {
	let panels = op.cols.div_ceil(K::NR);
	let tiles = op.rows.div_ceil(K::MR);
	let ranges = |units: usize, width: usize, end: usize| -> Vec<Range<usize>> {
		let parts = threads.min(units).max(1);
		(0..parts)
			.map(|t| {
				(t * units / parts * width).min(end)..((t + 1) * units / parts * width).min(end)
			})
			.filter(|range| !range.is_empty())
			.collect()
	};
	if panels >= 2 * threads {
		ranges(panels, K::NR, op.cols).into_iter().map(|cols| (0..op.rows, cols)).collect()
	} else {
		ranges(tiles, K::MR, op.rows).into_iter().map(|rows| (rows, 0..op.cols)).collect()
	}
}

/// Packing buffers, reused by each thread across products.
#[derive(Default)]
struct Packed {
	a: Vec<f32>,
	b: Vec<f32>,
}

thread_local! {
	static PACKED: RefCell<Packed> = RefCell::new(Packed::default());
}

/// The outputs `rows × cols` of `C`.
fn product<K: MicroKernel>(
	op: &Operands<'_>,
	out: &Output,
	rows: Range<usize>,
	cols: Range<usize>,
) {
	PACKED.with(|packed| {
		let packed = &mut *packed.borrow_mut();
		for jc in cols.clone().step_by(NC) {
			let nc = NC.min(cols.end - jc);
			let panels = nc.div_ceil(K::NR);
			for pc in (0..op.red).step_by(KC) {
				let kc = KC.min(op.red - pc);
				let b = aligned(&mut packed.b, panels * kc * K::NR);
				pack_b::<K>(op, pc..pc + kc, jc..jc + nc, b);
				for ir in rows.clone().step_by(K::MR) {
					let mr = K::MR.min(rows.end - ir);
					let a = if op.a_red == 1 {
						// Rows contiguous along the reduction: read in place.
						PanelA::InPlace { start: ir * op.a_row + pc }
					} else {
						let a = aligned(&mut packed.a, K::MR * kc);
						pack_a::<K>(op, ir..ir + mr, pc..pc + kc, a);
						PanelA::Packed(a)
					};
					for (u, panel) in b.chunks_exact(kc * K::NR).enumerate() {
						let j = jc + u * K::NR;
						let nr = K::NR.min(jc + nc - j);
						tile::<K>(op, out, (ir, mr), (j, nr), kc, &a, panel, pc == 0);
					}
				}
			}
		}
	})
}

/// Where a tile's rows of `A` come from.
enum PanelA<'a> {
	/// A packed panel: `A(r, p)` at `r + p·MR`.
	Packed(&'a [f32]),
	/// `op.a` itself: `A(r, p)` at `start + r·a_row + p` (rows contiguous along the reduction).
	InPlace { start: usize },
}

/// The micro-kernel on the tile at row `ir`, column `j`, cut to `mr × nr` at `C`'s edge.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile<K: MicroKernel>(
	op: &Operands<'_>,
	out: &Output,
	(ir, mr): (usize, usize),
	(j, nr): (usize, usize),
	kc: usize,
	a: &PanelA<'_>,
	b: &[f32],
	first: bool,
) {
	debug_assert!(b.len() >= kc * K::NR);
	let (a_ptr, a_rs, a_ps) = match a {
		PanelA::Packed(panel) => {
			debug_assert!(panel.len() >= kc * K::MR);
			(panel.as_ptr(), 1, K::MR)
		},
		// SAFETY: `start` is `A(ir, pc)`, an index inside `op.a` (`check_operands`).
		PanelA::InPlace { start } => (unsafe { op.a.as_ptr().add(*start) }, op.a_row, 1),
	};
	// SAFETY: `A(ir + r, pc + p)` for `r < mr`, `p < kc` lies inside the packed panel or inside
	// `op.a` (`check_operands` checked the last index); `b` is a packed panel of `kc·NR` floats;
	// rows `ir .. ir + mr` and columns `j .. j + nr` lie inside `C` and inside this thread's
	// rectangle, which no other thread touches; the kernel's set is one `Isa::check` accepted
	// (`run` takes it from the `Cpu`).
	unsafe {
		K::tile(Tile {
			kc,
			a: a_ptr,
			a_rs,
			a_ps,
			b: b.as_ptr(),
			c: out.ptr.add(ir * out.cols + j),
			ldc: out.cols,
			rows: mr,
			cols: nr,
			first,
		})
	};
}

/// `len` floats of `buffer` starting on a 64-byte boundary, so that no vector load of a
/// packed panel straddles two cache lines.
fn aligned(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
	const LINE: usize = 16;
	if buffer.len() < len + LINE {
		buffer.resize(len + LINE, 0.0);
	}
	let offset = buffer.as_ptr().align_offset(64).min(LINE);
	&mut buffer[offset..offset + len]
}

/// `A`'s rows `rows` × reduction `red` as one panel: `dst[p·MR + r] = A(rows.start + r,
/// red.start + p)`. Rows past `C`'s edge are left as they are: the kernel reads only `rows`.
fn pack_a<K: MicroKernel>(
	op: &Operands<'_>,
	rows: Range<usize>,
	red: Range<usize>,
	dst: &mut [f32],
) {
	if op.a_row == 1 {
		// Rows contiguous (a transposed operand): each line of the panel is one copy.
		for (p, k) in red.enumerate() {
			let start = rows.start + k * op.a_red;
			dst[p * K::MR..p * K::MR + rows.len()]
				.copy_from_slice(&op.a[start..start + rows.len()]);
		}
	} else {
		for (p, k) in red.enumerate() {
			let line = &mut dst[p * K::MR..p * K::MR + rows.len()];
			for (v, row) in line.iter_mut().zip(rows.clone()) {
				*v = op.a[row * op.a_row + k * op.a_red];
			}
		}
	}
}

/// `B`'s reduction `red` × columns `cols` as panels of `NR` columns: `dst[u·kc·NR + p·NR + j]
/// = B(red.start + p, cols.start + u·NR + j)`. Columns past `C`'s edge are left as they are:
/// the kernel computes them in lanes it never stores.
fn pack_b<K: MicroKernel>(
	op: &Operands<'_>,
	red: Range<usize>,
	cols: Range<usize>,
	dst: &mut [f32],
) {
	let kc = red.len();
	for (panel, u) in dst.chunks_exact_mut(kc * K::NR).zip((cols.start..cols.end).step_by(K::NR)) {
		let width = K::NR.min(cols.end - u);
		if op.b_col == 1 {
			for (line, k) in panel.chunks_exact_mut(K::NR).zip(red.clone()) {
				let start = k * op.b_red + u;
				if width == K::NR {
					// A copy of constant length: vector moves, not a call to memcpy.
					line.copy_from_slice(&op.b[start..start + K::NR]);
				} else {
					line[..width].copy_from_slice(&op.b[start..start + width]);
				}
			}
		} else if op.b_red == 1 {
			// Columns contiguous along the reduction (`wᵀ` read in place).
			for col in 0..width {
				let start = (u + col) * op.b_col + red.start;
				for (p, &v) in op.b[start..start + kc].iter().enumerate() {
					panel[p * K::NR + col] = v;
				}
			}
		} else {
			for col in 0..width {
				let start = (u + col) * op.b_col;
				for (p, k) in red.clone().enumerate() {
					panel[p * K::NR + col] = op.b[start + k * op.b_red];
				}
			}
		}
	}
}

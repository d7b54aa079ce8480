//! The fast CPU backend: cache-blocked GEMM with a micro-kernel per instruction set, SIMD
//! over independent outputs, threads over rectangles of outputs. Every output element still
//! goes through exactly the plain loop's sequence of operations (see [`crate::ops`]), so
//! results are bitwise equal to the reference for any thread count, instruction set and
//! SIMD width.

mod elementwise;
mod gemm;
mod helpers;
mod isa;
mod kernels;

pub use isa::{Isa, ISA_ENV};

use decenter_primitives::spec::{Activation, Loss};

use crate::{
	backend::{Backend, DeviceError},
	ops::Update,
};

/// The CPU backend: the calling thread and `threads − 1` helper threads of its own.
pub struct Cpu {
	/// `None` with one thread: everything runs on the caller, with no hand-over between
	/// threads (a hand-over costs more than a small product).
	helpers: Option<helpers::Helpers>,
	threads: usize,
	isa: Isa,
}

/// Runs `work` on every job: the first on the calling thread, the others on `helpers` (or
/// after it, on the caller, without helpers); returns when all are done.
fn share<J: Send>(helpers: Option<&helpers::Helpers>, jobs: Vec<J>, work: &(impl Fn(J) + Sync)) {
	match helpers {
		Some(helpers) => {
			// Each job is taken once, by the thread that runs its index.
			let jobs: Vec<std::sync::Mutex<Option<J>>> =
				jobs.into_iter().map(|job| std::sync::Mutex::new(Some(job))).collect();
			helpers.run(jobs.len(), &|i| {
				let job = jobs[i].lock().ok().and_then(|mut slot| slot.take());
				if let Some(job) = job {
					work(job);
				}
			});
		},
		None => jobs.into_iter().for_each(work),
	}
}

impl Cpu {
	/// A backend using `threads` threads (0: one per core) and the best instruction set of
	/// this CPU, or the one `DECENTER_CPU_ISA` forces.
	pub fn new(threads: usize) -> Result<Self, DeviceError> {
		Self::with_isa(threads, Isa::from_env().map_err(DeviceError)?)
	}

	/// A backend using `threads` threads (0: one per core) and instruction set `isa`; an error
	/// when this CPU cannot execute it.
	pub fn with_isa(threads: usize, isa: Isa) -> Result<Self, DeviceError> {
		isa.check().map_err(DeviceError)?;
		let threads = if threads == 0 {
			std::thread::available_parallelism().map_or(1, |n| n.get())
		} else {
			threads
		};
		let helpers = if threads > 1 {
			let helpers = helpers::Helpers::new(threads - 1)
				.map_err(|e| DeviceError(format!("cannot start {threads} CPU threads: {e}")))?;
			Some(helpers)
		} else {
			None
		};
		Ok(Cpu { helpers, threads, isa })
	}

	/// Threads in use.
	pub fn threads(&self) -> usize {
		self.threads
	}

	/// The instruction set of its kernels.
	pub fn isa(&self) -> Isa {
		self.isa
	}

	/// `C[rows×cols] = Σ_p A(row, p)·B[p][col]` with the plain loop's order, where
	/// `A(row, p) = a[row·row_stride + p·red_stride]` and `B` is row-major `red×cols`.
	#[allow(clippy::too_many_arguments)]
	pub fn gemm(
		&self,
		a: &[f32],
		row_stride: usize,
		red_stride: usize,
		b: &[f32],
		c: &mut [f32],
		rows: usize,
		red: usize,
		cols: usize,
	) {
		let operands = gemm::Operands {
			a,
			a_row: row_stride,
			a_red: red_stride,
			b,
			b_red: cols,
			b_col: 1,
			rows,
			red,
			cols,
		};
		gemm::run(self.isa, &operands, c, self.threads, self.helpers.as_ref());
	}
}

impl Backend for Cpu {
	type Tensor = Vec<f32>;

	fn name(&self) -> String {
		format!("cpu ({} threads, {})", self.threads, self.isa.name())
	}

	fn zeros(&self, len: usize) -> Result<Vec<f32>, DeviceError> {
		Ok(vec![0.0; len])
	}

	fn upload(&self, data: &[f32]) -> Result<Vec<f32>, DeviceError> {
		Ok(data.to_vec())
	}

	fn write(&self, data: &[f32], dst: &mut Vec<f32>) -> Result<(), DeviceError> {
		dst.clear();
		dst.extend_from_slice(data);
		Ok(())
	}

	fn download(&self, t: &Vec<f32>) -> Result<Vec<f32>, DeviceError> {
		Ok(t.clone())
	}

	fn dense_forward(
		&self,
		a: &Vec<f32>,
		w: &Vec<f32>,
		bias: &Vec<f32>,
		z: &mut Vec<f32>,
		m: usize,
		k: usize,
		n: usize,
	) -> Result<(), DeviceError> {
		self.gemm(a, k, 1, w, z, m, k, n);
		for row in z.chunks_exact_mut(n) {
			for (v, b) in row.iter_mut().zip(bias) {
				*v += *b;
			}
		}
		Ok(())
	}

	fn dense_backward_params(
		&self,
		a: &Vec<f32>,
		dz: &Vec<f32>,
		dw: &mut Vec<f32>,
		db: &mut Vec<f32>,
		m: usize,
		k: usize,
		n: usize,
	) -> Result<(), DeviceError> {
		// Rows of dW are input features p; the sum runs over the batch: A(p, i) = a[i·k + p].
		self.gemm(a, 1, k, dz, dw, k, m, n);
		// Column sums, rows in ascending order, vectorized over columns.
		db.iter_mut().for_each(|v| *v = 0.0);
		for row in dz.chunks_exact(n).take(m) {
			for (acc, v) in db.iter_mut().zip(row) {
				*acc += *v;
			}
		}
		Ok(())
	}

	fn dense_backward_input(
		&self,
		dz: &Vec<f32>,
		w: &Vec<f32>,
		da: &mut Vec<f32>,
		m: usize,
		k: usize,
		n: usize,
	) -> Result<(), DeviceError> {
		// B = wᵀ read in place: B(j, p) = w[p·n + j]; packing gathers it.
		let operands = gemm::Operands {
			a: dz,
			a_row: n,
			a_red: 1,
			b: w,
			b_red: 1,
			b_col: n,
			rows: m,
			red: n,
			cols: k,
		};
		gemm::run(self.isa, &operands, da, self.threads, self.helpers.as_ref());
		Ok(())
	}

	fn activate(
		&self,
		activation: Activation,
		z: &Vec<f32>,
		out: &mut Vec<f32>,
	) -> Result<(), DeviceError> {
		elementwise::activate(self.isa, activation, z, out);
		Ok(())
	}

	fn activation_backward(
		&self,
		activation: Activation,
		z: &Vec<f32>,
		a: &Vec<f32>,
		grad: &mut Vec<f32>,
	) -> Result<(), DeviceError> {
		elementwise::activation_backward(self.isa, activation, z, a, grad);
		Ok(())
	}

	fn loss(
		&self,
		loss: Loss,
		z: &Vec<f32>,
		targets: &Vec<f32>,
		grad: &mut Vec<f32>,
		row_losses: &mut Vec<f32>,
		m: usize,
		n: usize,
	) -> Result<(), DeviceError> {
		elementwise::loss(self.isa, loss, z, targets, grad, row_losses, m, n);
		Ok(())
	}

	fn update(
		&self,
		update: Update,
		w: &mut Vec<f32>,
		g: &Vec<f32>,
		slot0: &mut Vec<f32>,
		slot1: &mut Vec<f32>,
	) -> Result<(), DeviceError> {
		// Element-wise: any split over threads gives the same bits. One part per thread, in
		// whole vectors; short tensors stay on the caller (a hand-over costs more).
		const MIN_PART: usize = 16 * 1024;
		let isa = self.isa;
		let parts = self.threads.min(w.len() / MIN_PART);
		if parts < 2 {
			elementwise::apply_update(isa, update, w, g, slot0, slot1);
			return Ok(());
		}
		let chunk = w.len().div_ceil(parts).next_multiple_of(16);
		// Unused slots are empty: they give empty chunks.
		fn chunks(slot: &mut [f32], used: bool, chunk: usize) -> Vec<&mut [f32]> {
			if used {
				slot.chunks_mut(chunk).collect()
			} else {
				Vec::new()
			}
		}
		let mut first = chunks(slot0, update.slots() > 0, chunk).into_iter();
		let mut second = chunks(slot1, update.slots() > 1, chunk).into_iter();
		let parts: Vec<_> = w
			.chunks_mut(chunk)
			.zip(g.chunks(chunk))
			.map(|(w, g)| {
				(w, g, first.next().unwrap_or_default(), second.next().unwrap_or_default())
			})
			.collect();
		share(self.helpers.as_ref(), parts, &|(w, g, a, b)| {
			elementwise::apply_update(isa, update, w, g, a, b)
		});
		Ok(())
	}
}

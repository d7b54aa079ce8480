//! The fast CPU backend: cache-blocked, SIMD over independent outputs, threads over rows.
//! Every output element still goes through exactly the plain loop's sequence of
//! operations (see [`crate::ops`]), so results are bitwise equal to the reference for any
//! thread count and any SIMD width.

mod gemm;

use std::sync::Mutex;

use decenter_primitives::spec::{Activation, Loss};

use crate::{
	backend::{Backend, DeviceError},
	ops::Update,
};

/// The CPU backend with its own pool of threads.
pub struct Cpu {
	pool: rayon::ThreadPool,
	threads: usize,
	isa: gemm::Isa,
	/// Scratch for `wᵀ` in [`Backend::dense_backward_input`].
	transposed: Mutex<Vec<f32>>,
}

impl Cpu {
	/// A backend using `threads` threads (0: one per core).
	pub fn new(threads: usize) -> Result<Self, DeviceError> {
		let threads = if threads == 0 {
			std::thread::available_parallelism().map_or(1, |n| n.get())
		} else {
			threads
		};
		let pool = rayon::ThreadPoolBuilder::new()
			.num_threads(threads)
			.thread_name(|i| format!("decenter-cpu-{i}"))
			.build()
			.map_err(|e| DeviceError(format!("cannot start {threads} CPU threads: {e}")))?;
		Ok(Cpu { pool, threads, isa: gemm::Isa::detect(), transposed: Mutex::new(Vec::new()) })
	}

	/// Threads in use.
	pub fn threads(&self) -> usize {
		self.threads
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
		let operands = gemm::Operands { a, row_stride, red_stride, b, rows, red, cols };
		self.pool.install(|| gemm::run(self.isa, &operands, c));
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
		let mut wt =
			self.transposed.lock().map_err(|_| DeviceError("CPU scratch poisoned".into()))?;
		wt.resize(k * n, 0.0);
		for p in 0..k {
			for j in 0..n {
				wt[j * k + p] = w[p * n + j];
			}
		}
		self.gemm(dz, n, 1, &wt, da, m, n, k);
		Ok(())
	}

	fn activate(
		&self,
		activation: Activation,
		z: &Vec<f32>,
		out: &mut Vec<f32>,
	) -> Result<(), DeviceError> {
		gemm::activate(self.isa, activation, z, out);
		Ok(())
	}

	fn activation_backward(
		&self,
		activation: Activation,
		z: &Vec<f32>,
		a: &Vec<f32>,
		grad: &mut Vec<f32>,
	) -> Result<(), DeviceError> {
		gemm::activation_backward(self.isa, activation, z, a, grad);
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
		gemm::loss(self.isa, loss, z, targets, grad, row_losses, m, n);
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
		// Element-wise: any split over threads gives the same bits.
		const CHUNK: usize = 16 * 1024;
		let isa = self.isa;
		if w.len() < 2 * CHUNK || self.threads == 1 {
			gemm::apply_update(isa, update, w, g, slot0, slot1);
			return Ok(());
		}
		// Unused slots are empty: they give empty chunks.
		fn chunks(slot: &mut [f32], used: bool) -> Vec<&mut [f32]> {
			if used {
				slot.chunks_mut(CHUNK).collect()
			} else {
				Vec::new()
			}
		}
		let mut first = chunks(slot0, update.slots() > 0).into_iter();
		let mut second = chunks(slot1, update.slots() > 1).into_iter();
		let parts: Vec<_> = w
			.chunks_mut(CHUNK)
			.zip(g.chunks(CHUNK))
			.map(|(w, g)| {
				(w, g, first.next().unwrap_or_default(), second.next().unwrap_or_default())
			})
			.collect();
		self.pool.install(|| {
			use rayon::prelude::*;
			parts
				.into_par_iter()
				.for_each(|(w, g, a, b)| gemm::apply_update(isa, update, w, g, a, b));
		});
		Ok(())
	}
}

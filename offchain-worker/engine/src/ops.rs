//! The operations of a training step, each defined by one plain loop. These loops *are*
//! the specification: every backend must produce the same bits as them (the CPU backend
//! by running the same per-element sequence of operations in blocks and threads, the CUDA
//! kernels by running it in one thread per output).
//!
//! Matrices are row-major `f32` slices. Every sum starts from `0.0` and accumulates in
//! ascending index order with [`fma`] (or `+` for plain sums).

use decenter_primitives::spec::{Activation, Loss};

use crate::math::{exp, fma, ln, tanh};

/// `z[i][j] = (Σ_p a[i][p]·w[p][j]) + bias[j]` for `a: m×k`, `w: k×n`.
#[inline]
pub fn dense_forward(
	a: &[f32],
	w: &[f32],
	bias: &[f32],
	z: &mut [f32],
	m: usize,
	k: usize,
	n: usize,
) {
	for i in 0..m {
		for j in 0..n {
			let mut acc = 0.0f32;
			for p in 0..k {
				acc = fma(a[i * k + p], w[p * n + j], acc);
			}
			z[i * n + j] = acc + bias[j];
		}
	}
}

/// `dw[p][j] = Σ_i a[i][p]·dz[i][j]` and `db[j] = Σ_i dz[i][j]`, for `a: m×k`, `dz: m×n`.
#[inline]
pub fn dense_backward_params(
	a: &[f32],
	dz: &[f32],
	dw: &mut [f32],
	db: &mut [f32],
	m: usize,
	k: usize,
	n: usize,
) {
	for p in 0..k {
		for j in 0..n {
			let mut acc = 0.0f32;
			for i in 0..m {
				acc = fma(a[i * k + p], dz[i * n + j], acc);
			}
			dw[p * n + j] = acc;
		}
	}
	column_sums(dz, db, m, n);
}

/// `db[j] = Σ_i dz[i][j]` in ascending `i`.
#[inline]
pub fn column_sums(dz: &[f32], db: &mut [f32], m: usize, n: usize) {
	for j in 0..n {
		let mut acc = 0.0f32;
		for i in 0..m {
			acc += dz[i * n + j];
		}
		db[j] = acc;
	}
}

/// `da[i][p] = Σ_j dz[i][j]·w[p][j]`, for `dz: m×n`, `w: k×n`.
#[inline]
pub fn dense_backward_input(dz: &[f32], w: &[f32], da: &mut [f32], m: usize, k: usize, n: usize) {
	for i in 0..m {
		for p in 0..k {
			let mut acc = 0.0f32;
			for j in 0..n {
				acc = fma(dz[i * n + j], w[p * n + j], acc);
			}
			da[i * k + p] = acc;
		}
	}
}

/// `out = act(z)` element-wise.
#[inline]
pub fn activate(activation: Activation, z: &[f32], out: &mut [f32]) {
	match activation {
		Activation::Relu => {
			for (o, &x) in out.iter_mut().zip(z) {
				*o = if x > 0.0 { x } else { 0.0 };
			}
		},
		Activation::Tanh => {
			for (o, &x) in out.iter_mut().zip(z) {
				*o = tanh(x);
			}
		},
	}
}

/// Turns `grad = ∂L/∂a` into `∂L/∂z` in place: ReLU passes it where `z > 0`; tanh
/// multiplies it by `1 − a²` (computed as `fma(−a, a, 1)`).
#[inline]
pub fn activation_backward(activation: Activation, z: &[f32], a: &[f32], grad: &mut [f32]) {
	match activation {
		Activation::Relu => {
			for (g, &x) in grad.iter_mut().zip(z) {
				if !(x > 0.0) {
					*g = 0.0;
				}
			}
		},
		Activation::Tanh => {
			for (g, &y) in grad.iter_mut().zip(a) {
				*g *= fma(-y, y, 1.0);
			}
		},
	}
}

/// Per-row loss and the gradient of the batch-mean loss, for outputs `z: m×n`.
///
/// Cross-entropy: `targets` holds one class index per row (as f32); with `μ = max_j z`,
/// `e_j = exp(z_j − μ)`, `s = Σ_j e_j`: `row_loss = ln(s) − (z_y − μ)`,
/// `grad_j = (e_j/s − [j = y]) / m`.
/// MSE: `targets: m×n`; `d = z − t`, `row_loss = Σ_j d²` (by fma),
/// `grad_j = (d + d) / (m·n)`.
#[inline]
pub fn loss(
	loss: Loss,
	z: &[f32],
	targets: &[f32],
	grad: &mut [f32],
	row_losses: &mut [f32],
	m: usize,
	n: usize,
) {
	match loss {
		Loss::SoftmaxCrossEntropy => {
			let batch = m as f32;
			for i in 0..m {
				let row = &z[i * n..(i + 1) * n];
				let label = targets[i] as usize;
				let mut max = row[0];
				for &v in &row[1..] {
					if v > max {
						max = v;
					}
				}
				let g = &mut grad[i * n..(i + 1) * n];
				let mut sum = 0.0f32;
				for j in 0..n {
					let e = exp(row[j] - max);
					g[j] = e;
					sum += e;
				}
				for j in 0..n {
					let p = g[j] / sum;
					let t = if j == label { 1.0 } else { 0.0 };
					g[j] = (p - t) / batch;
				}
				row_losses[i] = ln(sum) - (row[label] - max);
			}
		},
		Loss::MeanSquaredError => {
			let denom = (m * n) as f32;
			for i in 0..m {
				let mut acc = 0.0f32;
				for j in 0..n {
					let d = z[i * n + j] - targets[i * n + j];
					acc = fma(d, d, acc);
					grad[i * n + j] = (d + d) / denom;
				}
				row_losses[i] = acc;
			}
		},
	}
}

/// The mean loss of a batch from its row losses: `Σ_i row_loss` in order, then divided
/// by `m` (cross-entropy) or `m·n` (MSE).
#[inline]
pub fn batch_loss(loss: Loss, row_losses: &[f32], n: usize) -> f32 {
	let mut total = 0.0f32;
	for &l in row_losses {
		total += l;
	}
	let m = row_losses.len();
	match loss {
		Loss::SoftmaxCrossEntropy => total / m as f32,
		Loss::MeanSquaredError => total / (m * n) as f32,
	}
}

/// Hyperparameters of one optimizer update, already as f32.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Update {
	/// `w ← fma(−lr, g, w)`.
	Sgd { lr: f32 },
	/// `v ← fma(μ, v, g)`, `w ← fma(−lr, v, w)`.
	Momentum { lr: f32, momentum: f32 },
	/// `m ← fma(β₁, m, (1−β₁)·g)`, `v ← fma(β₂, v, ((1−β₂)·g)·g)`,
	/// `w ← fma(−lr, (m/c₁) / (√(v/c₂) + ε), w)` with `c₁ = 1 − β₁ᵗ`, `c₂ = 1 − β₂ᵗ`.
	Adam { lr: f32, beta1: f32, beta2: f32, epsilon: f32, correction1: f32, correction2: f32 },
}

impl Update {
	/// Optimizer state slots per parameter tensor.
	pub fn slots(&self) -> usize {
		match self {
			Update::Sgd { .. } => 0,
			Update::Momentum { .. } => 1,
			Update::Adam { .. } => 2,
		}
	}
}

/// Applies `update` to `w` with gradient `g` and state `slot0` (velocity or first
/// moment) and `slot1` (second moment), which may be empty when unused.
#[inline]
pub fn apply_update(
	update: Update,
	w: &mut [f32],
	g: &[f32],
	slot0: &mut [f32],
	slot1: &mut [f32],
) {
	match update {
		Update::Sgd { lr } => {
			for (w, &g) in w.iter_mut().zip(g) {
				*w = fma(-lr, g, *w);
			}
		},
		Update::Momentum { lr, momentum } => {
			for ((w, &g), v) in w.iter_mut().zip(g).zip(slot0.iter_mut()) {
				*v = fma(momentum, *v, g);
				*w = fma(-lr, *v, *w);
			}
		},
		Update::Adam { lr, beta1, beta2, epsilon, correction1, correction2 } => {
			let one_minus_beta1 = 1.0 - beta1;
			let one_minus_beta2 = 1.0 - beta2;
			for (((w, &g), m), v) in w.iter_mut().zip(g).zip(slot0.iter_mut()).zip(slot1.iter_mut())
			{
				*m = fma(beta1, *m, one_minus_beta1 * g);
				*v = fma(beta2, *v, (one_minus_beta2 * g) * g);
				let m_hat = *m / correction1;
				let v_hat = *v / correction2;
				*w = fma(-lr, m_hat / (crate::math::sqrt(v_hat) + epsilon), *w);
			}
		},
	}
}

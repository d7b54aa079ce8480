// The operations of a training step on the GPU: the mirror of src/ops.rs, one thread per output
// element (per row for the losses), every sum in ascending index order with dm_fma, no atomics,
// no shared-memory reductions. Each `*_at` body computes one output; the kernels below map a
// thread to it, and the host build of the CPU-side tests maps an emulated grid to it.
//
// Compiled after detmath.cuh (the Rust side joins the two files).

typedef unsigned int dm_u32;

#define DM_EACH(idx, count) if ((idx) >= (count)) return

DM_INLINE void dense_forward_at(dm_u32 idx, const float *a, const float *w, const float *bias,
	float *z, dm_u32 m, dm_u32 k, dm_u32 n) {
	DM_EACH(idx, m * n);
	dm_u32 i = idx / n, j = idx % n;
	float acc = 0.0f;
	for (dm_u32 p = 0; p < k; ++p) acc = dm_fma(a[i * k + p], w[p * n + j], acc);
	z[idx] = acc + bias[j];
}

DM_INLINE void dense_backward_weights_at(dm_u32 idx, const float *a, const float *dz, float *dw,
	dm_u32 m, dm_u32 k, dm_u32 n) {
	DM_EACH(idx, k * n);
	dm_u32 p = idx / n, j = idx % n;
	float acc = 0.0f;
	for (dm_u32 i = 0; i < m; ++i) acc = dm_fma(a[i * k + p], dz[i * n + j], acc);
	dw[idx] = acc;
}

DM_INLINE void column_sums_at(dm_u32 j, const float *dz, float *db, dm_u32 m, dm_u32 n) {
	DM_EACH(j, n);
	float acc = 0.0f;
	for (dm_u32 i = 0; i < m; ++i) acc = acc + dz[i * n + j];
	db[j] = acc;
}

DM_INLINE void dense_backward_input_at(dm_u32 idx, const float *dz, const float *w, float *da,
	dm_u32 m, dm_u32 k, dm_u32 n) {
	DM_EACH(idx, m * k);
	dm_u32 i = idx / k, p = idx % k;
	float acc = 0.0f;
	for (dm_u32 j = 0; j < n; ++j) acc = dm_fma(dz[i * n + j], w[p * n + j], acc);
	da[idx] = acc;
}

DM_INLINE void relu_at(dm_u32 idx, const float *z, float *out, dm_u32 len) {
	DM_EACH(idx, len);
	float x = z[idx];
	out[idx] = dm_select(dm_positive(x), x, 0.0f);
}

DM_INLINE void tanh_at(dm_u32 idx, const float *z, float *out, dm_u32 len) {
	DM_EACH(idx, len);
	out[idx] = dm_tanh(z[idx]);
}

DM_INLINE void relu_backward_at(dm_u32 idx, const float *z, float *grad, dm_u32 len) {
	DM_EACH(idx, len);
	if (!dm_positive(z[idx])) grad[idx] = 0.0f;
}

DM_INLINE void tanh_backward_at(dm_u32 idx, const float *a, float *grad, dm_u32 len) {
	DM_EACH(idx, len);
	float y = a[idx];
	grad[idx] = grad[idx] * dm_fma(-y, y, 1.0f);
}

// One row of softmax cross-entropy; a label outside the row gives a NaN loss (an error).
DM_INLINE void cross_entropy_at(dm_u32 i, const float *z, const float *targets, float *grad,
	float *row_losses, dm_u32 m, dm_u32 n) {
	DM_EACH(i, m);
	const float *row = z + i * n;
	float *g = grad + i * n;
	float label_f = targets[i];
	if (!(label_f >= 0.0f) || !(label_f < (float)n)) {
		row_losses[i] = DM_NAN;
		return;
	}
	dm_u32 label = (dm_u32)label_f;
	float max = row[0];
	for (dm_u32 j = 1; j < n; ++j) max = dm_select(row[j] > max, row[j], max);
	float sum = 0.0f;
	for (dm_u32 j = 0; j < n; ++j) {
		float e = dm_exp(row[j] - max);
		g[j] = e;
		sum = sum + e;
	}
	float batch = (float)m;
	for (dm_u32 j = 0; j < n; ++j) {
		float p = g[j] / sum;
		float t = j == label ? 1.0f : 0.0f;
		g[j] = (p - t) / batch;
	}
	row_losses[i] = dm_ln(sum) - (row[label] - max);
}

DM_INLINE void mean_squared_error_at(dm_u32 i, const float *z, const float *targets, float *grad,
	float *row_losses, dm_u32 m, dm_u32 n) {
	DM_EACH(i, m);
	float denom = (float)(m * n);
	float acc = 0.0f;
	for (dm_u32 j = 0; j < n; ++j) {
		float d = z[i * n + j] - targets[i * n + j];
		acc = dm_fma(d, d, acc);
		grad[i * n + j] = (d + d) / denom;
	}
	row_losses[i] = acc;
}

DM_INLINE void sgd_at(dm_u32 idx, float *w, const float *g, dm_u32 len, float lr) {
	DM_EACH(idx, len);
	w[idx] = dm_fma(-lr, g[idx], w[idx]);
}

DM_INLINE void momentum_at(dm_u32 idx, float *w, const float *g, float *v, dm_u32 len, float lr,
	float momentum) {
	DM_EACH(idx, len);
	float velocity = dm_fma(momentum, v[idx], g[idx]);
	v[idx] = velocity;
	w[idx] = dm_fma(-lr, velocity, w[idx]);
}

// one_minus_beta1/2 are computed once on the host, as src/ops.rs does.
DM_INLINE void adam_at(dm_u32 idx, float *w, const float *g, float *m1, float *m2, dm_u32 len,
	float lr, float beta1, float beta2, float epsilon, float correction1, float correction2,
	float one_minus_beta1, float one_minus_beta2) {
	DM_EACH(idx, len);
	float grad = g[idx];
	float m = dm_fma(beta1, m1[idx], one_minus_beta1 * grad);
	float v = dm_fma(beta2, m2[idx], (one_minus_beta2 * grad) * grad);
	m1[idx] = m;
	m2[idx] = v;
	float m_hat = m / correction1;
	float v_hat = v / correction2;
	w[idx] = dm_fma(-lr, m_hat / (dm_sqrt(v_hat) + epsilon), w[idx]);
}

#ifdef __CUDACC__
#define DM_THREAD (blockIdx.x * blockDim.x + threadIdx.x)

extern "C" __global__ void dense_forward(const float *a, const float *w, const float *bias, float *z,
	dm_u32 m, dm_u32 k, dm_u32 n) {
	dense_forward_at(DM_THREAD, a, w, bias, z, m, k, n);
}

extern "C" __global__ void dense_backward_weights(const float *a, const float *dz, float *dw,
	dm_u32 m, dm_u32 k, dm_u32 n) {
	dense_backward_weights_at(DM_THREAD, a, dz, dw, m, k, n);
}

extern "C" __global__ void column_sums(const float *dz, float *db, dm_u32 m, dm_u32 n) {
	column_sums_at(DM_THREAD, dz, db, m, n);
}

extern "C" __global__ void dense_backward_input(const float *dz, const float *w, float *da,
	dm_u32 m, dm_u32 k, dm_u32 n) {
	dense_backward_input_at(DM_THREAD, dz, w, da, m, k, n);
}

extern "C" __global__ void relu(const float *z, float *out, dm_u32 len) {
	relu_at(DM_THREAD, z, out, len);
}

extern "C" __global__ void tanh_activation(const float *z, float *out, dm_u32 len) {
	tanh_at(DM_THREAD, z, out, len);
}

extern "C" __global__ void relu_backward(const float *z, float *grad, dm_u32 len) {
	relu_backward_at(DM_THREAD, z, grad, len);
}

extern "C" __global__ void tanh_backward(const float *a, float *grad, dm_u32 len) {
	tanh_backward_at(DM_THREAD, a, grad, len);
}

extern "C" __global__ void cross_entropy(const float *z, const float *targets, float *grad,
	float *row_losses, dm_u32 m, dm_u32 n) {
	cross_entropy_at(DM_THREAD, z, targets, grad, row_losses, m, n);
}

extern "C" __global__ void mean_squared_error(const float *z, const float *targets, float *grad,
	float *row_losses, dm_u32 m, dm_u32 n) {
	mean_squared_error_at(DM_THREAD, z, targets, grad, row_losses, m, n);
}

extern "C" __global__ void sgd(float *w, const float *g, dm_u32 len, float lr) {
	sgd_at(DM_THREAD, w, g, len, lr);
}

extern "C" __global__ void momentum(float *w, const float *g, float *v, dm_u32 len, float lr,
	float mu) {
	momentum_at(DM_THREAD, w, g, v, len, lr, mu);
}

extern "C" __global__ void adam(float *w, const float *g, float *m1, float *m2, dm_u32 len,
	float lr, float beta1, float beta2, float epsilon, float correction1, float correction2,
	float one_minus_beta1, float one_minus_beta2) {
	adam_at(DM_THREAD, w, g, m1, m2, len, lr, beta1, beta2, epsilon, correction1, correction2,
		one_minus_beta1, one_minus_beta2);
}
#endif

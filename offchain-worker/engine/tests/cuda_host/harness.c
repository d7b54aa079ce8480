/* The CUDA kernel bodies of kernels/ops.cu compiled as host C, run over an emulated grid of
 * 256-thread blocks (the last block partly out of range, as on the GPU), for the CPU-side
 * checks in tests/cuda.rs.
 *
 * usage: harness OP [u32 dims and f32 parameters as hex bits...] < inputs > outputs
 * Inputs and outputs are arrays of f32, each preceded by its length as a little-endian u32. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/detmath.cuh"
#include "../../kernels/ops.cu"

#define BLOCK 256u
#define GRID(count, call)                                                                    \
	for (dm_u32 block = 0; block == 0 || block * BLOCK < (count); ++block)                   \
		for (dm_u32 thread = 0; thread < BLOCK; ++thread) {                                    \
			dm_u32 idx = block * BLOCK + thread;                                               \
			call;                                                                              \
		}

static float *input(dm_u32 *len) {
	dm_u32 n = 0;
	if (fread(&n, 4, 1, stdin) != 1) {
		fprintf(stderr, "missing input array\n");
		exit(2);
	}
	float *values = malloc(4 * (size_t)(n ? n : 1));
	if (n && fread(values, 4, n, stdin) != n) {
		fprintf(stderr, "short input array\n");
		exit(2);
	}
	*len = n;
	return values;
}

static void output(const float *values, dm_u32 n) {
	fwrite(&n, 4, 1, stdout);
	fwrite(values, 4, n, stdout);
}

static dm_u32 arg(char **argv, int argc, int i) {
	if (i >= argc) {
		fprintf(stderr, "missing argument %d\n", i);
		exit(2);
	}
	return (dm_u32)strtoul(argv[i], NULL, 0);
}

static float farg(char **argv, int argc, int i) { return dm_from_bits(arg(argv, argc, i)); }

int main(int argc, char **argv) {
	if (argc < 2) return 2;
	const char *op = argv[1];
	dm_u32 la, lb, lc, ld;
	if (!strcmp(op, "exp") || !strcmp(op, "ln") || !strcmp(op, "tanh")) {
		float *x = input(&la);
		for (dm_u32 i = 0; i < la; ++i)
			x[i] = op[0] == 'e' ? dm_exp(x[i]) : op[0] == 'l' ? dm_ln(x[i]) : dm_tanh(x[i]);
		output(x, la);
	} else if (!strcmp(op, "dense_forward")) {
		dm_u32 m = arg(argv, argc, 2), k = arg(argv, argc, 3), n = arg(argv, argc, 4);
		float *a = input(&la), *w = input(&lb), *bias = input(&lc);
		float *z = calloc(m * n + 1, 4);
		GRID(m * n, dense_forward_at(idx, a, w, bias, z, m, k, n));
		output(z, m * n);
	} else if (!strcmp(op, "dense_backward_params")) {
		dm_u32 m = arg(argv, argc, 2), k = arg(argv, argc, 3), n = arg(argv, argc, 4);
		float *a = input(&la), *dz = input(&lb);
		float *dw = calloc(k * n + 1, 4), *db = calloc(n + 1, 4);
		GRID(k * n, dense_backward_weights_at(idx, a, dz, dw, m, k, n));
		GRID(n, column_sums_at(idx, dz, db, m, n));
		output(dw, k * n);
		output(db, n);
	} else if (!strcmp(op, "dense_backward_input")) {
		dm_u32 m = arg(argv, argc, 2), k = arg(argv, argc, 3), n = arg(argv, argc, 4);
		float *dz = input(&la), *w = input(&lb);
		float *da = calloc(m * k + 1, 4);
		GRID(m * k, dense_backward_input_at(idx, dz, w, da, m, k, n));
		output(da, m * k);
	} else if (!strcmp(op, "relu") || !strcmp(op, "tanh_activation")) {
		float *z = input(&la);
		float *out = calloc(la + 1, 4);
		if (op[0] == 'r') {
			GRID(la, relu_at(idx, z, out, la));
		} else {
			GRID(la, tanh_at(idx, z, out, la));
		}
		output(out, la);
	} else if (!strcmp(op, "relu_backward") || !strcmp(op, "tanh_backward")) {
		float *x = input(&la), *grad = input(&lb);
		if (op[0] == 'r') {
			GRID(lb, relu_backward_at(idx, x, grad, lb));
		} else {
			GRID(lb, tanh_backward_at(idx, x, grad, lb));
		}
		output(grad, lb);
	} else if (!strcmp(op, "cross_entropy") || !strcmp(op, "mean_squared_error")) {
		dm_u32 m = arg(argv, argc, 2), n = arg(argv, argc, 3);
		float *z = input(&la), *targets = input(&lb);
		float *grad = calloc(m * n + 1, 4), *rows = calloc(m + 1, 4);
		if (op[0] == 'c') {
			GRID(m, cross_entropy_at(idx, z, targets, grad, rows, m, n));
		} else {
			GRID(m, mean_squared_error_at(idx, z, targets, grad, rows, m, n));
		}
		output(grad, m * n);
		output(rows, m);
	} else if (!strcmp(op, "sgd")) {
		float *w = input(&la), *g = input(&lb);
		float lr = farg(argv, argc, 2);
		GRID(la, sgd_at(idx, w, g, la, lr));
		output(w, la);
	} else if (!strcmp(op, "momentum")) {
		float *w = input(&la), *g = input(&lb), *v = input(&lc);
		float lr = farg(argv, argc, 2), mu = farg(argv, argc, 3);
		GRID(la, momentum_at(idx, w, g, v, la, lr, mu));
		output(w, la);
		output(v, lc);
	} else if (!strcmp(op, "adam")) {
		float *w = input(&la), *g = input(&lb), *m1 = input(&lc), *m2 = input(&ld);
		GRID(la, adam_at(idx, w, g, m1, m2, la, farg(argv, argc, 2), farg(argv, argc, 3),
			farg(argv, argc, 4), farg(argv, argc, 5), farg(argv, argc, 6), farg(argv, argc, 7),
			farg(argv, argc, 8), farg(argv, argc, 9)));
		output(w, la);
		output(m1, lc);
		output(m2, ld);
	} else {
		fprintf(stderr, "unknown op %s\n", op);
		return 2;
	}
	return 0;
}

// Deterministic scalar math for the CUDA kernels: the mirror, operation for operation, of
// src/math.rs. Only IEEE + - * / (correctly rounded: NVRTC --prec-div=true), sqrt
// (--prec-sqrt=true), explicit fmaf (fma.rn.f32) and bit manipulation; implicit contraction is
// off (--fmad=false on the GPU, -ffp-contract=off on the host) and subnormals are kept
// (--ftz=false). Every constant is an exact bit pattern shared with math.rs.
//
// The same text compiles as CUDA (NVRTC) and as host C (gcc), so the CPU-side tests can check
// it bit for bit against the Rust reference without a GPU.
#ifndef DECENTER_DETMATH_CUH
#define DECENTER_DETMATH_CUH

#ifdef __CUDACC__
#define DM_INLINE __device__ __forceinline__
DM_INLINE float dm_from_bits(unsigned int u) { return __uint_as_float(u); }
DM_INLINE unsigned int dm_to_bits(float f) { return __float_as_uint(f); }
#else
#include <math.h>
#include <string.h>
#define DM_INLINE static inline
DM_INLINE float dm_from_bits(unsigned int u) { float f; memcpy(&f, &u, 4); return f; }
DM_INLINE unsigned int dm_to_bits(float f) { unsigned int u; memcpy(&u, &f, 4); return u; }
#endif

// `take ? a : b` by bits: a comparison-and-select the compiler cannot turn into max.f32/min.f32,
// whose NaN and signed-zero rules differ from the plain comparison of ops.rs.
DM_INLINE float dm_select(int take, float a, float b) {
	unsigned int mask = take ? 0xffffffffu : 0u;
	return dm_from_bits((dm_to_bits(a) & mask) | (dm_to_bits(b) & ~mask));
}

// Whether x > 0.0 (false for zeros of either sign and NaN), by integer tests on the bits, so the
// compiler cannot make relu a max.f32, whose signed-zero rule is not the comparison's.
DM_INLINE int dm_positive(float x) {
	unsigned int u = dm_to_bits(x);
	return u != 0u && u <= 0x7f800000u;
}

// a*b + c rounded once.
DM_INLINE float dm_fma(float a, float b, float c) { return fmaf(a, b, c); }
// Correctly rounded square root.
DM_INLINE float dm_sqrt(float x) { return sqrtf(x); }

#define DM_INFINITY dm_from_bits(0x7f800000u)
#define DM_NEG_INFINITY dm_from_bits(0xff800000u)
#define DM_NAN dm_from_bits(0x7fc00000u)
#define DM_MIN_POSITIVE dm_from_bits(0x00800000u)
#define DM_LN2_HI dm_from_bits(0x3f317200u)
#define DM_LN2_LO dm_from_bits(0x35bfbe8eu)
#define DM_LOG2_E dm_from_bits(0x3fb8aa3bu)
#define DM_SQRT_2 dm_from_bits(0x3fb504f3u)
#define DM_EXP_MAX dm_from_bits(0x42b17218u)
#define DM_EXP_MIN (-103.0f)
#define DM_TANH_SERIES_MAX dm_from_bits(0x3f0ccccdu)
#define DM_TANH_SATURATE 9.0f

// 2^k for -126 <= k <= 127, from the exponent bits.
DM_INLINE float dm_pow2i(int k) { return dm_from_bits(((unsigned int)(k + 127)) << 23); }

// Nearest integer, ties away from zero, by truncating x +- 0.5 (|x| < 2^22 here).
DM_INLINE int dm_round_to_int(float x) { return x >= 0.0f ? (int)(x + 0.5f) : (int)(x - 0.5f); }

// e^x: saturates to 0 below -103 and to +inf above 88.72.
DM_INLINE float dm_exp(float x) {
	if (x != x) return x;
	if (x > DM_EXP_MAX) return DM_INFINITY;
	if (x < DM_EXP_MIN) return 0.0f;
	int k = dm_round_to_int(x * DM_LOG2_E);
	float kf = (float)k;
	float r = dm_fma(-kf, DM_LN2_HI, x);
	r = dm_fma(-kf, DM_LN2_LO, r);
	float p = dm_from_bits(0x39500d01u);
	p = dm_fma(p, r, dm_from_bits(0x3ab60b61u));
	p = dm_fma(p, r, dm_from_bits(0x3c088889u));
	p = dm_fma(p, r, dm_from_bits(0x3d2aaaabu));
	p = dm_fma(p, r, dm_from_bits(0x3e2aaaabu));
	p = dm_fma(p, r, 0.5f);
	p = dm_fma(p, r, 1.0f);
	p = dm_fma(p, r, 1.0f);
	int k1 = k / 2;
	int k2 = k - k1;
	return p * dm_pow2i(k1) * dm_pow2i(k2);
}

// Natural logarithm: ln(0) = -inf; negative or NaN input gives NaN.
DM_INLINE float dm_ln(float x) {
	if (x != x || x < 0.0f) return DM_NAN;
	if (x == 0.0f) return DM_NEG_INFINITY;
	if (x == DM_INFINITY) return x;
	int bias = 0;
	if (x < DM_MIN_POSITIVE) {
		x = x * 16777216.0f;
		bias = -24;
	}
	unsigned int bits = dm_to_bits(x);
	int e = (int)((bits >> 23) & 0xffu) - 127 + bias;
	float m = dm_from_bits((bits & 0x007fffffu) | 0x3f800000u);
	if (m > DM_SQRT_2) {
		m = m * 0.5f;
		e += 1;
	}
	float s = (m - 1.0f) / (m + 1.0f);
	float s2 = s * s;
	float p = dm_from_bits(0x3e1d89d9u);
	p = dm_fma(p, s2, dm_from_bits(0x3e3a2e8cu));
	p = dm_fma(p, s2, dm_from_bits(0x3e638e39u));
	p = dm_fma(p, s2, dm_from_bits(0x3e924925u));
	p = dm_fma(p, s2, dm_from_bits(0x3ecccccdu));
	p = dm_fma(p, s2, dm_from_bits(0x3f2aaaabu));
	p = dm_fma(p, s2, 2.0f);
	float ln_m = p * s;
	float ef = (float)e;
	return dm_fma(ef, DM_LN2_HI, dm_fma(ef, DM_LN2_LO, ln_m));
}

// Hyperbolic tangent.
DM_INLINE float dm_tanh(float x) {
	if (x != x) return x;
	float a = x < 0.0f ? -x : x;
	float t;
	if (a > DM_TANH_SATURATE) {
		t = 1.0f;
	} else if (a < DM_TANH_SERIES_MAX) {
		float a2 = a * a;
		float p = dm_from_bits(0xbabed1b2u);
		p = dm_fma(p, a2, dm_from_bits(0x3b6b69e8u));
		p = dm_fma(p, a2, dm_from_bits(0xbc11371bu));
		p = dm_fma(p, a2, dm_from_bits(0x3cb327a4u));
		p = dm_fma(p, a2, dm_from_bits(0xbd5d0dd1u));
		p = dm_fma(p, a2, dm_from_bits(0x3e088889u));
		p = dm_fma(p, a2, dm_from_bits(0xbeaaaaabu));
		t = dm_fma(p * a2, a, a);
	} else {
		t = 1.0f - 2.0f / (dm_exp(a + a) + 1.0f);
	}
	return x < 0.0f ? -t : t;
}

#endif

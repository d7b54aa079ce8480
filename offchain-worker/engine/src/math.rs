//! Deterministic scalar math: IEEE `+ − × ÷`, `sqrt` and an explicit fused multiply-add,
//! nothing else. `exp`, `ln` and `tanh` are built from those here and mirrored
//! operation for operation in `kernels/detmath.cuh`; library versions differ between
//! platforms and releases, these do not.

/// `a·b + c` rounded once. Correctly rounded on every platform, so bitwise portable.
#[inline(always)]
pub fn fma(a: f32, b: f32, c: f32) -> f32 {
	#[cfg(feature = "std")]
	{
		a.mul_add(b, c)
	}
	#[cfg(not(feature = "std"))]
	{
		libm::fmaf(a, b, c)
	}
}

/// Correctly rounded square root.
#[inline(always)]
pub fn sqrt(x: f32) -> f32 {
	#[cfg(feature = "std")]
	{
		x.sqrt()
	}
	#[cfg(not(feature = "std"))]
	{
		libm::sqrtf(x)
	}
}

/// `2^k` for `-126 ≤ k ≤ 127`, built from the exponent bits.
#[inline(always)]
fn pow2i(k: i32) -> f32 {
	f32::from_bits(((k + 127) as u32) << 23)
}

/// Rounds to the nearest integer, ties away from zero, by truncating `x ± 0.5`
/// (`|x|` < 2²² here, where this is exact).
#[inline(always)]
fn round_to_i32(x: f32) -> i32 {
	if x >= 0.0 {
		(x + 0.5) as i32
	} else {
		(x - 0.5) as i32
	}
}

/// The constants of `exp`, `ln` and `tanh`, as exact bit patterns so that the CUDA
/// mirror (`kernels/detmath.cuh`) uses the very same values.
pub mod consts {
	/// ln 2 rounded to 16 significant bits: `k·LN2_HI` is exact for |k| < 2⁸.
	pub const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
	/// ln 2 − LN2_HI.
	pub const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
	/// log₂ e.
	pub const LOG2_E: f32 = f32::from_bits(0x3fb8_aa3b);
	/// √2.
	pub const SQRT_2: f32 = f32::from_bits(0x3fb5_04f3);
	/// 1/7!, 1/6!, 1/5!, 1/4!, 1/3!: Taylor coefficients of e^r (then ½, 1, 1).
	pub const EXP: [f32; 5] = [
		f32::from_bits(0x3950_0d01),
		f32::from_bits(0x3ab6_0b61),
		f32::from_bits(0x3c08_8889),
		f32::from_bits(0x3d2a_aaab),
		f32::from_bits(0x3e2a_aaab),
	];
	/// 2/13, 2/11, 2/9, 2/7, 2/5, 2/3: series of 2·atanh(s) (then 2).
	pub const LN: [f32; 6] = [
		f32::from_bits(0x3e1d_89d9),
		f32::from_bits(0x3e3a_2e8c),
		f32::from_bits(0x3e63_8e39),
		f32::from_bits(0x3e92_4925),
		f32::from_bits(0x3ecc_cccd),
		f32::from_bits(0x3f2a_aaab),
	];
	/// Coefficients of x¹⁵ … x³ of the Taylor series of tanh.
	pub const TANH: [f32; 7] = [
		f32::from_bits(0xbabe_d1b2),
		f32::from_bits(0x3b6b_69e8),
		f32::from_bits(0xbc11_371b),
		f32::from_bits(0x3cb3_27a4),
		f32::from_bits(0xbd5d_0dd1),
		f32::from_bits(0x3e08_8889),
		f32::from_bits(0xbeaa_aaab),
	];
	/// Above this e^x overflows.
	pub const EXP_MAX: f32 = 88.722_84;
	/// Below this e^x is 0.
	pub const EXP_MIN: f32 = -103.0;
	/// Below this |x| tanh uses its series.
	pub const TANH_SERIES_MAX: f32 = 0.55;
	/// Above this |x| tanh is ±1 in f32.
	pub const TANH_SATURATE: f32 = 9.0;
}

use consts::*;

/// `e^x`. Saturates to `0` below −103 and to `+∞` above 88.72; error within 2 ulp.
pub fn exp(x: f32) -> f32 {
	if x != x {
		return x;
	}
	if x > EXP_MAX {
		return f32::INFINITY;
	}
	if x < EXP_MIN {
		return 0.0;
	}
	// x = k·ln2 + r, |r| ≤ ln2/2, with r computed in two steps to keep its low bits.
	let k = round_to_i32(x * LOG2_E);
	let kf = k as f32;
	let r = fma(-kf, LN2_HI, x);
	let r = fma(-kf, LN2_LO, r);
	// e^r by its Taylor polynomial to degree 7, Horner form.
	let mut p = EXP[0];
	for c in &EXP[1..] {
		p = fma(p, r, *c);
	}
	p = fma(p, r, 0.5);
	p = fma(p, r, 1.0);
	p = fma(p, r, 1.0);
	// Scale by 2^k in two factors so that subnormal results stay exact.
	let k1 = k / 2;
	let k2 = k - k1;
	p * pow2i(k1) * pow2i(k2)
}

/// Natural logarithm. `ln(0) = −∞`; negative or NaN input gives NaN.
pub fn ln(x: f32) -> f32 {
	if x != x || x < 0.0 {
		return f32::NAN;
	}
	if x == 0.0 {
		return f32::NEG_INFINITY;
	}
	if x == f32::INFINITY {
		return x;
	}
	// Normalize subnormals so that the exponent field is meaningful.
	let (x, bias) = if x < f32::MIN_POSITIVE { (x * 16_777_216.0, -24) } else { (x, 0) };
	let bits = x.to_bits();
	let mut e = ((bits >> 23) & 0xff) as i32 - 127 + bias;
	// m in [1, 2), folded to [√½, √2] so that s below stays small.
	let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
	if m > SQRT_2 {
		m *= 0.5;
		e += 1;
	}
	// ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.1716.
	let s = (m - 1.0) / (m + 1.0);
	let s2 = s * s;
	let mut p = LN[0];
	for c in &LN[1..] {
		p = fma(p, s2, *c);
	}
	p = fma(p, s2, 2.0);
	let ln_m = p * s;
	let ef = e as f32;
	fma(ef, LN2_HI, fma(ef, LN2_LO, ln_m))
}

/// Hyperbolic tangent.
pub fn tanh(x: f32) -> f32 {
	if x != x {
		return x;
	}
	let a = if x < 0.0 { -x } else { x };
	let t = if a > TANH_SATURATE {
		1.0
	} else if a < TANH_SERIES_MAX {
		// Odd Taylor series to x¹⁵: no cancellation for small |x|.
		let a2 = a * a;
		let mut p = TANH[0];
		for c in &TANH[1..] {
			p = fma(p, a2, *c);
		}
		fma(p * a2, a, a)
	} else {
		1.0 - 2.0 / (exp(a + a) + 1.0)
	};
	if x < 0.0 {
		-t
	} else {
		t
	}
}

#[cfg(all(test, feature = "std"))]
mod tests {
	use super::*;

	fn ulps(a: f32, b: f32) -> u32 {
		(a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
	}

	#[test]
	fn exp_is_accurate() {
		let mut x = -87.0f32;
		while x < 88.0 {
			let want = (x as f64).exp() as f32;
			assert!(ulps(exp(x), want) <= 2, "exp({x}) = {} want {want}", exp(x));
			x += 0.013;
		}
		assert_eq!(exp(0.0), 1.0);
		assert_eq!(exp(-200.0), 0.0);
		assert_eq!(exp(100.0), f32::INFINITY);
	}

	#[test]
	fn ln_is_accurate() {
		for i in 1..200_000 {
			let x = i as f32 * 0.0137;
			let want = (x as f64).ln() as f32;
			let got = ln(x);
			assert!(
				ulps(got, want) <= 2 || (got - want).abs() < 1e-7,
				"ln({x}) = {got} want {want}"
			);
		}
		assert_eq!(ln(1.0), 0.0);
		assert!(ln(-1.0).is_nan());
		assert_eq!(ln(0.0), f32::NEG_INFINITY);
		let tiny = f32::from_bits(1);
		assert!((ln(tiny) - (tiny as f64).ln() as f32).abs() < 1e-4);
	}

	#[test]
	fn tanh_is_accurate() {
		let mut x = -12.0f32;
		while x < 12.0 {
			let want = (x as f64).tanh() as f32;
			let got = tanh(x);
			assert!(
				(got - want).abs() <= 4.0 * f32::EPSILON * want.abs().max(1e-3),
				"tanh({x}) = {got} want {want}"
			);
			x += 0.0071;
		}
		assert_eq!(tanh(0.0), 0.0);
		assert_eq!(tanh(20.0), 1.0);
		assert_eq!(tanh(-20.0), -1.0);
	}
}

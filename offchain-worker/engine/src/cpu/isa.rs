//! The instruction sets the CPU kernels are compiled for, the best one this CPU runs, and the
//! switch that forces a lesser one, so that the AVX2 path can be measured and tested on an
//! AVX-512 machine. Every set gives the same bits: the kernels differ in width and tiling,
//! never in the order of any sum, and fma, `÷` and `√` are correctly rounded everywhere.

use core::{fmt, str::FromStr};

/// The environment variable that forces an instruction set (`avx512`, `avx2` or `portable`)
/// on every CPU backend this process creates.
pub const ISA_ENV: &str = "DECENTER_CPU_ISA";

/// An instruction set with its own GEMM micro-kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
	/// AVX-512F with FMA: a 12×32 tile in 24 zmm accumulators.
	Avx512,
	/// AVX2 with FMA: a 6×16 tile in 12 ymm accumulators.
	Avx2,
	/// No vector FMA: scalar `fmaf` (correctly rounded in hardware or in libm).
	Portable,
}

impl Isa {
	/// Every set, best first.
	pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2, Isa::Portable];

	/// The best set this CPU runs.
	pub fn detect() -> Self {
		Self::available().first().copied().unwrap_or(Isa::Portable)
	}

	/// The sets this CPU runs, best first (`Portable` always).
	pub fn available() -> Vec<Isa> {
		Self::ALL.into_iter().filter(|isa| isa.supported()).collect()
	}

	/// Whether this CPU can execute the set.
	pub fn supported(self) -> bool {
		match self {
			#[cfg(target_arch = "x86_64")]
			// `compiled_for!` enables AVX2 with AVX-512 (every AVX-512 CPU has it; checked anyway).
			Isa::Avx512 => {
				is_x86_feature_detected!("avx512f")
					&& is_x86_feature_detected!("avx2")
					&& is_x86_feature_detected!("fma")
			},
			#[cfg(target_arch = "x86_64")]
			Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
			#[cfg(not(target_arch = "x86_64"))]
			Isa::Avx512 | Isa::Avx2 => false,
			Isa::Portable => true,
		}
	}

	/// `DECENTER_CPU_ISA` when set, else the best set; an error names a set this CPU lacks or a
	/// value that is none.
	pub fn from_env() -> Result<Isa, String> {
		match std::env::var(ISA_ENV) {
			Ok(value) if !value.trim().is_empty() => {
				let isa: Isa = value.parse()?;
				isa.check()?;
				Ok(isa)
			},
			_ => Ok(Self::detect()),
		}
	}

	/// `Ok` when this CPU runs the set; else what it runs instead.
	pub fn check(self) -> Result<(), String> {
		if self.supported() {
			return Ok(());
		}
		let runs: Vec<&str> = Self::available().into_iter().map(Isa::name).collect();
		Err(format!(
			"this CPU cannot execute {} instructions; it runs: {} (set {ISA_ENV} to one of them, \
			 or unset it)",
			self.name(),
			runs.join(", ")
		))
	}

	/// The name `DECENTER_CPU_ISA` takes and logs show.
	pub fn name(self) -> &'static str {
		match self {
			Isa::Avx512 => "avx512",
			Isa::Avx2 => "avx2",
			Isa::Portable => "portable",
		}
	}
}

impl fmt::Display for Isa {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(self.name())
	}
}

impl FromStr for Isa {
	type Err = String;

	fn from_str(s: &str) -> Result<Self, String> {
		let wanted = s.trim().to_ascii_lowercase();
		Self::ALL.into_iter().find(|isa| isa.name() == wanted).ok_or_else(|| {
			format!("unknown instruction set {s:?}: {ISA_ENV} takes avx512, avx2 or portable")
		})
	}
}

/// Runs the closure `$body` compiled with `$isa`'s target features, so that the plain loops
/// it calls are vectorized for that set.
macro_rules! compiled_for {
	($isa:expr, $body:expr) => {{
		#[cfg(target_arch = "x86_64")]
		{
			#[target_feature(enable = "avx512f,avx2,fma")]
			unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
				f()
			}
			#[target_feature(enable = "avx2,fma")]
			unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
				f()
			}
			match $isa {
				// SAFETY: a `Cpu` holds only a set that `Isa::check` accepted on this CPU.
				$crate::cpu::Isa::Avx512 => unsafe { avx512($body) },
				$crate::cpu::Isa::Avx2 => unsafe { avx2($body) },
				$crate::cpu::Isa::Portable => ($body)(),
			}
		}
		#[cfg(not(target_arch = "x86_64"))]
		{
			let _ = $isa;
			($body)()
		}
	}};
}
pub(crate) use compiled_for;

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn names_parse_back_and_unknown_names_say_what_is_accepted() {
		for isa in Isa::ALL {
			assert_eq!(isa.name().parse::<Isa>(), Ok(isa));
		}
		assert_eq!(" AVX2 ".parse::<Isa>(), Ok(Isa::Avx2));
		let err = "sse4".parse::<Isa>().unwrap_err();
		assert!(err.contains("avx512, avx2 or portable"), "{err}");
	}

	#[test]
	fn the_detected_set_is_supported_and_portable_always_is() {
		assert!(Isa::detect().supported());
		assert!(Isa::Portable.check().is_ok());
		assert_eq!(Isa::available().last(), Some(&Isa::Portable));
	}
}

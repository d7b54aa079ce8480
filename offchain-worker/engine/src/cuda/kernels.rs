//! The CUDA kernels' source, its NVRTC options, and the PTX compiled from it (checked in, so a
//! GPU host needs only the driver).

use cudarc::nvrtc::CompileOptions;

use crate::backend::DeviceError;

/// `kernels/detmath.cuh` followed by `kernels/ops.cu`: what NVRTC compiles.
pub const SOURCE: &str =
	concat!(include_str!("../../kernels/detmath.cuh"), "\n", include_str!("../../kernels/ops.cu"));

/// The PTX NVRTC made from [`SOURCE`] with [`options`] (`kernels/ops.ptx`).
pub const PTX: &str = include_str!("../../kernels/ops.ptx");

/// The PTX ISA version `kernels/ops.ptx` declares (`.version`), set by the NVRTC that made it.
pub const PTX_ISA: &str = "8.5";

/// The oldest driver that loads that PTX, as `cuDriverGetVersion` reports it (PTX ISA 8.5
/// came with CUDA 12.5). A test checks the PTX's header against [`PTX_ISA`].
pub const PTX_NEEDS_DRIVER: i32 = 12050;

/// Oldest architecture the PTX targets; the driver JIT-compiles it for the GPU at hand.
pub const ARCH: &str = "compute_70";

/// The kernels, by name.
pub const KERNELS: &[&str] = &[
	"dense_forward",
	"dense_backward_weights",
	"column_sums",
	"dense_backward_input",
	"relu",
	"tanh_activation",
	"relu_backward",
	"tanh_backward",
	"cross_entropy",
	"mean_squared_error",
	"sgd",
	"momentum",
	"adam",
];

/// IEEE-exact compilation: no flush to zero, correctly rounded division and square root, and
/// no implicit contraction (an explicit `fmaf` still gives `fma.rn.f32`).
pub fn options() -> CompileOptions {
	CompileOptions {
		ftz: Some(false),
		prec_sqrt: Some(true),
		prec_div: Some(true),
		fmad: Some(false),
		use_fast_math: Some(false),
		arch: Some(ARCH),
		name: Some("decenter_ops.cu".into()),
		..Default::default()
	}
}

/// Whether NVRTC (`libnvrtc.so.12`) can be loaded; cudarc panics on use when it cannot.
pub fn nvrtc_present() -> bool {
	// SAFETY: only tries to open the library by its candidate names.
	unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// Compiles [`SOURCE`] with NVRTC, as was done to make [`PTX`].
pub fn compile() -> Result<String, DeviceError> {
	if !nvrtc_present() {
		return Err(DeviceError(
			"NVRTC (libnvrtc.so.12) not found: install the nvidia-cuda-nvrtc-cu12 wheel and put its \
			 lib folder on LD_LIBRARY_PATH"
				.into(),
		));
	}
	cudarc::nvrtc::compile_ptx_with_opts(SOURCE, options())
		.map(|ptx| ptx.to_src())
		.map_err(|e| DeviceError(format!("NVRTC rejected the kernels: {e}")))
}

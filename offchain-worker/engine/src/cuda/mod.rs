//! The CUDA backend: the kernels of `kernels/ops.cu`, one thread per output element, loaded
//! from the checked-in PTX with cudarc. Bitwise equal to [`crate::backend::Reference`].
//!
//! Without a driver, cudarc panics in `CudaContext::new`, so [`Cuda::new`] looks for `libcuda`
//! first and returns an error the caller logs before falling back to the CPU. cudarc also looks
//! each driver symbol up on first use and panics when an old driver lacks it; opening a GPU
//! (the version check, the context, the module, the stream) runs under `catch_unwind` (the
//! workspace builds with `panic = "unwind"`), so a driver that lacks what opening needs is an
//! error, not a crashed daemon. A driver older than the checked-in PTX needs is reported with
//! both versions.
//!
//! One context and one loaded module per GPU serve the whole process: every `Cuda` of that GPU
//! shares them and has its own stream.

pub mod kernels;

use std::{
	collections::HashMap,
	panic::{self, AssertUnwindSafe},
	sync::{Arc, Mutex, OnceLock},
};

use cudarc::{
	driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg},
	nvrtc::Ptx,
};
use decenter_primitives::spec::{Activation, Loss};

use crate::{
	backend::{Backend, DeviceError},
	ops::Update,
};

/// Threads per block.
const BLOCK: u32 = 256;

/// Whether the CUDA driver library can be loaded on this host.
pub fn driver_present() -> bool {
	// SAFETY: only tries to open the library by its candidate names.
	unsafe { cudarc::driver::sys::is_culib_present() }
}

/// One GPU's context and loaded kernels, opened once per process.
struct Loaded {
	context: Arc<CudaContext>,
	functions: HashMap<&'static str, CudaFunction>,
}

/// One GPU, a stream of its own and the GPU's loaded kernels.
pub struct Cuda {
	ordinal: usize,
	loaded: Arc<Loaded>,
	stream: Arc<CudaStream>,
}

fn driver_error(what: &str) -> impl Fn(cudarc::driver::DriverError) -> DeviceError + '_ {
	move |e| DeviceError(format!("CUDA {what}: {e}"))
}

/// `count` as the `u32` the kernels index with.
fn index(count: usize) -> Result<u32, DeviceError> {
	u32::try_from(count)
		.map_err(|_| DeviceError(format!("{count} elements exceed the kernels' 32-bit indices")))
}

fn grid(count: u32) -> LaunchConfig {
	LaunchConfig {
		grid_dim: (count.div_ceil(BLOCK).max(1), 1, 1),
		block_dim: (BLOCK, 1, 1),
		shared_mem_bytes: 0,
	}
}

/// `major.minor` of a `cuDriverGetVersion` number (12050 → "12.5").
fn version_name(version: i32) -> String {
	format!("{}.{}", version / 1000, version % 1000 / 10)
}

/// The driver's CUDA version, or why it could not be read.
fn driver_version() -> Result<i32, DeviceError> {
	let mut version = 0;
	// SAFETY: writes one int; the library is present (checked by the caller).
	let status = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut version) };
	if status != cudarc::driver::sys::CUresult::CUDA_SUCCESS {
		return Err(DeviceError(format!("CUDA driver version: {status:?}")));
	}
	Ok(version)
}

/// Opens GPU `ordinal`: checks the driver's version against the PTX, creates the context and
/// loads the kernels.
fn open(ordinal: usize) -> Result<Loaded, DeviceError> {
	let version = driver_version()?;
	if version < kernels::PTX_NEEDS_DRIVER {
		return Err(DeviceError(format!(
			"the CUDA driver supports CUDA {} but the kernels' PTX (ISA {}) needs CUDA {} or newer: \
			 update the NVIDIA driver",
			version_name(version),
			kernels::PTX_ISA,
			version_name(kernels::PTX_NEEDS_DRIVER),
		)));
	}
	let context = CudaContext::new(ordinal).map_err(driver_error("context"))?;
	let module =
		context.load_module(Ptx::from_src(kernels::PTX)).map_err(driver_error("module"))?;
	let mut functions = HashMap::new();
	for name in kernels::KERNELS {
		functions.insert(*name, module.load_function(name).map_err(driver_error(name))?);
	}
	Ok(Loaded { context, functions })
}

/// The GPUs this process opened, by ordinal.
fn opened() -> &'static Mutex<HashMap<usize, Arc<Loaded>>> {
	static OPENED: OnceLock<Mutex<HashMap<usize, Arc<Loaded>>>> = OnceLock::new();
	OPENED.get_or_init(Default::default)
}

impl Cuda {
	/// GPU `ordinal` with a stream of its own, or why not (no driver, a driver too old for the
	/// kernels or lacking a symbol, no such GPU). The context and kernels are loaded on the first
	/// call for the GPU and shared by every later one.
	pub fn new(ordinal: usize) -> Result<Self, DeviceError> {
		if !driver_present() {
			return Err(DeviceError("no CUDA driver (libcuda.so) on this host".into()));
		}
		let attempt = panic::catch_unwind(AssertUnwindSafe(|| -> Result<Cuda, DeviceError> {
			// Held while opening, so that two threads never open one GPU twice.
			let mut opened = opened().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
			let loaded = match opened.get(&ordinal) {
				Some(loaded) => loaded.clone(),
				None => {
					let loaded = Arc::new(open(ordinal)?);
					opened.insert(ordinal, loaded.clone());
					loaded
				},
			};
			drop(opened);
			let stream = loaded.context.new_stream().map_err(driver_error("stream"))?;
			Ok(Cuda { ordinal, loaded, stream })
		}));
		attempt.unwrap_or_else(|payload| {
			let why = payload
				.downcast_ref::<String>()
				.map(String::as_str)
				.or_else(|| payload.downcast_ref::<&str>().copied())
				.unwrap_or("unknown failure");
			Err(DeviceError(format!("the CUDA driver failed while opening GPU {ordinal}: {why}")))
		})
	}

	fn function(&self, name: &str) -> Result<&CudaFunction, DeviceError> {
		self.loaded
			.functions
			.get(name)
			.ok_or_else(|| DeviceError(format!("kernel {name} not loaded")))
	}
}

/// Launches `$kernel` over `$count` threads with the arguments in order.
macro_rules! launch {
	($self:ident, $kernel:literal, $count:expr, $($arg:expr),+ $(,)?) => {{
		let count = $count;
		let function = $self.function($kernel)?;
		let mut builder = $self.stream.launch_builder(function);
		$(builder.arg($arg);)+
		// SAFETY: the arguments match the kernel's signature in kernels/ops.cu, every buffer
		// holds at least the elements the kernel indexes below `count`, and no buffer is
		// both read and written by different threads.
		// Kernels run in stream order; errors surface at the next download.
		unsafe { builder.launch(grid(count)) }.map(|_| ()).map_err(driver_error($kernel))
	}};
}

impl Backend for Cuda {
	type Tensor = CudaSlice<f32>;

	fn name(&self) -> String {
		match self.loaded.context.name() {
			Ok(gpu) => format!("cuda:{} ({gpu})", self.ordinal),
			Err(_) => format!("cuda:{}", self.ordinal),
		}
	}

	fn zeros(&self, len: usize) -> Result<CudaSlice<f32>, DeviceError> {
		self.stream.alloc_zeros(len.max(1)).map_err(driver_error("alloc"))
	}

	fn upload(&self, data: &[f32]) -> Result<CudaSlice<f32>, DeviceError> {
		if data.is_empty() {
			return self.zeros(0);
		}
		self.stream.clone_htod(data).map_err(driver_error("upload"))
	}

	fn write(&self, data: &[f32], dst: &mut CudaSlice<f32>) -> Result<(), DeviceError> {
		if data.len() > dst.len() {
			return Err(DeviceError(format!(
				"{} values into a buffer of {}",
				data.len(),
				dst.len()
			)));
		}
		self.stream.memcpy_htod(data, dst).map_err(driver_error("write"))
	}

	fn download(&self, t: &CudaSlice<f32>) -> Result<Vec<f32>, DeviceError> {
		self.stream.clone_dtoh(t).map_err(driver_error("download"))
	}

	fn dense_forward(
		&self,
		a: &CudaSlice<f32>,
		w: &CudaSlice<f32>,
		bias: &CudaSlice<f32>,
		z: &mut CudaSlice<f32>,
		m: usize,
		k: usize,
		n: usize,
	) -> Result<(), DeviceError> {
		let (m, k, n) = (index(m)?, index(k)?, index(n)?);
		launch!(self, "dense_forward", index(m as usize * n as usize)?, a, w, bias, z, &m, &k, &n)
	}

	fn dense_backward_params(
		&self,
		a: &CudaSlice<f32>,
		dz: &CudaSlice<f32>,
		dw: &mut CudaSlice<f32>,
		db: &mut CudaSlice<f32>,
		m: usize,
		k: usize,
		n: usize,
	) -> Result<(), DeviceError> {
		let (m, k, n) = (index(m)?, index(k)?, index(n)?);
		let weights = index(k as usize * n as usize)?;
		launch!(self, "dense_backward_weights", weights, a, dz, dw, &m, &k, &n)?;
		launch!(self, "column_sums", n, dz, db, &m, &n)
	}

	fn dense_backward_input(
		&self,
		dz: &CudaSlice<f32>,
		w: &CudaSlice<f32>,
		da: &mut CudaSlice<f32>,
		m: usize,
		k: usize,
		n: usize,
	) -> Result<(), DeviceError> {
		let (m, k, n) = (index(m)?, index(k)?, index(n)?);
		launch!(
			self,
			"dense_backward_input",
			index(m as usize * k as usize)?,
			dz,
			w,
			da,
			&m,
			&k,
			&n
		)
	}

	fn activate(
		&self,
		activation: Activation,
		z: &CudaSlice<f32>,
		out: &mut CudaSlice<f32>,
	) -> Result<(), DeviceError> {
		let len = index(z.len())?;
		match activation {
			Activation::Relu => launch!(self, "relu", len, z, out, &len),
			Activation::Tanh => launch!(self, "tanh_activation", len, z, out, &len),
		}
	}

	fn activation_backward(
		&self,
		activation: Activation,
		z: &CudaSlice<f32>,
		a: &CudaSlice<f32>,
		grad: &mut CudaSlice<f32>,
	) -> Result<(), DeviceError> {
		let len = index(grad.len())?;
		match activation {
			Activation::Relu => launch!(self, "relu_backward", len, z, grad, &len),
			Activation::Tanh => launch!(self, "tanh_backward", len, a, grad, &len),
		}
	}

	fn loss(
		&self,
		loss: Loss,
		z: &CudaSlice<f32>,
		targets: &CudaSlice<f32>,
		grad: &mut CudaSlice<f32>,
		row_losses: &mut CudaSlice<f32>,
		m: usize,
		n: usize,
	) -> Result<(), DeviceError> {
		let (m, n) = (index(m)?, index(n)?);
		index(m as usize * n as usize)?;
		match loss {
			Loss::SoftmaxCrossEntropy => {
				launch!(self, "cross_entropy", m, z, targets, grad, row_losses, &m, &n)
			},
			Loss::MeanSquaredError => {
				launch!(self, "mean_squared_error", m, z, targets, grad, row_losses, &m, &n)
			},
		}
	}

	fn update(
		&self,
		update: Update,
		w: &mut CudaSlice<f32>,
		g: &CudaSlice<f32>,
		slot0: &mut CudaSlice<f32>,
		slot1: &mut CudaSlice<f32>,
	) -> Result<(), DeviceError> {
		let len = index(w.len())?;
		match update {
			Update::Sgd { lr } => launch!(self, "sgd", len, w, g, &len, &lr),
			Update::Momentum { lr, momentum } => {
				launch!(self, "momentum", len, w, g, slot0, &len, &lr, &momentum)
			},
			Update::Adam { lr, beta1, beta2, epsilon, correction1, correction2 } => {
				let (one_minus_beta1, one_minus_beta2) = (1.0 - beta1, 1.0 - beta2);
				launch!(
					self,
					"adam",
					len,
					w,
					g,
					slot0,
					slot1,
					&len,
					&lr,
					&beta1,
					&beta2,
					&epsilon,
					&correction1,
					&correction2,
					&one_minus_beta1,
					&one_minus_beta2,
				)
			},
		}
	}
}

//! The CUDA backend: the kernels of `kernels/ops.cu`, one thread per output element, loaded
//! from the checked-in PTX with cudarc. Bitwise equal to [`crate::backend::Reference`].
//!
//! Without a driver, cudarc panics in `CudaContext::new` (and a panic cannot be caught under
//! `panic = "abort"`), so [`Cuda::new`] looks for `libcuda` first and returns an error the
//! caller logs before falling back to the CPU.

pub mod kernels;

use std::{collections::HashMap, sync::Arc};

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

/// One GPU, its stream and the loaded kernels.
pub struct Cuda {
	ordinal: usize,
	stream: Arc<CudaStream>,
	functions: HashMap<&'static str, CudaFunction>,
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

impl Cuda {
	/// Opens GPU `ordinal` and loads the kernels, or says why not (no driver, no such GPU).
	pub fn new(ordinal: usize) -> Result<Self, DeviceError> {
		if !driver_present() {
			return Err(DeviceError(
				"no CUDA driver (libcuda.so) on this host: training runs on the CPU".into(),
			));
		}
		let context = CudaContext::new(ordinal).map_err(driver_error("context"))?;
		let module =
			context.load_module(Ptx::from_src(kernels::PTX)).map_err(driver_error("module"))?;
		let mut functions = HashMap::new();
		for name in kernels::KERNELS {
			functions.insert(*name, module.load_function(name).map_err(driver_error(name))?);
		}
		Ok(Cuda { ordinal, stream: context.default_stream(), functions })
	}

	fn function(&self, name: &str) -> Result<&CudaFunction, DeviceError> {
		self.functions.get(name).ok_or_else(|| DeviceError(format!("kernel {name} not loaded")))
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
		format!("cuda:{}", self.ordinal)
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

//! The one small trait every backend implements, and the reference backend: the plain
//! loops of [`crate::ops`] over host vectors.

use alloc::{string::String, vec::Vec};

use decenter_primitives::spec::{Activation, Loss};

use crate::ops::{self, Update};

/// Why a backend could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceError(pub String);

impl core::fmt::Display for DeviceError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(&self.0)
	}
}

/// A device that runs the operations of [`crate::ops`], bit for bit as the plain loops.
///
/// Shapes: `a: m×k` activations, `w: k×n` weights, `z, dz: m×n`.
pub trait Backend {
	/// A buffer of f32 on the device.
	type Tensor;

	/// A short name for logs ("reference", "cpu", "cuda:0").
	fn name(&self) -> String;
	/// A zero-filled buffer of `len` values.
	fn zeros(&self, len: usize) -> Result<Self::Tensor, DeviceError>;
	/// A buffer holding `data`.
	fn upload(&self, data: &[f32]) -> Result<Self::Tensor, DeviceError>;
	/// Overwrites `dst` (of the same length) with `data`.
	fn write(&self, data: &[f32], dst: &mut Self::Tensor) -> Result<(), DeviceError>;
	/// The buffer's values on the host.
	fn download(&self, t: &Self::Tensor) -> Result<Vec<f32>, DeviceError>;

	/// [`ops::dense_forward`].
	#[allow(clippy::too_many_arguments)]
	fn dense_forward(
		&self,
		a: &Self::Tensor,
		w: &Self::Tensor,
		bias: &Self::Tensor,
		z: &mut Self::Tensor,
		m: usize,
		k: usize,
		n: usize,
	) -> Result<(), DeviceError>;
	/// [`ops::dense_backward_params`].
	#[allow(clippy::too_many_arguments)]
	fn dense_backward_params(
		&self,
		a: &Self::Tensor,
		dz: &Self::Tensor,
		dw: &mut Self::Tensor,
		db: &mut Self::Tensor,
		m: usize,
		k: usize,
		n: usize,
	) -> Result<(), DeviceError>;
	/// [`ops::dense_backward_input`].
	#[allow(clippy::too_many_arguments)]
	fn dense_backward_input(
		&self,
		dz: &Self::Tensor,
		w: &Self::Tensor,
		da: &mut Self::Tensor,
		m: usize,
		k: usize,
		n: usize,
	) -> Result<(), DeviceError>;
	/// [`ops::activate`].
	fn activate(
		&self,
		activation: Activation,
		z: &Self::Tensor,
		out: &mut Self::Tensor,
	) -> Result<(), DeviceError>;
	/// [`ops::activation_backward`].
	fn activation_backward(
		&self,
		activation: Activation,
		z: &Self::Tensor,
		a: &Self::Tensor,
		grad: &mut Self::Tensor,
	) -> Result<(), DeviceError>;
	/// [`ops::loss`].
	#[allow(clippy::too_many_arguments)]
	fn loss(
		&self,
		loss: Loss,
		z: &Self::Tensor,
		targets: &Self::Tensor,
		grad: &mut Self::Tensor,
		row_losses: &mut Self::Tensor,
		m: usize,
		n: usize,
	) -> Result<(), DeviceError>;
	/// [`ops::apply_update`]; unused slots are empty buffers.
	fn update(
		&self,
		update: Update,
		w: &mut Self::Tensor,
		g: &Self::Tensor,
		slot0: &mut Self::Tensor,
		slot1: &mut Self::Tensor,
	) -> Result<(), DeviceError>;
}

/// The plain loops on the host, single-threaded: the definition every backend matches.
/// `no_std` + `alloc`, so that a runtime could re-execute a disputed step with it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

impl Backend for Reference {
	type Tensor = Vec<f32>;

	fn name(&self) -> String {
		"reference".into()
	}

	fn zeros(&self, len: usize) -> Result<Vec<f32>, DeviceError> {
		Ok(alloc::vec![0.0; len])
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
		ops::dense_forward(a, w, bias, z, m, k, n);
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
		ops::dense_backward_params(a, dz, dw, db, m, k, n);
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
		ops::dense_backward_input(dz, w, da, m, k, n);
		Ok(())
	}

	fn activate(
		&self,
		activation: Activation,
		z: &Vec<f32>,
		out: &mut Vec<f32>,
	) -> Result<(), DeviceError> {
		ops::activate(activation, z, out);
		Ok(())
	}

	fn activation_backward(
		&self,
		activation: Activation,
		z: &Vec<f32>,
		a: &Vec<f32>,
		grad: &mut Vec<f32>,
	) -> Result<(), DeviceError> {
		ops::activation_backward(activation, z, a, grad);
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
		ops::loss(loss, z, targets, grad, row_losses, m, n);
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
		ops::apply_update(update, w, g, slot0, slot1);
		Ok(())
	}
}

//! The element-wise operations of a step ([`crate::ops`]'s plain loops) compiled for the
//! backend's instruction set, so that the compiler vectorizes them for it. Each output is a
//! function of its own inputs only, so vector width changes no bit.

use decenter_primitives::spec::{Activation, Loss};

use super::isa::{compiled_for, Isa};
use crate::ops::{self, Update};

/// [`ops::apply_update`] compiled for `isa`.
pub fn apply_update(
	isa: Isa,
	update: Update,
	w: &mut [f32],
	g: &[f32],
	slot0: &mut [f32],
	slot1: &mut [f32],
) {
	compiled_for!(isa, || ops::apply_update(update, w, g, slot0, slot1))
}

/// [`ops::activate`] compiled for `isa`.
pub fn activate(isa: Isa, activation: Activation, z: &[f32], out: &mut [f32]) {
	compiled_for!(isa, || ops::activate(activation, z, out))
}

/// [`ops::activation_backward`] compiled for `isa`.
pub fn activation_backward(
	isa: Isa,
	activation: Activation,
	z: &[f32],
	a: &[f32],
	grad: &mut [f32],
) {
	compiled_for!(isa, || ops::activation_backward(activation, z, a, grad))
}

/// [`ops::loss`] compiled for `isa`.
#[allow(clippy::too_many_arguments)]
pub fn loss(
	isa: Isa,
	kind: Loss,
	z: &[f32],
	targets: &[f32],
	grad: &mut [f32],
	row_losses: &mut [f32],
	m: usize,
	n: usize,
) {
	compiled_for!(isa, || ops::loss(kind, z, targets, grad, row_losses, m, n))
}

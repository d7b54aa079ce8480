//! DeCenter's training engine.
//!
//! Training an MLP here gives the same bits on every run, thread count, CPU and GPU:
//! every operation is defined by a plain loop in [`ops`] using only IEEE `+ − × ÷`,
//! `sqrt` and explicit fused multiply-add, with every sum in one fixed order
//! (`docs/determinism.md`). That is what lets a validator re-execute a segment of a
//! worker's training and compare checkpoint hashes exactly.
//!
//! The reference step ([`backend::Reference`] driven by [`train::Trainer`]) is `no_std` +
//! `alloc`, so that the runtime can one day re-execute a disputed step itself.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "std")]
pub mod artifact;
pub mod backend;
#[cfg(feature = "std")]
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(feature = "std")]
pub mod data;
pub mod math;
pub mod model;
pub mod ops;
#[cfg(feature = "plot")]
pub mod plot;
pub mod pot;
#[cfg(feature = "progress")]
pub mod progress;
pub mod rng;
pub mod train;

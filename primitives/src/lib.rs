//! What the DeCenter runtime and the off-chain program must agree on, byte for byte:
//! the training spec an order carries, and the hashing and Merkle rules of the proof of
//! train and of dataset commitments.
//!
//! Everything here is `no_std` and deterministic; the test vectors in each module are the
//! contract between the two sides.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod hashing;
pub mod merkle;
pub mod order;
pub mod proof;
pub mod spec;
pub mod validation;

pub use hashing::Hash256;

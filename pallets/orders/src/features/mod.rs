//! One module per feature; each rule of the pallet lives in exactly one of them.

pub mod access;
pub mod assignment;
pub mod cancellation;
pub mod creation;
pub mod escrow;
pub mod expiry;
pub mod housekeeping;
pub mod pruning;
pub mod settlement;
pub mod windows;

//! One module per feature; each rule of the pallet lives in exactly one of them.

pub mod assignments;
pub mod availability;
pub mod registration;
pub mod selection;
pub mod slashing;
pub mod unbonding;

//! One module per part of the game; each rule lives in one place.

mod commitment;
mod draws;
mod faults;
mod housekeeping;
mod phases;
mod reports;
mod settlement;
mod windows;

#[cfg(test)]
pub(crate) use draws::sample_segments;

//! Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
//! a counter-based generator. Output `i` of a stream is a pure function of the key and
//! the counter, so any device computes any part of the stream without the rest of it.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Ten rounds of Philox4x32 on `counter` under `key`.
pub fn philox4x32(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
	let mut c = counter;
	let mut k = key;
	for round in 0..10 {
		if round > 0 {
			k[0] = k[0].wrapping_add(W0);
			k[1] = k[1].wrapping_add(W1);
		}
		let p0 = u64::from(M0) * u64::from(c[0]);
		let p1 = u64::from(M1) * u64::from(c[2]);
		c = [
			((p1 >> 32) as u32) ^ c[1] ^ k[0],
			p1 as u32,
			((p0 >> 32) as u32) ^ c[3] ^ k[1],
			p0 as u32,
		];
	}
	c
}

/// What a stream of random numbers is for; part of the counter, so streams never overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Purpose {
	/// Initial parameters.
	Init = 1,
	/// Order of the records in an epoch.
	DataOrder = 2,
}

/// A stream of random `u32`s for one purpose and one index (a layer, an epoch) under a seed.
pub struct Stream {
	key: [u32; 2],
	purpose: u32,
	index: u32,
	block: u32,
	buffer: [u32; 4],
	used: usize,
}

impl Stream {
	/// The stream of `purpose` number `index` under `seed`.
	pub fn new(seed: u64, purpose: Purpose, index: u32) -> Self {
		Stream {
			key: [seed as u32, (seed >> 32) as u32],
			purpose: purpose as u32,
			index,
			block: 0,
			buffer: [0; 4],
			used: 4,
		}
	}

	/// The next `u32`.
	pub fn next_u32(&mut self) -> u32 {
		if self.used == 4 {
			self.buffer = philox4x32([self.block, 0, self.index, self.purpose], self.key);
			self.block = self.block.wrapping_add(1);
			self.used = 0;
		}
		let value = self.buffer[self.used];
		self.used += 1;
		value
	}

	/// Uniform in `[0, 1)` with 24 random bits: exact in f32.
	pub fn next_unit(&mut self) -> f32 {
		(self.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
	}

	/// Uniform in `0..bound` (Lemire's multiply-shift; bias below 2⁻³² · bound).
	pub fn next_below(&mut self, bound: u32) -> u32 {
		((u64::from(self.next_u32()) * u64::from(bound)) >> 32) as u32
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Known-answer tests from the Random123 distribution (kat_vectors, philox4x32_10).
	#[test]
	fn known_answers() {
		assert_eq!(philox4x32([0; 4], [0; 2]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
		assert_eq!(
			philox4x32([u32::MAX; 4], [u32::MAX; 2]),
			[0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
		);
		assert_eq!(
			philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
			[0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
		);
	}

	#[test]
	fn streams_are_reproducible_and_distinct() {
		let a: Vec<u32> =
			(0..10).scan(Stream::new(7, Purpose::Init, 0), |s, _| Some(s.next_u32())).collect();
		let b: Vec<u32> =
			(0..10).scan(Stream::new(7, Purpose::Init, 0), |s, _| Some(s.next_u32())).collect();
		let c: Vec<u32> =
			(0..10).scan(Stream::new(7, Purpose::Init, 1), |s, _| Some(s.next_u32())).collect();
		let d: Vec<u32> = (0..10)
			.scan(Stream::new(7, Purpose::DataOrder, 0), |s, _| Some(s.next_u32()))
			.collect();
		assert_eq!(a, b);
		assert_ne!(a, c);
		assert_ne!(a, d);
	}
}

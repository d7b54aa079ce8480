//! How much of an artifact server one source may use. Every request costs the server work
//! before it can refuse it (a TLS session, a challenge kept in memory, a signature check, a
//! query to its node), so one address or one account flooding it would starve everyone else:
//! - an address (an IPv4 address, or an IPv6 /64, which one subscriber usually holds whole)
//!   holds at most `connections` connections at once, of the server's 512;
//! - an address makes at most `rate` requests a second, in bursts of up to `burst`;
//! - an account, once its signature is checked, the same (so many addresses sharing one key
//!   gain nothing, and its queries to the node are bounded too).
//!
//! A request over its budget gets `429 Too Many Requests` with `Retry-After`, and costs the
//! server no signature check. The defaults leave an honest fetcher (two requests per 1 MiB
//! chunk) about 100 MiB/s from one address.

use std::{
	collections::HashMap,
	net::IpAddr,
	num::NonZeroU32,
	sync::{Arc, Mutex},
	time::Duration,
};

use governor::{
	clock::{Clock, DefaultClock},
	state::keyed::DefaultKeyedStateStore,
	DefaultKeyedRateLimiter, Quota, RateLimiter,
};

/// The budgets (see the module's documentation).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
	pub rate: NonZeroU32,
	pub burst: NonZeroU32,
	pub connections: usize,
}

impl Default for Budget {
	fn default() -> Self {
		Budget {
			rate: NonZeroU32::new(200).unwrap_or(NonZeroU32::MIN),
			burst: NonZeroU32::new(800).unwrap_or(NonZeroU32::MIN),
			connections: 32,
		}
	}
}

/// The server's per-address and per-account limits.
pub struct Limits {
	budget: Budget,
	/// The limiters' clock, to tell how long a refused source must wait.
	clock: DefaultClock,
	addresses: DefaultKeyedRateLimiter<IpAddr>,
	accounts: DefaultKeyedRateLimiter<[u8; 32]>,
	connections: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Default for Limits {
	fn default() -> Self {
		Self::new(Budget::default())
	}
}

/// A connection counted against its address until dropped.
pub struct Connection {
	address: IpAddr,
	connections: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Connection {
	fn drop(&mut self) {
		let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
		if let Some(count) = connections.get_mut(&self.address) {
			*count -= 1;
			if *count == 0 {
				connections.remove(&self.address);
			}
		}
	}
}

impl Limits {
	pub fn new(budget: Budget) -> Self {
		let quota = Quota::per_second(budget.rate).allow_burst(budget.burst);
		let clock = DefaultClock::default();
		Limits {
			budget,
			addresses: RateLimiter::new(quota, DefaultKeyedStateStore::default(), &clock),
			accounts: RateLimiter::new(quota, DefaultKeyedStateStore::default(), &clock),
			clock,
			connections: Arc::default(),
		}
	}

	/// A connection from `peer`, or `None` when its address holds its share already.
	pub fn connect(&self, peer: IpAddr) -> Option<Connection> {
		let address = source(peer);
		let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
		let count = connections.entry(address).or_insert(0);
		if *count >= self.budget.connections {
			return None;
		}
		*count += 1;
		Some(Connection { address, connections: self.connections.clone() })
	}

	/// Whether `peer` may make a request now; else how long until it may.
	pub fn request_from(&self, peer: IpAddr) -> Result<(), Duration> {
		self.addresses
			.check_key(&source(peer))
			.map_err(|not_until| not_until.wait_time_from(self.clock.now()))
	}

	/// Whether `account` may make a request now; else how long until it may.
	pub fn request_by(&self, account: &[u8; 32]) -> Result<(), Duration> {
		self.accounts
			.check_key(account)
			.map_err(|not_until| not_until.wait_time_from(self.clock.now()))
	}

	/// Forgets sources whose budget is full again, so that the tables hold only recent ones.
	pub fn forget_idle(&self) {
		self.addresses.retain_recent();
		self.accounts.retain_recent();
		self.addresses.shrink_to_fit();
		self.accounts.shrink_to_fit();
	}

	/// Sources remembered (for tests and metrics).
	pub fn remembered(&self) -> usize {
		self.addresses.len() + self.accounts.len()
	}
}

/// The source a peer address is counted as: IPv4 as it is (also when mapped into IPv6), IPv6
/// by its /64.
fn source(peer: IpAddr) -> IpAddr {
	match peer {
		IpAddr::V4(v4) => IpAddr::V4(v4),
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => IpAddr::V4(v4),
			None => {
				let mut segments = v6.segments();
				segments[4..].fill(0);
				IpAddr::V6(segments.into())
			},
		},
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn small() -> Limits {
		Limits::new(Budget {
			rate: NonZeroU32::new(1).unwrap(),
			burst: NonZeroU32::new(3).unwrap(),
			connections: 2,
		})
	}

	#[test]
	fn an_address_gets_its_burst_then_waits() {
		let limits = small();
		let peer: IpAddr = "192.0.2.7".parse().unwrap();
		for _ in 0..3 {
			assert_eq!(limits.request_from(peer), Ok(()));
		}
		let wait = limits.request_from(peer).unwrap_err();
		assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
		// Another address is not held back by the first.
		assert_eq!(limits.request_from("192.0.2.8".parse().unwrap()), Ok(()));
	}

	#[test]
	fn an_ipv6_subscriber_is_one_source_for_its_whole_64() {
		let limits = small();
		for host in ["2001:db8::1", "2001:db8::2:3", "2001:db8::ffff:1:1"] {
			assert_eq!(limits.request_from(host.parse().unwrap()), Ok(()));
		}
		assert!(limits.request_from("2001:db8::9".parse().unwrap()).is_err());
		assert_eq!(limits.request_from("2001:db8:0:1::1".parse().unwrap()), Ok(()));
		// An IPv4-mapped address counts as the IPv4 address.
		let _ = limits.request_from("198.51.100.1".parse().unwrap());
		let _ = limits.request_from("198.51.100.1".parse().unwrap());
		let _ = limits.request_from("198.51.100.1".parse().unwrap());
		assert!(limits.request_from("::ffff:198.51.100.1".parse().unwrap()).is_err());
	}

	#[test]
	fn an_account_has_a_budget_of_its_own() {
		let limits = small();
		for _ in 0..3 {
			assert_eq!(limits.request_by(&[1; 32]), Ok(()));
		}
		assert!(limits.request_by(&[1; 32]).is_err());
		assert_eq!(limits.request_by(&[2; 32]), Ok(()));
	}

	#[test]
	fn an_address_holds_its_share_of_connections_until_they_close() {
		let limits = small();
		let peer: IpAddr = "192.0.2.7".parse().unwrap();
		let first = limits.connect(peer).expect("first");
		let _second = limits.connect(peer).expect("second");
		assert!(limits.connect(peer).is_none(), "a third is refused");
		assert!(limits.connect("192.0.2.8".parse().unwrap()).is_some());
		drop(first);
		assert!(limits.connect(peer).is_some(), "a closed one frees its place");
	}

	#[test]
	fn idle_sources_are_forgotten() {
		let limits = Limits::new(Budget {
			rate: NonZeroU32::new(1000).unwrap(),
			burst: NonZeroU32::new(1).unwrap(),
			connections: 1,
		});
		for i in 0..50u8 {
			let _ = limits.request_from(IpAddr::from([10, 0, 0, i]));
		}
		assert_eq!(limits.remembered(), 50);
		std::thread::sleep(Duration::from_millis(20));
		limits.forget_idle();
		assert_eq!(limits.remembered(), 0);
	}
}

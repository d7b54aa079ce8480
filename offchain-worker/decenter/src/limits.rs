//! How much of an artifact server one source may use. Every connection and request costs the
//! server work before it can refuse it (a TLS handshake, a challenge kept in memory, a
//! signature check, a query to its node), so one source flooding it would starve everyone
//! else:
//! - a source is an IPv4 address, or an IPv6 /48: a subscriber is commonly given a /48 or a
//!   /56 (tunnel brokers hand out /48s free), so counting /64s would give one subscriber
//!   hundreds of budgets;
//! - a source holds at most `connections` connections at once, of the server's 512;
//! - a source opens connections and makes requests at one per `interval` on average, in
//!   bursts of up to `burst`, from one budget: a connection is charged before its TLS
//!   handshake, a request before anything else;
//! - an account, once its signature is checked, has a request budget of the same size (so many
//!   addresses sharing one key gain nothing).
//!
//! A request over its budget gets `429 Too Many Requests` with `Retry-After`; a connection over
//! it is closed at once. The defaults leave an honest fetcher (one connection per artifact, two
//! requests per 1 MiB chunk) about 100 MiB/s from one address.

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
	/// One connection or request per this, on average: 5 ms is 200 a second.
	pub interval: Duration,
	pub burst: NonZeroU32,
	pub connections: usize,
}

impl Default for Budget {
	fn default() -> Self {
		Budget {
			interval: Duration::from_millis(5),
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
		let quota = Quota::with_period(budget.interval)
			.unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
			.allow_burst(budget.burst);
		let clock = DefaultClock::default();
		Limits {
			budget,
			addresses: RateLimiter::new(quota, DefaultKeyedStateStore::default(), &clock),
			accounts: RateLimiter::new(quota, DefaultKeyedStateStore::default(), &clock),
			clock,
			connections: Arc::default(),
		}
	}

	/// A connection from `peer`, or `None` when its source holds its share of connections
	/// already or is over its budget.
	pub fn connect(&self, peer: IpAddr) -> Option<Connection> {
		let address = source(peer);
		let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
		if connections.get(&address).copied().unwrap_or(0) >= self.budget.connections {
			return None;
		}
		self.addresses.check_key(&address).ok()?;
		*connections.entry(address).or_insert(0) += 1;
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

	/// Sources remembered (for tests).
	#[cfg(test)]
	pub fn remembered(&self) -> usize {
		self.addresses.len() + self.accounts.len()
	}
}

/// The source a peer address is counted as: IPv4 as it is (also when mapped into IPv6), IPv6
/// by its /48.
fn source(peer: IpAddr) -> IpAddr {
	match peer {
		IpAddr::V4(v4) => IpAddr::V4(v4),
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => IpAddr::V4(v4),
			None => {
				let mut segments = v6.segments();
				segments[3..].fill(0);
				IpAddr::V6(segments.into())
			},
		},
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Three at once, then one a minute: no test is slow enough to earn another.
	fn small() -> Limits {
		Limits::new(Budget {
			interval: Duration::from_secs(60),
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
		assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60), "{wait:?}");
		// Another address is not held back by the first.
		assert_eq!(limits.request_from("192.0.2.8".parse().unwrap()), Ok(()));
	}

	#[test]
	fn an_ipv6_subscriber_is_one_source_for_its_whole_48() {
		let limits = small();
		for host in ["2001:db8::1", "2001:db8:0:1::2:3", "2001:db8:0:ff00::1:1"] {
			assert_eq!(limits.request_from(host.parse().unwrap()), Ok(()));
		}
		assert!(limits.request_from("2001:db8:0:7::9".parse().unwrap()).is_err());
		assert_eq!(limits.request_from("2001:db8:1::1".parse().unwrap()), Ok(()));
		// An IPv4-mapped address counts as the IPv4 address.
		let _ = limits.request_from("198.51.100.1".parse().unwrap());
		let _ = limits.request_from("198.51.100.1".parse().unwrap());
		let _ = limits.request_from("198.51.100.1".parse().unwrap());
		assert!(limits.request_from("::ffff:198.51.100.1".parse().unwrap()).is_err());
	}

	#[test]
	fn connections_are_charged_to_the_address_before_their_handshake() {
		let limits = small();
		let peer: IpAddr = "192.0.2.7".parse().unwrap();
		let _open = limits.connect(peer).expect("first");
		assert_eq!(limits.request_from(peer), Ok(()));
		assert_eq!(limits.request_from(peer), Ok(()));
		// The budget is spent: neither a connection nor a request now.
		assert!(limits.connect(peer).is_none());
		assert!(limits.request_from(peer).is_err());
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
		let limits = Limits::new(Budget {
			interval: Duration::from_millis(1),
			burst: NonZeroU32::new(100).unwrap(),
			connections: 2,
		});
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
			interval: Duration::from_millis(1),
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

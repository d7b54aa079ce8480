//! Who may fetch what. The chain lists each order's client, workers and validators; from
//! that list:
//! - the training data and initial weights go to the client, the workers and the validators;
//! - the validation data goes to the client and the validators only (workers never see what
//!   they are judged on);
//! - a worker's progress goes to the client and the validators;
//! - a worker's checkpoints and final model go to the validators (and referees) while the
//!   order is checked, and to the client only once the order is `Completed` and that worker's
//!   work was accepted and paid: a client that could fetch them earlier (or fetch a rejected
//!   worker's, whose share it got back) would take work it did not pay for. Replicas never see
//!   each other's work.
//!
//! Nothing is served for an order that failed, expired or was cancelled.
//!
//! Being listed is not enough for an artifact: the order itself must be entitled to it. A
//! store serves its artifacts to the orders of the account that runs it (the owner), and to
//! the orders of accounts the owner granted the artifact to (see [`crate::grant`]). Anyone can
//! copy a spec from chain storage into an order of their own and so be "listed"; such an order
//! is not entitled, and the store refuses its client and its workers alike.

use std::{
	collections::HashMap,
	sync::Mutex,
	time::{Duration, Instant},
};

use decenter_primitives::{order::OrderSpec, spec::Initialization, Hash256};

use crate::{
	chain::{AccountId, Chain, Order, OrderStatus},
	grant,
	tls::Endpoint,
};

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
	/// A content-addressed artifact (dataset, validation set, initial weights).
	Artifact(Hash256),
	/// A worker's training progress for the order (steps done, last loss).
	Progress,
	/// The checkpoint or final model of the worker (this account) for the order.
	TrainedWork([u8; 32]),
}

/// An order's access list, as the chain has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderAccess {
	pub client: [u8; 32],
	pub workers: Vec<[u8; 32]>,
	pub validators: Vec<[u8; 32]>,
	/// Unfinished, or completed: its artifacts are still served.
	pub live: bool,
	/// Workers whose work the client paid for: those accepted in a completed order.
	pub paid: Vec<[u8; 32]>,
	/// Roots anyone on the list may fetch.
	pub shared: Vec<Hash256>,
	/// The validation set's root.
	pub validation: Hash256,
	/// Each artifact's root and location, as the spec names them.
	pub locations: Vec<(Hash256, String)>,
}

impl OrderAccess {
	pub fn of(order: &Order) -> Result<Self, String> {
		let spec: OrderSpec = Chain::spec_of(order).map_err(|e| e.to_string())?;
		let mut artifacts = vec![&spec.dataset.artifact, &spec.validation.artifact];
		let mut shared = vec![spec.dataset.artifact.root];
		if let Initialization::Uploaded(weights) = &spec.training.initialization {
			shared.push(weights.root);
			artifacts.push(weights);
		}
		let locations = artifacts
			.into_iter()
			.map(|a| (a.root, String::from_utf8_lossy(&a.location).into_owned()))
			.collect();
		let live = !matches!(
			order.status,
			OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Failed
		);
		Ok(OrderAccess {
			client: order.client.0,
			workers: order.workers.0.iter().map(|slot| slot.account.0).collect(),
			validators: order.validators.0.iter().map(|v: &AccountId| v.0).collect(),
			live,
			paid: if matches!(order.status, OrderStatus::Completed) {
				order.workers.0.iter().filter(|slot| slot.paid).map(|slot| slot.account.0).collect()
			} else {
				Vec::new()
			},
			shared,
			validation: spec.validation.artifact.root,
			locations,
		})
	}

	/// Whether the order may have the artifact `root` of the store run by `owner`: it is the
	/// owner's own order, or the artifact's location carries the owner's grant to the order's
	/// client.
	pub fn entitled(&self, owner: &[u8; 32], root: &Hash256) -> Result<(), &'static str> {
		if self.client == *owner {
			return Ok(());
		}
		let grant = self
			.locations
			.iter()
			.find(|(r, _)| r == root)
			.and_then(|(_, location)| Endpoint::parse(location).ok())
			.and_then(|endpoint| endpoint.grant);
		match grant {
			Some(signature) if grant::verify(owner, root, &self.client, &signature) => Ok(()),
			Some(_) => Err("the grant in this artifact's location was not signed by this \
			                store's owner for this order's client"),
			None => Err("this store serves its artifacts to its owner's orders and to orders \
			             its owner granted them to; this order's client holds no grant"),
		}
	}

	/// Whether `who` may fetch `resource`; the error says why not.
	pub fn allows(&self, who: &[u8; 32], resource: Resource) -> Result<(), &'static str> {
		if !self.live {
			return Err("the order failed, expired or was cancelled");
		}
		let client = self.client == *who;
		let validator = self.validators.contains(who);
		let worker = self.workers.contains(who);
		let allowed = match resource {
			Resource::Artifact(root) if self.shared.contains(&root) => {
				client || validator || worker
			},
			Resource::Artifact(root) if root == self.validation => client || validator,
			Resource::Artifact(_) => return Err("this artifact is not part of the order"),
			Resource::Progress => client || validator,
			Resource::TrainedWork(worker)
				if client && !validator && !self.paid.contains(&worker) =>
			{
				return Err("a worker's trained model and checkpoints reach the client once the \
				            order is completed and that worker's work paid for");
			},
			Resource::TrainedWork(_) => client || validator,
		};
		if allowed {
			Ok(())
		} else {
			Err("the chain does not list this account for this order and resource")
		}
	}
}

/// How long an order's access list read from the chain serves before it is read again: under
/// one block (6 s), so that a decision to serve lags the chain by about a block at most. A
/// refusal is always decided on a fresh read, so the cache never refuses what the chain allows.
pub const ACCESS_TTL: Duration = Duration::from_secs(3);
/// Most orders kept; past it the expired ones go, then the oldest.
const CACHED_ORDERS: usize = 4096;

/// Orders' access lists as last read from the chain: a fetcher's stream of chunk requests for
/// one order costs the node one query per [`ACCESS_TTL`], not two RPCs per request.
#[derive(Default)]
pub struct AccessCache {
	entries: Mutex<HashMap<u64, (Instant, OrderAccess)>>,
}

impl AccessCache {
	/// The order's list if it was read less than [`ACCESS_TTL`] before `now`.
	pub fn get(&self, order: u64, now: Instant) -> Option<OrderAccess> {
		let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
		entries
			.get(&order)
			.filter(|(read, _)| now.saturating_duration_since(*read) < ACCESS_TTL)
			.map(|(_, access)| access.clone())
	}

	/// Keeps the order's list as read at `now`.
	pub fn keep(&self, order: u64, access: OrderAccess, now: Instant) {
		let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
		if entries.len() >= CACHED_ORDERS && !entries.contains_key(&order) {
			entries.retain(|_, (read, _)| now.saturating_duration_since(*read) < ACCESS_TTL);
			if entries.len() >= CACHED_ORDERS {
				let oldest = entries.iter().min_by_key(|(_, (read, _))| *read).map(|(id, _)| *id);
				if let Some(oldest) = oldest {
					entries.remove(&oldest);
				}
			}
		}
		entries.insert(order, (now, access));
	}

	/// Orders kept (for tests).
	#[cfg(test)]
	pub fn len(&self) -> usize {
		self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
	}
}

#[cfg(test)]
mod tests {
	use subxt_signer::sr25519::dev;

	use super::*;

	pub fn access() -> OrderAccess {
		OrderAccess {
			client: [1; 32],
			workers: vec![[2; 32], [3; 32]],
			validators: vec![[4; 32]],
			live: true,
			paid: Vec::new(),
			shared: vec![[10; 32]],
			validation: [11; 32],
			locations: Vec::new(),
		}
	}

	#[test]
	fn the_list_decides() {
		let access = access();
		let data = Resource::Artifact([10; 32]);
		let validation = Resource::Artifact([11; 32]);
		for who in [[1; 32], [2; 32], [4; 32]] {
			assert_eq!(access.allows(&who, data), Ok(()));
		}
		assert!(access.allows(&[9; 32], data).is_err());
		assert_eq!(access.allows(&[4; 32], validation), Ok(()));
		assert!(access.allows(&[2; 32], validation).is_err(), "a worker saw the validation set");
		let work = Resource::TrainedWork([2; 32]);
		assert!(access.allows(&[3; 32], work).is_err(), "a replica copied");
		assert!(access.allows(&[3; 32], Resource::Progress).is_err());
		assert_eq!(access.allows(&[4; 32], work), Ok(()));
		assert_eq!(access.allows(&[1; 32], Resource::Progress), Ok(()));
		assert!(access.allows(&[1; 32], Resource::Artifact([12; 32])).is_err());
		let over = OrderAccess { live: false, ..access.clone() };
		assert!(over.allows(&[1; 32], data).is_err());
	}

	#[test]
	fn attack_client_takes_the_model_before_paying() {
		let (accepted, rejected) = (Resource::TrainedWork([2; 32]), Resource::TrainedWork([3; 32]));
		let unpaid = access();
		assert!(unpaid.allows(&[1; 32], accepted).is_err());
		// Completed with worker 2 accepted and worker 3 rejected (its share refunded).
		let completed = OrderAccess { paid: vec![[2; 32]], ..access() };
		assert_eq!(completed.allows(&[1; 32], accepted), Ok(()));
		assert!(completed.allows(&[1; 32], rejected).is_err());
		// Paid or not, a worker never gets a replica's work.
		assert!(completed.allows(&[3; 32], accepted).is_err());
	}

	#[test]
	fn attack_copy_a_victims_spec_into_an_order_of_ones_own() {
		let (alice, eve) = (dev::alice(), dev::eve().public_key().0);
		let owner = alice.public_key().0;
		let pinned = format!("https://127.0.0.1:8700/?tls={}", "ab".repeat(32));
		let victims = OrderAccess { client: owner, ..access() };
		assert_eq!(victims.entitled(&owner, &[10; 32]), Ok(()));
		// Eve's copy names the same roots and locations, and Eve as its client.
		let copy = OrderAccess {
			client: eve,
			locations: vec![([10; 32], pinned.clone()), ([11; 32], pinned.clone())],
			..access()
		};
		assert!(copy.entitled(&owner, &[10; 32]).is_err());
		assert!(copy.entitled(&owner, &[11; 32]).is_err());
		// A grant to Bob copied into Eve's order does not open it either.
		let to_bob = grant::sign(&alice, &[10; 32], &dev::bob().public_key().0);
		let granted = format!("{pinned}&grant={}", hex::encode(to_bob));
		let stolen = OrderAccess { locations: vec![([10; 32], granted.clone())], ..copy.clone() };
		assert!(stolen.entitled(&owner, &[10; 32]).unwrap_err().contains("not signed"));
		// Bob's own order with that location is entitled to that root, and to nothing else.
		let bobs = OrderAccess {
			client: dev::bob().public_key().0,
			locations: vec![([10; 32], granted.clone()), ([11; 32], granted)],
			..access()
		};
		assert_eq!(bobs.entitled(&owner, &[10; 32]), Ok(()));
		assert!(bobs.entitled(&owner, &[11; 32]).is_err(), "a grant opened another root");
	}

	#[test]
	fn a_cached_list_serves_for_less_than_a_block_and_the_cache_stays_bounded() {
		let cache = AccessCache::default();
		let list = OrderAccess {
			client: [1; 32],
			workers: Vec::new(),
			validators: Vec::new(),
			live: true,
			paid: Vec::new(),
			shared: Vec::new(),
			validation: [0; 32],
			locations: Vec::new(),
		};
		let start = Instant::now();
		cache.keep(7, list.clone(), start);
		assert_eq!(cache.get(7, start + ACCESS_TTL / 2), Some(list.clone()));
		assert_eq!(cache.get(7, start + ACCESS_TTL), None, "read again after the TTL");
		assert_eq!(cache.get(8, start), None);
		// All fresh: past the bound, the oldest go one by one.
		for order in 0..(CACHED_ORDERS as u64 + 10) {
			cache.keep(order, list.clone(), start + Duration::from_micros(order));
		}
		assert_eq!(cache.len(), CACHED_ORDERS);
		assert_eq!(cache.get(0, start), None, "the oldest went first");
		assert!(cache.get(CACHED_ORDERS as u64 + 9, start).is_some());
		// Expired ones go first, all at once.
		cache.keep(1 << 40, list.clone(), start + ACCESS_TTL * 2);
		assert_eq!(cache.len(), 1);
	}
}

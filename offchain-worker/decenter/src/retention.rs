//! What a daemon keeps on disk of an order once it is over: a worker keeps the work a client
//! paid for while the chain still has the order (`OrderRetention`, 7 days, after which nobody
//! may fetch it), and nothing of an order that ended otherwise; a validator keeps what it
//! fetched only while the order's round runs. Each daemon sweeps its `orders/` directory once a
//! minute.

use std::{
	path::Path,
	time::{Duration, Instant},
};

use crate::chain::{AccountId, Chain, Order, OrderStatus};

/// How often a daemon looks for order directories it no longer needs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Whether a worker keeps its directory of an order in `status` (`None`: created on this chain
/// and pruned since, after `OrderRetention`): while the order runs, and once it is `Completed`
/// if the worker's work was `paid` for, since only then may the client download it.
pub fn worker_keeps(status: Option<OrderStatus>, paid: bool) -> bool {
	match status {
		None | Some(OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Failed) => false,
		Some(OrderStatus::Completed) => paid,
		Some(_) => true,
	}
}

/// Whether `me`'s slot of `order` was paid.
fn paid(order: &Order, me: &AccountId) -> bool {
	order.workers.0.iter().any(|slot| slot.account == *me && slot.paid)
}

/// The order ids under `data_dir/orders`, each a directory named by its id.
fn order_dirs(data_dir: &Path) -> Vec<u64> {
	let Ok(entries) = std::fs::read_dir(data_dir.join("orders")) else { return Vec::new() };
	entries
		.flatten()
		.filter(|entry| entry.path().is_dir())
		.filter_map(|entry| entry.file_name().to_str()?.parse().ok())
		.collect()
}

/// When a daemon last swept, so that it sweeps once every [`SWEEP_EVERY`].
#[derive(Default)]
pub struct Sweeper {
	last: Option<Instant>,
}

impl Sweeper {
	/// Deletes the directory of every order under `data_dir` that `keeps` (reading the chain)
	/// says is no longer needed; a failed read keeps it. Does nothing if it swept less than
	/// [`SWEEP_EVERY`] ago.
	pub async fn sweep(&mut self, chain: &Chain, data_dir: &Path, role: Role) {
		if self.last.is_some_and(|last| last.elapsed() < SWEEP_EVERY) {
			return;
		}
		self.last = Some(Instant::now());
		let me = chain.account();
		// An order the node does not have is gone only if the chain has had it: a node that
		// is still syncing has not seen the orders it will have.
		let Ok(next) = chain.next_order_id().await else { return };
		for id in order_dirs(data_dir) {
			let keep = match role {
				Role::Worker => chain.order(id).await.map(|order| {
					let paid = order.as_ref().is_some_and(|order| paid(order, &me));
					id >= next || worker_keeps(order.map(|order| order.status), paid)
				}),
				Role::Validator => chain.round(id).await.map(|round| id >= next || round.is_some()),
			};
			if matches!(keep, Ok(false)) {
				let dir = data_dir.join("orders").join(id.to_string());
				match std::fs::remove_dir_all(&dir) {
					Ok(()) => tracing::info!(order = id, "removed its files: the order is over"),
					Err(e) => tracing::warn!(order = id, "cannot remove {}: {e}", dir.display()),
				}
			}
		}
	}
}

/// Whose retention rule applies.
#[derive(Clone, Copy)]
pub enum Role {
	Worker,
	Validator,
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_paid_work_of_an_order_on_chain_is_kept_once_it_is_over() {
		for status in [
			OrderStatus::Open,
			OrderStatus::Assigned,
			OrderStatus::Training,
			OrderStatus::Proving,
			OrderStatus::Validating,
		] {
			assert!(worker_keeps(Some(status), false), "a running order's files are kept");
		}
		// The client may download a paid worker's model and checkpoints; a rejected worker's,
		// or any of an order that ended otherwise, nobody may fetch.
		assert!(worker_keeps(Some(OrderStatus::Completed), true));
		assert!(!worker_keeps(Some(OrderStatus::Completed), false));
		for status in [OrderStatus::Cancelled, OrderStatus::Expired, OrderStatus::Failed] {
			assert!(!worker_keeps(Some(status), true));
		}
		// Pruned from the chain after `OrderRetention`: nobody may fetch it any more.
		assert!(!worker_keeps(None, true));
	}

	#[test]
	fn order_directories_are_found_by_their_ids() {
		let dir = std::env::temp_dir().join(format!("decenter-retention-{}", std::process::id()));
		for name in ["3", "17", "notes"] {
			std::fs::create_dir_all(dir.join("orders").join(name)).unwrap();
		}
		std::fs::write(dir.join("orders").join("5"), b"a file, not an order").unwrap();
		let mut ids = order_dirs(&dir);
		ids.sort();
		let _ = std::fs::remove_dir_all(&dir);
		assert_eq!(ids, vec![3, 17]);
	}
}

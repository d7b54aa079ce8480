//! What the worker and validator daemons share: follow finalized blocks, act on each, and
//! reconnect with backoff when the node goes away. A role keeps its progress on disk and in
//! memory outside the connection, so a reconnect (or a restart) picks up where it was.

use std::{sync::Arc, time::Duration};

use subxt_signer::sr25519::Keypair;

use crate::{chain::Chain, metrics::Metrics, server::ChainSlot};

/// A daemon's part in the protocol.
pub trait Role {
	/// Runs once per connection, before following blocks (registration).
	async fn setup(&mut self, chain: &Chain) -> Result<(), String>;
	/// Runs on every finalized block, and every few seconds in between.
	async fn tick(&mut self, chain: &Chain) -> Result<(), String>;
}

/// Serves `role` forever: connect, set up, follow blocks; on a lost connection, reconnect.
pub async fn run(
	url: &str,
	key: Arc<Keypair>,
	metrics: Metrics,
	slot: ChainSlot,
	role: &mut impl Role,
) {
	loop {
		let chain = Chain::connect_with_backoff(url, key.clone(), metrics.clone()).await;
		tracing::info!(node = url, account = %chain.account(), "connected");
		*slot.write().await = Some(chain.clone());
		if let Err(e) = follow(&chain, role).await {
			tracing::warn!("lost the node at {url}: {e}; reconnecting");
		}
		*slot.write().await = None;
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
}

async fn follow(chain: &Chain, role: &mut impl Role) -> Result<(), String> {
	while let Err(e) = role.setup(chain).await {
		chain.finalized_number().await.map_err(|e| e.to_string())?;
		tracing::warn!("{e}; retrying in 6 s");
		tokio::time::sleep(Duration::from_secs(6)).await;
	}
	let mut blocks = chain.client.stream_blocks().await.map_err(|e| e.to_string())?;
	loop {
		match tokio::time::timeout(Duration::from_secs(3), blocks.next()).await {
			Ok(Some(Ok(_))) | Err(_) => {
				if let Err(e) = role.tick(chain).await {
					// A failing node shows in a plain read; anything else is the order's problem
					// and is retried on the next block.
					chain.finalized_number().await.map_err(|e| e.to_string())?;
					tracing::debug!("tick: {e}");
				}
			},
			Ok(Some(Err(e))) => return Err(e.to_string()),
			Ok(None) => return Err("the node ended the block subscription".into()),
		}
	}
}

/// Logs what acting on order `id` came to; an action that only awaits finality is not an error.
pub fn logged(id: u64, result: Result<(), String>) -> Result<(), String> {
	match result {
		Err(e) if e.contains(crate::chain::AWAITING_FINALITY) => {
			tracing::debug!(order = id, "{e}");
			Ok(())
		},
		Err(e) => {
			tracing::warn!(order = id, "{e}");
			Err(e)
		},
		Ok(()) => Ok(()),
	}
}

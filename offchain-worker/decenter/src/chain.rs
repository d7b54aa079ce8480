//! The chain client: a subxt connection to a DeCenter node, the signing account, and the
//! reads and extrinsics the roles use.
//!
//! Decisions are made on *finalized* state (`at_current_block` is the latest finalized
//! block), so nothing is acted on that a reorg could take back. Extrinsics carry nonces this
//! client counts itself (starting from the node's pool-aware `system_accountNextIndex`), so
//! several can go out in one block.

use std::{sync::Arc, time::Duration};

use decenter_primitives::{order::OrderSpec, proof, Hash256};
use subxt::{
	config::DefaultExtrinsicParamsBuilder,
	config::RpcConfigFor,
	rpcs::{LegacyRpcMethods, RpcClient},
	transactions::Payload,
	utils::AccountId32,
	OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::Keypair;
use tokio::sync::Mutex;

use crate::{
	metrics::Metrics,
	runtime::{api, convert},
};

pub type Client = OnlineClient<PolkadotConfig>;

/// Says that an action was not sent again because it is already in a block.
pub const AWAITING_FINALITY: &str = "already included, awaiting finality";

/// How long an included action is not repeated while finality catches up.
const RECENT_ACTION: Duration = Duration::from_secs(30);

/// How long a submitted transaction may take to reach a block (20 blocks of 3 s), and to be
/// finalized, before it is given up on and the account's nonce is read again.
const IN_BLOCK_TIMEOUT: Duration = Duration::from_secs(60);
const FINALIZED_TIMEOUT: Duration = Duration::from_secs(300);
pub type AccountId = AccountId32;
pub type Order = api::runtime_types::pallet_training_orders::types::Order<AccountId, u128, u32>;
pub type OrderStatus = api::runtime_types::pallet_training_orders::types::OrderStatus;
/// The windows, fee and deposit the chain asks of a spec (`TrainingOrdersApi::quote`).
pub type Quote = api::runtime_types::pallet_training_orders::types::Quote<u128, u32>;
pub type Round = api::runtime_types::pallet_proof_of_train::types::Round<AccountId, u32>;
pub type Phase = api::runtime_types::pallet_proof_of_train::types::Phase<u32>;
pub type SegmentCheck = api::runtime_types::pallet_proof_of_train::types::SegmentCheck;
pub type TaskStatus = api::runtime_types::pallet_proof_of_train::types::TaskStatus;
pub type SealedReport = api::runtime_types::pallet_proof_of_train::types::SealedReport;
pub type Participant = api::runtime_types::pallet_compute_staking::types::Participant<u128, u32>;
pub type Certificate = api::runtime_types::pallet_certificates::types::Certificate<AccountId, u32>;

/// The pool a daemon registers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleKind {
	Worker,
	Validator,
}

/// What went wrong talking to the chain, in words for the operator.
#[derive(Debug)]
pub struct ChainError(pub String);

impl std::fmt::Display for ChainError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(&self.0)
	}
}

impl std::error::Error for ChainError {}

pub type Result<T> = std::result::Result<T, ChainError>;

fn failed(what: &str, e: impl std::fmt::Display) -> ChainError {
	ChainError(format!("{what}: {e}"))
}

/// A connection to a node, and the account that signs.
#[derive(Clone)]
pub struct Chain {
	pub client: Client,
	rpc: LegacyRpcMethods<RpcConfigFor<PolkadotConfig>>,
	signer: Arc<Keypair>,
	/// The next nonce to use, once known; `None` after a failed submission.
	nonce: Arc<Mutex<Option<u64>>>,
	/// Actions included recently, by name: decisions are made on finalized state, which
	/// lags the best block, so an action just included must not be sent again meanwhile.
	recent: Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
	metrics: Metrics,
}

impl Chain {
	/// Connects once to `url`.
	pub async fn connect(url: &str, signer: Arc<Keypair>, metrics: Metrics) -> Result<Self> {
		let rpc_client = RpcClient::from_insecure_url(url)
			.await
			.map_err(|e| failed(&format!("cannot reach the node at {url}"), e))?;
		let client = Client::from_rpc_client(rpc_client.clone())
			.await
			.map_err(|e| failed(&format!("cannot start a client for {url}"), e))?;
		Ok(Chain {
			client,
			rpc: LegacyRpcMethods::new(rpc_client),
			signer,
			nonce: Arc::new(Mutex::new(None)),
			recent: Default::default(),
			metrics,
		})
	}

	/// Connects to `url`, retrying with exponential backoff (1 s doubling to 30 s) until the
	/// node answers.
	pub async fn connect_with_backoff(url: &str, signer: Arc<Keypair>, metrics: Metrics) -> Self {
		let mut delay = Duration::from_secs(1);
		loop {
			match Self::connect(url, signer.clone(), metrics.clone()).await {
				Ok(chain) => return chain,
				Err(e) => {
					tracing::warn!("{e}; retrying in {} s", delay.as_secs());
					tokio::time::sleep(delay).await;
					delay = (delay * 2).min(Duration::from_secs(30));
				},
			}
		}
	}

	/// The signing account.
	pub fn account(&self) -> AccountId {
		self.signer.public_key().to_account_id()
	}

	/// Signs and submits `call`, waits until it is in a block and checks that it succeeded.
	/// `what` names the action in logs and errors.
	pub async fn submit<C: Payload>(
		&self,
		what: &str,
		call: &C,
	) -> Result<subxt::extrinsics::ExtrinsicEvents<PolkadotConfig>> {
		self.submit_until(what, call, false).await
	}

	/// As [`Self::submit`], but waits until the block is finalized: for calls whose outcome the
	/// caller acts on (an order's id, money held in escrow).
	pub async fn submit_finalized<C: Payload>(
		&self,
		what: &str,
		call: &C,
	) -> Result<subxt::extrinsics::ExtrinsicEvents<PolkadotConfig>> {
		self.submit_until(what, call, true).await
	}

	async fn submit_until<C: Payload>(
		&self,
		what: &str,
		call: &C,
		finalized: bool,
	) -> Result<subxt::extrinsics::ExtrinsicEvents<PolkadotConfig>> {
		if self
			.recent
			.lock()
			.map_or(false, |recent| recent.get(what).is_some_and(|at| at.elapsed() < RECENT_ACTION))
		{
			return Err(ChainError(format!("{what}: {AWAITING_FINALITY}")));
		}
		let result = self.submit_inner(call, finalized).await;
		if result.is_ok() {
			if let Ok(mut recent) = self.recent.lock() {
				recent.retain(|_, at| at.elapsed() < RECENT_ACTION);
				recent.insert(what.to_string(), std::time::Instant::now());
			}
		}
		let outcome = if result.is_ok() { "ok" } else { "failed" };
		self.metrics.extrinsic(outcome);
		match result {
			Ok(events) => {
				tracing::info!(extrinsic = what, "included");
				Ok(events)
			},
			Err(e) => Err(failed(what, e)),
		}
	}

	async fn submit_inner<C: Payload>(
		&self,
		call: &C,
		finalized: bool,
	) -> std::result::Result<subxt::extrinsics::ExtrinsicEvents<PolkadotConfig>, String> {
		let progress = {
			let mut next = self.nonce.lock().await;
			let pool = self
				.rpc
				.system_account_next_index(&self.account())
				.await
				.map_err(|e| format!("cannot read the account nonce: {e}"))?;
			let nonce = next.map_or(pool, |n| n.max(pool));
			let params =
				DefaultExtrinsicParamsBuilder::<PolkadotConfig>::new().nonce(nonce).build();
			let at = self.client.at_current_block().await.map_err(|e| e.to_string())?;
			let submitted = at
				.transactions()
				.sign_and_submit_then_watch(call, self.signer.as_ref(), params)
				.await;
			match submitted {
				Ok(progress) => {
					*next = Some(nonce + 1);
					progress
				},
				Err(e) => {
					*next = None;
					return Err(e.to_string());
				},
			}
		};
		let timeout = if finalized { FINALIZED_TIMEOUT } else { IN_BLOCK_TIMEOUT };
		let in_block = match tokio::time::timeout(timeout, wait_in_block(finalized, progress)).await
		{
			Ok(Ok(block)) => block,
			outcome => {
				// A transaction that was dropped, found invalid or never included leaves the
				// cached next nonce ahead of the account's: later ones would wait behind a gap
				// for ever. Read it from the node again.
				*self.nonce.lock().await = None;
				return Err(match outcome {
					Ok(Err(e)) => e,
					_ if finalized => format!(
						"not finalized within {} s: it may still be; look (an order's id, a \
						 balance) before sending it again",
						timeout.as_secs()
					),
					_ => format!("not in a block within {} s; giving up on it", timeout.as_secs()),
				});
			},
		};
		in_block.wait_for_success().await.map_err(|e| e.to_string())
	}

	/// State at the latest finalized block.
	pub async fn at(
		&self,
	) -> Result<
		subxt::client::ClientAtBlock<
			PolkadotConfig,
			subxt::client::OnlineClientAtBlockImpl<PolkadotConfig>,
		>,
	> {
		self.client
			.at_current_block()
			.await
			.map_err(|e| failed("cannot read the finalized block", e))
	}

	/// Number of the latest finalized block.
	pub async fn finalized_number(&self) -> Result<u64> {
		Ok(self.at().await?.block_number())
	}

	pub async fn order(&self, id: u64) -> Result<Option<Order>> {
		let call = api::runtime_apis().training_orders_api().order(id);
		self.at().await?.runtime_apis().call(call).await.map_err(|e| failed("reading an order", e))
	}

	/// The order's spec as the shared primitives type.
	pub fn spec_of(order: &Order) -> Result<OrderSpec> {
		convert(&order.spec).map_err(|e| failed("decoding an order spec", e))
	}

	pub async fn assignments_of(&self, who: &AccountId) -> Result<Vec<u64>> {
		let call = api::runtime_apis().training_orders_api().assignments_of(who.clone());
		self.at()
			.await?
			.runtime_apis()
			.call(call)
			.await
			.map_err(|e| failed("reading assignments", e))
	}

	pub async fn round(&self, id: u64) -> Result<Option<Round>> {
		let call = api::runtime_apis().proof_of_train_api().round(id);
		self.at().await?.runtime_apis().call(call).await.map_err(|e| failed("reading a round", e))
	}

	/// The orders that have a proof-of-train round.
	pub async fn rounds(&self) -> Result<Vec<u64>> {
		let at = self.at().await?;
		let entry = at
			.storage()
			.entry(api::storage().proof_of_train().rounds())
			.map_err(|e| failed("reading rounds", e))?;
		let mut iter = entry.iter(()).await.map_err(|e| failed("reading rounds", e))?;
		let mut ids = Vec::new();
		while let Some(item) = iter.next().await {
			let item = item.map_err(|e| failed("reading rounds", e))?;
			let key = item.key().map_err(|e| failed("reading rounds", e))?;
			let (id,) = key.decode().map_err(|e| failed("reading rounds", e))?;
			ids.push(id);
		}
		Ok(ids)
	}

	pub async fn tasks_of(&self, id: u64, who: &AccountId) -> Result<Vec<(u32, SegmentCheck)>> {
		let call = api::runtime_apis().proof_of_train_api().tasks_of(id, who.clone());
		self.at().await?.runtime_apis().call(call).await.map_err(|e| failed("reading tasks", e))
	}

	/// The id the next order will get: every order with a lower id was created on this chain.
	pub async fn next_order_id(&self) -> Result<u64> {
		let at = self.at().await?;
		let entry = at
			.storage()
			.entry(api::storage().training_orders().next_order_id())
			.map_err(|e| failed("reading the next order id", e))?;
		match entry.try_fetch(()).await.map_err(|e| failed("reading the next order id", e))? {
			Some(value) => value.decode().map_err(|e| failed("decoding the next order id", e)),
			None => Ok(0),
		}
	}

	/// The revealed checkpoint hashes of worker `slot` of order `id`.
	pub async fn checkpoint_hashes(&self, id: u64, slot: u32) -> Result<Option<Vec<Hash256>>> {
		let at = self.at().await?;
		let entry = at
			.storage()
			.entry(api::storage().proof_of_train().checkpoint_hashes())
			.map_err(|e| failed("reading checkpoint hashes", e))?;
		match entry
			.try_fetch((id, slot))
			.await
			.map_err(|e| failed("reading checkpoint hashes", e))?
		{
			Some(value) => {
				let list = value.decode().map_err(|e| failed("decoding checkpoint hashes", e))?;
				Ok(Some(list.0))
			},
			None => Ok(None),
		}
	}

	/// The canonical bytes of checkpoint `index` that a worker of order `id` posted on chain
	/// (`post_checkpoint`) and that hash to `expected`: searched from the finalized head back
	/// through at most `depth` blocks, newest first (a post is usually a few blocks old when a
	/// referee looks for it).
	pub async fn posted_checkpoint(
		&self,
		id: u64,
		index: u32,
		expected: &Hash256,
		depth: u64,
	) -> Result<Option<Vec<u8>>> {
		use api::proof_of_train::calls::PostCheckpoint;
		let head = self.finalized_number().await?;
		for number in (head.saturating_sub(depth)..=head).rev() {
			let at = self
				.client
				.at_block(number)
				.await
				.map_err(|e| failed("reading a block for a posted checkpoint", e))?;
			let extrinsics = at
				.extrinsics()
				.fetch()
				.await
				.map_err(|e| failed("reading a block's extrinsics", e))?;
			for call in extrinsics.find::<PostCheckpoint>().filter_map(|call| call.ok()) {
				let bytes = call.state.0;
				// A failed post (another order, or bytes the chain refused) never matches.
				if call.order == id
					&& call.index == index
					&& proof::checkpoint_hash_of_bytes(&bytes) == Some(*expected)
				{
					return Ok(Some(bytes));
				}
			}
		}
		Ok(None)
	}

	pub async fn report(&self, id: u64, who: &AccountId) -> Result<Option<SealedReport>> {
		let at = self.at().await?;
		let entry = at
			.storage()
			.entry(api::storage().proof_of_train().reports())
			.map_err(|e| failed("reading reports", e))?;
		match entry.try_fetch((id, who.clone())).await.map_err(|e| failed("reading reports", e))? {
			Some(value) => Ok(Some(value.decode().map_err(|e| failed("decoding a report", e))?)),
			None => Ok(None),
		}
	}

	pub async fn participant(&self, who: &AccountId) -> Result<Option<Participant>> {
		let call = api::runtime_apis().compute_staking_api().participant(who.clone());
		self.at()
			.await?
			.runtime_apis()
			.call(call)
			.await
			.map_err(|e| failed("reading a participant", e))
	}

	pub async fn required_bond(&self, capacity: u32) -> Result<u128> {
		let call = api::runtime_apis().compute_staking_api().required_bond(capacity);
		self.at().await?.runtime_apis().call(call).await.map_err(|e| failed("reading the bond", e))
	}

	/// The chain's quote for a spec at `capacity` GFLOP/s per worker. The outer error: the
	/// chain could not be asked; the inner one: the chain refuses the spec, and why.
	pub async fn quote(
		&self,
		spec: &OrderSpec,
		capacity: u32,
	) -> Result<std::result::Result<Quote, String>> {
		let spec = convert(spec).map_err(|e| failed("converting an order spec", e))?;
		let call = api::runtime_apis().training_orders_api().quote(spec, capacity);
		let quote = self
			.at()
			.await?
			.runtime_apis()
			.call(call)
			.await
			.map_err(|e| failed("asking for a quote", e))?;
		Ok(quote.map_err(|e| format!("{e:?}")))
	}

	/// Blocks the assigned workers of `order` have to fetch its inputs and confirm.
	pub async fn confirm_window(&self, order: &Order) -> Result<u32> {
		let spec = Self::spec_of(order)?;
		let quote = self
			.quote(&spec, order.capacity)
			.await?
			.map_err(|e| ChainError(format!("the chain quotes no window for the order: {e}")))?;
		Ok(quote.confirm_window)
	}

	pub async fn certificates_of(&self, who: &AccountId) -> Result<Vec<u32>> {
		let call = api::runtime_apis().certificates_api().certificates_of(who.clone());
		self.at()
			.await?
			.runtime_apis()
			.call(call)
			.await
			.map_err(|e| failed("reading certificates", e))
	}

	pub async fn certificate(&self, id: u32) -> Result<Option<Certificate>> {
		let call = api::runtime_apis().certificates_api().certificate(id);
		self.at()
			.await?
			.runtime_apis()
			.call(call)
			.await
			.map_err(|e| failed("reading a certificate", e))
	}

	/// The pallet-nfts collection certificates are minted in.
	pub async fn certificate_collection(&self) -> Result<u32> {
		let at = self.at().await?;
		let entry = at
			.storage()
			.entry(api::storage().certificates().certificate_collection())
			.map_err(|e| failed("reading the certificate collection", e))?;
		let value = entry
			.try_fetch(())
			.await
			.map_err(|e| failed("reading the certificate collection", e))?
			.ok_or_else(|| ChainError("no certificate collection yet".into()))?;
		value.decode().map_err(|e| failed("decoding the certificate collection", e))
	}

	/// Where `who` serves artifacts, from its staking registration.
	pub async fn endpoint_of(&self, who: &AccountId) -> Result<String> {
		let participant = self
			.participant(who)
			.await?
			.ok_or_else(|| ChainError(format!("{who} is not registered")))?;
		String::from_utf8(participant.endpoint.0)
			.map_err(|_| ChainError(format!("{who} registered an endpoint that is not UTF-8")))
	}
}

async fn wait_in_block(
	finalized: bool,
	mut progress: subxt::transactions::TransactionProgress<
		PolkadotConfig,
		subxt::client::OnlineClientAtBlockImpl<PolkadotConfig>,
	>,
) -> std::result::Result<
	subxt::transactions::TransactionInBlock<
		PolkadotConfig,
		subxt::client::OnlineClientAtBlockImpl<PolkadotConfig>,
	>,
	String,
> {
	use subxt::transactions::TransactionStatus;
	while let Some(status) = progress.next().await {
		match status.map_err(|e| e.to_string())? {
			TransactionStatus::InBestBlock(block) if !finalized => return Ok(block),
			TransactionStatus::InFinalizedBlock(block) => return Ok(block),
			TransactionStatus::Error { message } => return Err(message),
			TransactionStatus::Invalid { message } => return Err(format!("invalid: {message}")),
			TransactionStatus::Dropped { message } => return Err(format!("dropped: {message}")),
			_ => continue,
		}
	}
	Err("the node stopped reporting on the transaction".into())
}

//! The runtime APIs the node, polkadot.js apps and the off-chain program call.

use alloc::vec::Vec;
use frame_support::{
	genesis_builder_helper::{build_state, get_preset},
	weights::Weight,
};
use pallet_grandpa::AuthorityId as GrandpaId;
use sp_api::impl_runtime_apis;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
use sp_runtime::{
	traits::{Block as BlockT, NumberFor},
	transaction_validity::{TransactionSource, TransactionValidity},
	ApplyExtrinsicResult,
};
use sp_version::RuntimeVersion;

use super::{
	genesis_config_presets, opaque::SessionKeys, AccountId, Aura, Balance, Block, BlockNumber,
	Certificates, ComputeStaking, Executive, Grandpa, InherentDataExt, Nfts, Nonce, ProofOfTrain,
	Runtime, RuntimeCall, RuntimeGenesisConfig, System, TrainingOrders, TransactionPayment,
	VERSION,
};

impl_runtime_apis! {
	impl sp_api::Core<Block> for Runtime {
		fn version() -> RuntimeVersion {
			VERSION
		}

		fn execute_block(block: <Block as BlockT>::LazyBlock) {
			Executive::execute_block(block);
		}

		fn initialize_block(header: &<Block as BlockT>::Header) -> sp_runtime::ExtrinsicInclusionMode {
			Executive::initialize_block(header)
		}
	}

	impl sp_api::Metadata<Block> for Runtime {
		fn metadata() -> OpaqueMetadata {
			OpaqueMetadata::new(Runtime::metadata().into())
		}

		fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
			Runtime::metadata_at_version(version)
		}

		fn metadata_versions() -> Vec<u32> {
			Runtime::metadata_versions()
		}
	}

	impl sp_block_builder::BlockBuilder<Block> for Runtime {
		fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
			Executive::apply_extrinsic(extrinsic)
		}

		fn finalize_block() -> <Block as BlockT>::Header {
			Executive::finalize_block()
		}

		fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
			data.create_extrinsics()
		}

		fn check_inherents(
			block: <Block as BlockT>::LazyBlock,
			data: sp_inherents::InherentData,
		) -> sp_inherents::CheckInherentsResult {
			data.check_extrinsics(&block)
		}
	}

	impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
		fn validate_transaction(
			source: TransactionSource,
			tx: <Block as BlockT>::Extrinsic,
			block_hash: <Block as BlockT>::Hash,
		) -> TransactionValidity {
			Executive::validate_transaction(source, tx, block_hash)
		}
	}

	impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
		fn offchain_worker(header: &<Block as BlockT>::Header) {
			Executive::offchain_worker(header)
		}
	}

	impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
		fn slot_duration() -> sp_consensus_aura::SlotDuration {
			sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
		}

		fn authorities() -> Vec<AuraId> {
			pallet_aura::Authorities::<Runtime>::get().into_inner()
		}
	}

	impl sp_session::SessionKeys<Block> for Runtime {
		fn generate_session_keys(owner: Vec<u8>, seed: Option<Vec<u8>>) -> sp_session::OpaqueGeneratedSessionKeys {
			SessionKeys::generate(&owner, seed).into()
		}

		fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
			SessionKeys::decode_into_raw_public_keys(&encoded)
		}
	}

	impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
		fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
			Grandpa::grandpa_authorities()
		}

		fn current_set_id() -> sp_consensus_grandpa::SetId {
			Grandpa::current_set_id()
		}

		fn submit_report_equivocation_unsigned_extrinsic(
			_equivocation_proof: sp_consensus_grandpa::EquivocationProof<
				<Block as BlockT>::Hash,
				NumberFor<Block>,
			>,
			_key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
		) -> Option<()> {
			// Equivocation reports need session historical proofs, which a chain without
			// the session pallet cannot produce.
			None
		}

		fn generate_key_ownership_proof(
			_set_id: sp_consensus_grandpa::SetId,
			_authority_id: GrandpaId,
		) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
			None
		}
	}

	impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
		fn account_nonce(account: AccountId) -> Nonce {
			System::account_nonce(account)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
		fn query_info(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_info(uxt, len)
		}
		fn query_fee_details(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_fee_details(uxt, len)
		}
		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}
		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentCallApi<Block, Balance, RuntimeCall>
		for Runtime
	{
		fn query_call_info(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_call_info(call, len)
		}
		fn query_call_fee_details(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_call_fee_details(call, len)
		}
		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}
		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	impl pallet_nfts_runtime_api::NftsApi<Block, AccountId, u32, u32> for Runtime {
		fn owner(collection: u32, item: u32) -> Option<AccountId> {
			<Nfts as frame_support::traits::tokens::nonfungibles_v2::Inspect<AccountId>>::owner(&collection, &item)
		}

		fn collection_owner(collection: u32) -> Option<AccountId> {
			<Nfts as frame_support::traits::tokens::nonfungibles_v2::Inspect<AccountId>>::collection_owner(&collection)
		}

		fn attribute(collection: u32, item: u32, key: Vec<u8>) -> Option<Vec<u8>> {
			<Nfts as frame_support::traits::tokens::nonfungibles_v2::Inspect<AccountId>>::attribute(&collection, &item, &key)
		}

		fn custom_attribute(account: AccountId, collection: u32, item: u32, key: Vec<u8>) -> Option<Vec<u8>> {
			<Nfts as frame_support::traits::tokens::nonfungibles_v2::Inspect<AccountId>>::custom_attribute(&account, &collection, &item, &key)
		}

		fn system_attribute(collection: u32, item: Option<u32>, key: Vec<u8>) -> Option<Vec<u8>> {
			<Nfts as frame_support::traits::tokens::nonfungibles_v2::Inspect<AccountId>>::system_attribute(&collection, item.as_ref(), &key)
		}

		fn collection_attribute(collection: u32, key: Vec<u8>) -> Option<Vec<u8>> {
			<Nfts as frame_support::traits::tokens::nonfungibles_v2::Inspect<AccountId>>::collection_attribute(&collection, &key)
		}
	}

	impl pallet_compute_staking::runtime_api::ComputeStakingApi<
		Block,
		AccountId,
		Balance,
		pallet_compute_staking::ParticipantOf<Runtime>,
		pallet_compute_staking::UnbondingChunksOf<Runtime>,
		pallet_compute_staking::ReputationOf<Runtime>,
	> for Runtime {
		fn participant(who: AccountId) -> Option<pallet_compute_staking::ParticipantOf<Runtime>> {
			pallet_compute_staking::Participants::<Runtime>::get(who)
		}

		fn unbonding(who: AccountId) -> pallet_compute_staking::UnbondingChunksOf<Runtime> {
			pallet_compute_staking::Unbonding::<Runtime>::get(who)
		}

		fn reputation(who: AccountId) -> pallet_compute_staking::ReputationOf<Runtime> {
			pallet_compute_staking::Reputations::<Runtime>::get(who)
		}

		fn required_bond(capacity: pallet_compute_staking::ComputeUnits) -> Balance {
			ComputeStaking::required_bond(capacity)
		}

		fn pool(role: pallet_compute_staking::Role) -> Vec<AccountId> {
			pallet_compute_staking::Pools::<Runtime>::get(role).into_inner()
		}
	}

	impl pallet_training_orders::runtime_api::TrainingOrdersApi<
		Block,
		AccountId,
		pallet_training_orders::OrderOf<Runtime>,
		pallet_training_orders::Quote<Balance, BlockNumber>,
	> for Runtime {
		fn order(id: pallet_training_orders::OrderId) -> Option<pallet_training_orders::OrderOf<Runtime>> {
			pallet_training_orders::Orders::<Runtime>::get(id)
		}

		fn open_orders() -> Vec<pallet_training_orders::OrderId> {
			pallet_training_orders::OpenOrders::<Runtime>::get().into_inner()
		}

		fn orders_of(client: AccountId) -> Vec<pallet_training_orders::OrderId> {
			pallet_training_orders::ClientOrders::<Runtime>::get(client).into_inner()
		}

		fn assignments_of(worker: AccountId) -> Vec<pallet_training_orders::OrderId> {
			pallet_training_orders::WorkerOrders::<Runtime>::iter_key_prefix(worker).collect()
		}

		fn can_fetch(id: pallet_training_orders::OrderId, who: AccountId) -> bool {
			TrainingOrders::can_fetch(id, &who)
		}

		fn quote(
			spec: pallet_training_orders::OrderSpec,
			capacity: u32,
		) -> Result<pallet_training_orders::Quote<Balance, BlockNumber>, sp_runtime::DispatchError> {
			TrainingOrders::quote(&spec, capacity)
		}
	}

	impl pallet_proof_of_train::runtime_api::ProofOfTrainApi<
		Block,
		AccountId,
		pallet_proof_of_train::RoundOf<Runtime>,
	> for Runtime {
		fn round(order: pallet_training_orders::OrderId) -> Option<pallet_proof_of_train::RoundOf<Runtime>> {
			pallet_proof_of_train::Rounds::<Runtime>::get(order)
		}

		fn tasks_of(
			order: pallet_training_orders::OrderId,
			who: AccountId,
		) -> Vec<(u32, pallet_proof_of_train::SegmentCheck)> {
			ProofOfTrain::tasks_for(order, &who)
		}
	}

	impl pallet_certificates::runtime_api::CertificatesApi<Block, AccountId, BlockNumber> for Runtime {
		fn certificate(
			id: pallet_certificates::CertificateId,
		) -> Option<pallet_certificates::Certificate<AccountId, BlockNumber>> {
			pallet_certificates::Issued::<Runtime>::get(id)
		}

		fn certificates_of(owner: AccountId) -> Vec<pallet_certificates::CertificateId> {
			Certificates::certificates_of(&owner)
		}

		fn certificates_for_model(model_hash: [u8; 32]) -> Vec<pallet_certificates::CertificateId> {
			Certificates::certificates_for_model(&model_hash)
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	impl frame_benchmarking::Benchmark<Block> for Runtime {
		fn benchmark_metadata(extra: bool) -> (
			Vec<frame_benchmarking::BenchmarkList>,
			Vec<frame_support::traits::StorageInfo>,
		) {
			use frame_benchmarking::{baseline, BenchmarkList};
			use frame_support::traits::StorageInfoTrait;
			use frame_system_benchmarking::Pallet as SystemBench;
			use baseline::Pallet as BaselineBench;
			use super::*;

			let mut list = Vec::<BenchmarkList>::new();
			list_benchmarks!(list, extra);

			let storage_info = AllPalletsWithSystem::storage_info();
			(list, storage_info)
		}

		fn dispatch_benchmark(
			config: frame_benchmarking::BenchmarkConfig
		) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
			use frame_benchmarking::{baseline, BenchmarkBatch};
			use sp_storage::TrackedStorageKey;
			use frame_system_benchmarking::Pallet as SystemBench;
			use baseline::Pallet as BaselineBench;
			use frame_support::traits::WhitelistedStorageKeys;
			use super::*;

			impl frame_system_benchmarking::Config for Runtime {}
			impl baseline::Config for Runtime {}

			let whitelist: Vec<TrackedStorageKey> = AllPalletsWithSystem::whitelisted_storage_keys();
			let mut batches = Vec::<BenchmarkBatch>::new();
			let params = (&config, &whitelist);
			add_benchmarks!(params, batches);
			Ok(batches)
		}
	}

	impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
		fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
			build_state::<RuntimeGenesisConfig>(config)
		}

		fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
			get_preset::<RuntimeGenesisConfig>(id, genesis_config_presets::get_preset)
		}

		fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
			genesis_config_presets::preset_names()
		}
	}
}

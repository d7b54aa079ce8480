//! # Certificates
//!
//! Every completed training order leaves NFTs behind: a **model certificate** for the client
//! (transferable, like any NFT) and a **contributor certificate** for each accepted worker and
//! each validator that checked the work honestly (bound to its holder). They live in one
//! pallet-nfts collection that this pallet creates on first use and owns, so polkadot.js apps
//! lists them under `nfts` like any other item, and nobody else can mint into it.
//!
//! Each certificate carries attributes in pallet-nfts' `Pallet` namespace, readable in apps
//! (`nfts.attribute(collection, item, { Pallet: null }, key)`): `kind`, `order`, `model_hash`,
//! `pot_root`, `loss`, `accuracy` and `block`. This pallet also keeps the facts typed, and the
//! runtime API `CertificatesApi` answers by id, by current owner and by model hash.
//!
//! Certificates are issued only through [`CertificateIssuer`], by the proof-of-train pallet on
//! settlement; there are no calls.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(test)]
mod mock;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod traits;
pub mod types;

pub use pallet::*;
pub use traits::CertificateIssuer;
pub use types::*;

use alloc::{format, string::String, vec::Vec};
use decenter_primitives::Hash256;
use frame_support::{
	pallet_prelude::*,
	traits::{tokens::nonfungibles_v2::Mutate as NftMutate, Incrementable},
	PalletId,
};
use frame_system::pallet_prelude::*;
use pallet_nfts::{
	CollectionConfig, CollectionSetting, CollectionSettings, ItemConfig, ItemSetting, ItemSettings,
	MintSettings,
};
use sp_runtime::traits::{AccountIdConversion, StaticLookup};

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config + pallet_nfts::Config<ItemId = CertificateId> {
		/// The overarching event type.
		#[allow(deprecated)]
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

		/// Derives the account that owns the certificates collection.
		#[pallet::constant]
		type PalletId: Get<PalletId>;
	}

	/// The pallet-nfts collection that holds every certificate (created with the first one).
	#[pallet::storage]
	pub type CertificateCollection<T: Config> = StorageValue<_, T::CollectionId, OptionQuery>;

	/// Id of the next certificate.
	#[pallet::storage]
	pub type NextCertificateId<T: Config> = StorageValue<_, CertificateId, ValueQuery>;

	/// Every certificate issued, by id (its item id in the collection).
	#[pallet::storage]
	pub type Issued<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		CertificateId,
		Certificate<T::AccountId, BlockNumberFor<T>>,
		OptionQuery,
	>;

	/// Certificates by the hash of the model they name.
	#[pallet::storage]
	pub type ModelCertificates<T: Config> =
		StorageDoubleMap<_, Identity, Hash256, Twox64Concat, CertificateId, (), OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// The certificates collection was created (once, with the first certificate).
		CollectionCreated { collection: T::CollectionId },
		/// A certificate was minted to `owner`.
		CertificateIssued {
			id: CertificateId,
			kind: CertificateKind,
			order: u64,
			owner: T::AccountId,
			model_hash: Hash256,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// Every certificate id is used.
		CertificateIdsExhausted,
		/// The collection could not be created.
		CollectionNotCreated,
	}
}

impl<T: Config> Pallet<T> {
	/// The account that owns the certificates collection.
	pub fn account_id() -> T::AccountId {
		T::PalletId::get().into_account_truncating()
	}

	/// The collection, created on first use without a deposit (force-created by the runtime).
	fn collection() -> Result<T::CollectionId, DispatchError> {
		if let Some(collection) = CertificateCollection::<T>::get() {
			return Ok(collection);
		}
		let owner = Self::account_id();
		let before = pallet_nfts::NextCollectionId::<T>::get();
		let config = CollectionConfig {
			settings: CollectionSettings::from_disabled(CollectionSetting::DepositRequired.into()),
			max_supply: None,
			mint_settings: MintSettings::default(),
		};
		pallet_nfts::Pallet::<T>::force_create(
			frame_system::RawOrigin::Root.into(),
			T::Lookup::unlookup(owner),
			config,
		)?;
		// `force_create` took the id `NextCollectionId` held (or the initial one).
		let collection = before
			.or_else(T::CollectionId::initial_value)
			.ok_or(Error::<T>::CollectionNotCreated)?;
		CertificateCollection::<T>::put(collection);
		Self::deposit_event(Event::CollectionCreated { collection });
		Ok(collection)
	}

	/// Mints one certificate with its attributes.
	fn mint(
		collection: &T::CollectionId,
		kind: CertificateKind,
		owner: &T::AccountId,
		record: &ModelRecord,
	) -> Result<CertificateId, DispatchError> {
		let id = NextCertificateId::<T>::get();
		let next = id.checked_add(1).ok_or(Error::<T>::CertificateIdsExhausted)?;
		let config = match kind {
			CertificateKind::Model => ItemConfig::default(),
			CertificateKind::Worker | CertificateKind::Validator => ItemConfig {
				settings: ItemSettings::from_disabled(ItemSetting::Transferable.into()),
			},
		};
		<pallet_nfts::Pallet<T> as NftMutate<T::AccountId, ItemConfig>>::mint_into(
			collection, &id, owner, &config, true,
		)?;
		let now = frame_system::Pallet::<T>::block_number();
		for (key, value) in Self::attributes(kind, record, now) {
			<pallet_nfts::Pallet<T> as NftMutate<T::AccountId, ItemConfig>>::set_attribute(
				collection,
				&id,
				key.as_bytes(),
				value.as_bytes(),
			)?;
		}
		Issued::<T>::insert(
			id,
			Certificate { kind, recipient: owner.clone(), record: *record, issued_at: now },
		);
		ModelCertificates::<T>::insert(record.model_hash, id, ());
		NextCertificateId::<T>::put(next);
		Self::deposit_event(Event::CertificateIssued {
			id,
			kind,
			order: record.order,
			owner: owner.clone(),
			model_hash: record.model_hash,
		});
		Ok(id)
	}

	/// The attributes shown in apps, as text.
	fn attributes(
		kind: CertificateKind,
		record: &ModelRecord,
		block: BlockNumberFor<T>,
	) -> [(&'static str, String); 7] {
		let hex = |hash: &Hash256| {
			let mut text = String::from("0x");
			for byte in hash {
				text.push_str(&format!("{byte:02x}"));
			}
			text
		};
		let metrics = record.metrics;
		[
			("kind", String::from(kind.label())),
			("order", format!("{}", record.order)),
			("model_hash", hex(&record.model_hash)),
			("pot_root", hex(&record.pot_root)),
			(
				"loss",
				format!("{}.{:09}", metrics.loss / 1_000_000_000, metrics.loss % 1_000_000_000),
			),
			(
				"accuracy",
				format!("{}.{:06}", metrics.accuracy / 1_000_000, metrics.accuracy % 1_000_000),
			),
			("block", format!("{block:?}")),
		]
	}

	/// Ids of the certificates `owner` holds now.
	pub fn certificates_of(owner: &T::AccountId) -> Vec<CertificateId> {
		let Some(collection) = CertificateCollection::<T>::get() else { return Vec::new() };
		pallet_nfts::Account::<T>::iter_key_prefix((owner, collection)).collect()
	}

	/// Ids of the certificates naming `model_hash`, in issue order.
	pub fn certificates_for_model(model_hash: &Hash256) -> Vec<CertificateId> {
		let mut ids: Vec<CertificateId> =
			ModelCertificates::<T>::iter_key_prefix(model_hash).collect();
		ids.sort_unstable();
		ids
	}
}

impl<T: Config> CertificateIssuer<T::AccountId> for Pallet<T> {
	fn issue(
		record: &ModelRecord,
		client: &T::AccountId,
		workers: &[T::AccountId],
		validators: &[T::AccountId],
	) -> Result<Vec<CertificateId>, DispatchError> {
		// All or nothing: a mint failing half-way must not leave some certificates behind.
		frame_support::storage::with_storage_layer(|| {
			let collection = Self::collection()?;
			let mut ids = Vec::with_capacity(1 + workers.len() + validators.len());
			ids.push(Self::mint(&collection, CertificateKind::Model, client, record)?);
			for worker in workers {
				ids.push(Self::mint(&collection, CertificateKind::Worker, worker, record)?);
			}
			for validator in validators {
				ids.push(Self::mint(&collection, CertificateKind::Validator, validator, record)?);
			}
			Ok(ids)
		})
	}
}

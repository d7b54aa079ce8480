//! Runtime API for wallets and the off-chain program: certificates by id, owner and model.

use crate::types::{Certificate, CertificateId};
use alloc::vec::Vec;
use codec::Codec;
use decenter_primitives::Hash256;

sp_api::decl_runtime_apis! {
	/// Reads certificates.
	pub trait CertificatesApi<AccountId, BlockNumber>
	where
		AccountId: Codec,
		BlockNumber: Codec,
	{
		/// One certificate.
		fn certificate(id: CertificateId) -> Option<Certificate<AccountId, BlockNumber>>;
		/// Ids of the certificates `owner` holds now (after any transfer).
		fn certificates_of(owner: AccountId) -> Vec<CertificateId>;
		/// Ids of every certificate naming `model_hash`, model certificate first.
		fn certificates_for_model(model_hash: Hash256) -> Vec<CertificateId>;
	}
}

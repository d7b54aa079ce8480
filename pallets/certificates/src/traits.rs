//! How the proof-of-train pallet issues certificates.

use crate::types::{CertificateId, ModelRecord};
use alloc::vec::Vec;
use sp_runtime::DispatchError;

/// Issues the certificates of a completed order.
pub trait CertificateIssuer<AccountId> {
	/// Mints the model certificate to `client` and a contributor certificate to each of
	/// `workers` and `validators`; returns the ids, model certificate first.
	fn issue(
		record: &ModelRecord,
		client: &AccountId,
		workers: &[AccountId],
		validators: &[AccountId],
	) -> Result<Vec<CertificateId>, DispatchError>;
}

//! Grants: a store's owner lets another account's orders use one of its artifacts. The owner
//! signs (artifact root, grantee account); the signature travels in the artifact's location
//! (`&grant=HEX`), so the grantee's order spec carries it on chain and the store checks it
//! against the order's client. Copying the location into an order of a third account is
//! useless: the grant names the grantee.

use decenter_primitives::Hash256;
use subxt_signer::sr25519::{self, Keypair, PublicKey, Signature};

const DOMAIN: &[u8] = b"decenter/artifact-grant";

fn message(root: &Hash256, grantee: &[u8; 32]) -> Vec<u8> {
	[DOMAIN, root, grantee].concat()
}

/// The store owner's signature granting `root` to the orders of `grantee`.
pub fn sign(owner: &Keypair, root: &Hash256, grantee: &[u8; 32]) -> [u8; 64] {
	owner.sign(&message(root, grantee)).0
}

/// Whether `signature` is `owner`'s grant of `root` to `grantee`.
pub fn verify(owner: &[u8; 32], root: &Hash256, grantee: &[u8; 32], signature: &[u8; 64]) -> bool {
	sr25519::verify(&Signature(*signature), message(root, grantee), &PublicKey(*owner))
}

#[cfg(test)]
mod tests {
	use subxt_signer::sr25519::dev;

	use super::*;

	#[test]
	fn a_grant_opens_one_root_to_one_account() {
		let (alice, bob, eve) =
			(dev::alice(), dev::bob().public_key().0, dev::eve().public_key().0);
		let grant = sign(&alice, &[1; 32], &bob);
		assert!(verify(&alice.public_key().0, &[1; 32], &bob, &grant));
		assert!(!verify(&alice.public_key().0, &[1; 32], &eve, &grant), "another grantee");
		assert!(!verify(&alice.public_key().0, &[2; 32], &bob, &grant), "another root");
		assert!(!verify(&eve, &[1; 32], &bob, &grant), "another owner");
	}
}

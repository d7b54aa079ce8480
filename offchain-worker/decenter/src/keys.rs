//! The signing key: a secret URI from `--suri` (dev accounts such as `//Alice`) or from a
//! keystore file. The secret is never printed, not even in errors.

use std::path::Path;

use subxt_signer::{sr25519::Keypair, SecretUri};

/// Loads the sr25519 key from exactly one of `suri` and `keystore_file`.
pub fn load(suri: Option<&str>, keystore_file: Option<&Path>) -> Result<Keypair, String> {
	let secret = match (suri, keystore_file) {
		(Some(suri), None) => suri.to_string(),
		(None, Some(path)) => read_keystore_file(path)?,
		(Some(_), Some(_)) => {
			return Err("give either --suri or --keystore-file, not both".into());
		},
		(None, None) => {
			return Err("no key: pass --suri (e.g. //Alice on a dev chain) or --keystore-file \
			            PATH (a file holding a secret phrase or URI, as `decenter-node key \
			            insert` writes it)"
				.into());
		},
	};
	let uri: SecretUri = secret
		.parse()
		.map_err(|_| "the secret URI is malformed (expected a phrase, 0x-seed or //path)")?;
	Keypair::from_uri(&uri).map_err(|_| "the secret URI does not give an sr25519 key".to_string())
}

/// A keystore file holds the secret as a JSON string (Substrate's keystore layout) or as
/// plain text.
fn read_keystore_file(path: &Path) -> Result<String, String> {
	let text = std::fs::read_to_string(path)
		.map_err(|e| format!("cannot read the keystore file {}: {e}", path.display()))?;
	let text = text.trim();
	Ok(serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string()))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn keystore_file_in_substrate_layout_gives_the_same_key_as_the_uri() {
		let dir = std::env::temp_dir().join(format!("decenter-keys-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let file = dir.join("key");
		std::fs::write(&file, "\"//Alice\"").unwrap();
		let from_file = load(None, Some(&file)).unwrap();
		let from_uri = load(Some("//Alice"), None).unwrap();
		assert_eq!(from_file.public_key().0, from_uri.public_key().0);
		assert!(load(None, None).is_err());
		assert!(load(Some("//Alice"), Some(&file)).is_err());
		let error = load(Some("not a // valid ///uri"), None).err().unwrap_or_default();
		assert!(!error.contains("valid ///uri"), "the secret leaked into the error: {error}");
	}
}

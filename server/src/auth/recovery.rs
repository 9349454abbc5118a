//! Recovery keys: the only way back into a name-only account on a new device (SPEC §2).
//!
//! A key is 160 random bits shown once; only its SHA-256 is stored. Because the key is random and
//! long, a fast hash is enough and lets recovery find the user by hash in one indexed lookup.

use rand::RngCore;
use sha2::{Digest, Sha256};

const KEY_BYTES: usize = 20;
const PREFIX: &str = "ocr_";

pub fn generate() -> String {
    let mut bytes = [0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// `None` for anything that cannot be a key, so garbage never reaches the database.
pub fn hash(key: &str) -> Option<String> {
    let key = key.trim();
    let hex_part = key.strip_prefix(PREFIX)?;
    if hex_part.len() != KEY_BYTES * 2 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(hex::encode(Sha256::digest(
        key.to_ascii_lowercase().as_bytes(),
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_keys_hash_and_garbage_does_not() {
        let key = super::generate();
        assert!(super::hash(&key).is_some());
        assert_ne!(super::generate(), key);
        assert_eq!(super::hash("ocr_xyz"), None);
        assert_eq!(super::hash(""), None);
    }
}

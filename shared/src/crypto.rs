//! Secrets: API keys (made here, stored only as SHA-256), and platform credentials sealed with
//! XChaCha20-Poly1305 under the master key. Nothing here logs or formats a secret.

use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{config::MasterKey, ids::random_base62};

/// The two kinds of API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    Live,
    Test,
}

impl KeyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyMode::Live => "live",
            KeyMode::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<KeyMode> {
        match s {
            "live" => Some(KeyMode::Live),
            "test" => Some(KeyMode::Test),
            _ => None,
        }
    }

    pub fn prefix(self) -> &'static str {
        match self {
            KeyMode::Live => "sk_live_",
            KeyMode::Test => "sk_test_",
        }
    }
}

/// A freshly made key: the full text (shown once), its hash and its preview.
pub struct NewApiKey {
    pub secret: String,
    pub hash: [u8; 32],
    pub preview: String,
}

pub fn generate_api_key(mode: KeyMode) -> NewApiKey {
    let secret = format!("{}{}", mode.prefix(), random_base62(40));
    let hash = hash_api_key(&secret);
    let body = &secret[mode.prefix().len()..];
    let preview = format!(
        "{}{}…{}",
        mode.prefix(),
        &body[..3],
        &body[body.len() - 3..]
    );
    NewApiKey {
        secret,
        hash,
        preview,
    }
}

pub fn hash_api_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Whether `key` has the shape of a Soku key (`sk_live_`/`sk_test_` and 32+ base62 characters).
pub fn looks_like_api_key(key: &str) -> Option<KeyMode> {
    let mode = if key.starts_with("sk_live_") {
        KeyMode::Live
    } else if key.starts_with("sk_test_") {
        KeyMode::Test
    } else {
        return None;
    };
    let body = &key[8..];
    (body.len() >= 32 && body.len() <= 128 && body.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(mode)
}

/// SHA-256 of arbitrary bytes (idempotency request fingerprints).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Seals `plain` so that it can only be opened with the same key and the same `context` (the row's id),
/// which stops a sealed value from being copied onto another row. Output: 24-byte nonce then ciphertext.
pub fn seal(key: &MasterKey, context: &str, plain: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let mut nonce = [0u8; 24];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: context.as_bytes(),
            },
        )
        .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    out
}

#[derive(Debug, thiserror::Error)]
#[error("sealed value cannot be opened with this master key")]
pub struct OpenError;

pub fn open(key: &MasterKey, context: &str, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
    if sealed.len() < 24 {
        return Err(OpenError);
    }
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let (nonce, body) = sealed.split_at(24);
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| OpenError)
}

/// Argon2id hash of a dashboard password.
/// An argon2id hash (PHC string) of `password` with a random salt, at argon2's defaults: m = 19 MiB, t = 2, p = 1,
/// which is OWASP's recommended configuration for argon2id.
pub fn hash_password(password: &str) -> String {
    use argon2::{
        Argon2, PasswordHasher,
        password_hash::{SaltString, rand_core::OsRng},
    };
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters succeeds")
        .to_string()
}

/// Whether `password` matches the argon2 `hash` (PHC string). A hash that cannot be read matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::{Argon2, PasswordVerifier, password_hash::PasswordHash};
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let k = generate_api_key(KeyMode::Live);
        assert!(k.secret.starts_with("sk_live_") && k.secret.len() == 48);
        assert_eq!(looks_like_api_key(&k.secret), Some(KeyMode::Live));
        assert_eq!(k.hash, hash_api_key(&k.secret));
        assert!(k.preview.starts_with("sk_live_") && k.preview.contains('…'));
        assert!(!k.preview.contains(&k.secret[8..20]));
        assert_eq!(looks_like_api_key("sk_live_short"), None);
    }

    #[test]
    fn sealing_round_trips_and_binds_context() {
        let key = MasterKey([7; 32]);
        let sealed = seal(&key, "int_a", b"token");
        assert!(!sealed.windows(5).any(|w| w == b"token"));
        assert_eq!(open(&key, "int_a", &sealed).unwrap(), b"token");
        assert!(open(&key, "int_b", &sealed).is_err());
        assert!(open(&MasterKey([8; 32]), "int_a", &sealed).is_err());
    }
}

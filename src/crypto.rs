//! Secrets at rest: the node's master key, authenticated sealing of stored secrets, hashing
//! of bearer tokens and constant-time comparison.
//!
//! The master key lives in `<data dir>/master.key` (created with mode 0600) or comes from
//! `STILE_MASTER_KEY` (64 hex characters). Access-key secrets and token keys are stored sealed
//! with it; admin tokens are stored as SHA-256 digests only.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Sealing or opening failed: wrong key, or the bytes were altered.
#[derive(Debug, thiserror::Error)]
#[error("sealed data could not be opened")]
pub struct SealError;

/// A 256-bit key that seals secrets with AES-256-GCM.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(bytes.into()),
        }
    }

    /// A fresh random key, returned with its raw bytes for persisting.
    pub fn generate() -> (Self, [u8; 32]) {
        let raw: [u8; 32] = rand::rng().random();
        (Self::from_bytes(&raw), raw)
    }

    /// Seal `plain`, binding it to `context` (a purpose label such as `"access-key:ID"`).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; 12] = rand::rng().random();
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Open what `seal` produced under the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 12 + 16 {
            return Err(SealError);
        }
        let (nonce, ct) = sealed.split_at(12);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError)
    }
}

/// SHA-256 of a bearer token, the form in which tokens are stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time equality of two byte strings (length may leak, content does not).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_binds_context() {
        let (key, _) = MasterKey::generate();
        let sealed = key.seal("access-key:A", b"secret");
        assert_eq!(key.open("access-key:A", &sealed).unwrap(), b"secret");
        assert!(key.open("access-key:B", &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(key.open("access-key:A", &tampered).is_err());
        assert!(key.open("access-key:A", &sealed[..10]).is_err());
        let (other, _) = MasterKey::generate();
        assert!(other.open("access-key:A", &sealed).is_err());
    }

    #[test]
    fn ct_eq_compares_content() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}

//! Pass tokens (`captchaVerifyParam`): opaque, authenticated and encrypted, carrying a key id
//! so that keys rotate without breaking tokens in flight (SPEC §4).
//!
//! Wire form of the sealed part: base64url(`0x01` ‖ key id (u32 BE) ‖ nonce (12) ‖ AES-256-GCM
//! ciphertext of the JSON claims). The version byte and key id are authenticated as
//! associated data. What the widget hands to the page is a small JSON object in the anchor's
//! shape (`sceneId`, `certifyId`, `securityToken`) whose `securityToken` is the sealed part;
//! only the sealed part is trusted.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::model::{TestPreset, VerificationType};

const VERSION: u8 = 1;

/// What a pass token asserts. Private to the server: clients only see ciphertext.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassClaims {
    pub tenant_id: String,
    pub scene_id: String,
    pub certify_id: String,
    /// When the challenge was passed, in Unix milliseconds.
    pub passed_at_ms: i64,
    /// The type that was solved (for No-CAPTCHA: the secondary type, if one was shown).
    pub kind: VerificationType,
    /// Set when the scene was in test mode at the pass: the preset decides the verdict.
    pub test_preset: Option<TestPreset>,
    /// The client matched the scene's allow-list (the verification says T006).
    #[serde(default)]
    pub allow_listed: bool,
    /// The risk engine's assessment of the passing answer.
    #[serde(default)]
    pub risk: Option<crate::risk::score::Assessment>,
}

/// Why a token could not be opened; all map to F003 at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not valid base64 or too short")]
    Malformed,
    #[error("token was sealed with an unknown key")]
    UnknownKey,
    #[error("token failed authentication")]
    Tampered,
}

/// The token keys of a node or cluster: one current key that seals, older ones that still open.
#[derive(Clone, Default)]
pub struct Keyring {
    current: u32,
    keys: BTreeMap<u32, [u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("ids", &self.keys.keys())
            .finish()
    }
}

/// Serializable form of a keyring (sealed with the master key before it is stored).
#[derive(Debug, Serialize, Deserialize)]
pub struct KeyringExport {
    pub current: u32,
    pub keys: Vec<(u32, String)>,
}

impl Keyring {
    /// A keyring with one fresh key.
    pub fn generate() -> Self {
        let mut ring = Keyring::default();
        ring.rotate();
        ring
    }

    /// Add a fresh key and make it current; at most `KEEP` keys are kept, the oldest dropped.
    pub fn rotate(&mut self) -> u32 {
        const KEEP: usize = 4;
        let id = self.keys.keys().next_back().map_or(1, |k| k + 1);
        self.keys.insert(id, rand::rng().random());
        self.current = id;
        while self.keys.len() > KEEP {
            let oldest = *self.keys.keys().next().expect("non-empty");
            self.keys.remove(&oldest);
        }
        id
    }

    pub fn current_id(&self) -> u32 {
        self.current
    }

    pub fn export(&self) -> KeyringExport {
        KeyringExport {
            current: self.current,
            keys: self
                .keys
                .iter()
                .map(|(id, k)| (*id, hex::encode(k)))
                .collect(),
        }
    }

    pub fn import(e: &KeyringExport) -> Option<Self> {
        let mut keys = BTreeMap::new();
        for (id, hexkey) in &e.keys {
            let raw: [u8; 32] = hex::decode(hexkey).ok()?.try_into().ok()?;
            keys.insert(*id, raw);
        }
        keys.contains_key(&e.current).then_some(Keyring {
            current: e.current,
            keys,
        })
    }

    /// Seal claims under the current key.
    pub fn seal(&self, claims: &PassClaims) -> String {
        let key = self.keys.get(&self.current).expect("current key present");
        let cipher = Aes256Gcm::new(key.into());
        let nonce: [u8; 12] = rand::rng().random();
        let mut header = [0u8; 5];
        header[0] = VERSION;
        header[1..5].copy_from_slice(&self.current.to_be_bytes());
        let plain = serde_json::to_vec(claims).expect("claims serialize");
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &header,
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(5 + 12 + ct.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Open a sealed token.
    pub fn open(&self, token: &str) -> Result<PassClaims, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError::Malformed);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| TokenError::Malformed)?;
        if raw.len() < 5 + 12 + 16 || raw[0] != VERSION {
            return Err(TokenError::Malformed);
        }
        let (header, rest) = raw.split_at(5);
        let kid = u32::from_be_bytes(header[1..5].try_into().expect("4 bytes"));
        let key = self.keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        let (nonce, ct) = rest.split_at(12);
        let plain = Aes256Gcm::new(key.into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: header,
                },
            )
            .map_err(|_| TokenError::Tampered)?;
        serde_json::from_slice(&plain).map_err(|_| TokenError::Tampered)
    }
}

/// The page-facing `captchaVerifyParam` wrapping a sealed token.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyParam {
    pub scene_id: String,
    pub certify_id: String,
    pub security_token: String,
}

impl VerifyParam {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("serializes")
    }

    /// Extract the sealed token from a `captchaVerifyParam`: either the JSON wrapper or the
    /// bare sealed string. Returns `None` when it has neither shape.
    pub fn sealed_part(param: &str) -> Option<String> {
        let p = param.trim();
        if p.starts_with('{') {
            serde_json::from_str::<VerifyParam>(p)
                .ok()
                .map(|v| v.security_token)
        } else if !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            Some(p.to_owned())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> PassClaims {
        PassClaims {
            tenant_id: "tn".into(),
            scene_id: "sc".into(),
            certify_id: "c1".into(),
            passed_at_ms: 1_700_000_000_000,
            kind: VerificationType::Slider,
            test_preset: None,
            allow_listed: false,
            risk: Some(crate::risk::score::Assessment::of(&[
                crate::risk::Finding::IpBusy,
            ])),
        }
    }

    #[test]
    fn claims_sealed_before_the_risk_fields_existed_still_open() {
        // A token in flight across an upgrade: no allowListed, no risk.
        let old = r#"{"tenant_id":"tn","scene_id":"sc","certify_id":"c1","passed_at_ms":1,"kind":"slider","test_preset":null}"#;
        let c: PassClaims = serde_json::from_str(old).unwrap();
        assert!(!c.allow_listed && c.risk.is_none());
    }

    #[test]
    fn seal_open_round_trip() {
        let ring = Keyring::generate();
        let t = ring.seal(&claims());
        assert_eq!(ring.open(&t).unwrap(), claims());
        // Two seals of the same claims differ (random nonce): tokens are not linkable.
        assert_ne!(t, ring.seal(&claims()));
    }

    #[test]
    fn rotation_keeps_tokens_in_flight_valid() {
        let mut ring = Keyring::generate();
        let old = ring.seal(&claims());
        ring.rotate();
        let new = ring.seal(&claims());
        assert!(ring.open(&old).is_ok());
        assert!(ring.open(&new).is_ok());
        for _ in 0..4 {
            ring.rotate();
        }
        assert_eq!(ring.open(&old), Err(TokenError::UnknownKey));
        let restored = Keyring::import(&ring.export()).unwrap();
        assert_eq!(restored.current_id(), ring.current_id());
    }

    #[test]
    fn any_bit_flip_is_detected() {
        let ring = Keyring::generate();
        let t = ring.seal(&claims());
        let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in 0..raw.len() {
            let mut r = raw.clone();
            r[i] ^= 0x10;
            assert!(
                ring.open(&URL_SAFE_NO_PAD.encode(r)).is_err(),
                "flip at byte {i}"
            );
        }
        assert_eq!(ring.open("!!!"), Err(TokenError::Malformed));
        assert_eq!(ring.open(""), Err(TokenError::Malformed));
        assert_eq!(Keyring::generate().open(&t), Err(TokenError::Tampered));
    }

    #[test]
    fn verify_param_shapes() {
        let p = VerifyParam {
            scene_id: "s".into(),
            certify_id: "c".into(),
            security_token: "abc_-1".into(),
        };
        assert_eq!(
            VerifyParam::sealed_part(&p.encode()).as_deref(),
            Some("abc_-1")
        );
        assert_eq!(
            VerifyParam::sealed_part("abc_-1").as_deref(),
            Some("abc_-1")
        );
        assert_eq!(VerifyParam::sealed_part("{not json"), None);
        assert_eq!(VerifyParam::sealed_part("a b"), None);
    }
}

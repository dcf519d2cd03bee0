//! The cycle's defences that need state: device identities, frequency counting and the
//! encryption-mode check. The rules themselves are pure (`risk::frequency`, `risk::score`);
//! this module feeds them from the hot store and the keys.
//!
//! - **Device identities.** A device token is `<id>.<mac>`: 16 random bytes and an HMAC of
//!   them under a per-installation key, so that a client cannot mint identities of its own
//!   to reset the per-device limit. A token the server did not issue is replaced (and noted
//!   as [`Finding::ForgedDevice`]); every new identity counts against the client IP, and an
//!   IP that is handed more than [`DEVICE_CHURN_PER_HOUR`] in an hour is churning them
//!   ([`Finding::DeviceChurn`]). The widget keeps its token in `localStorage`, so it
//!   survives a page reload.
//! - **Frequency.** Inits per IP per minute (and per scene, for the proof-of-work); verifications (answers) per IP and per device,
//!   per hour and per day. Init only reads the verification counters: a client over a limit
//!   cannot harvest new challenges either.
//! - **Encryption mode.** `EncryptedSceneId` = Base64(IV ‖ AES-256-CBC(ekey, PKCS#7,
//!   `sceneId&timestamp&expireTime`)); the ekey is the tenant's, 32 random bytes.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::{MasterKey, ct_eq};
use crate::model::{Limits, Scene};
use crate::risk::frequency::{
    self, DAY_MS, DEVICE_CHURN_PER_HOUR, HOUR_MS, MINUTE_MS, inits_key, new_devices_key,
    scene_inits_key, verifications_key,
};
use crate::risk::{Finding, accuracy, cadence};
use crate::store::{StoreError, Stores};

const DEVICE_KEY_META: &str = "device-key";
/// Bytes of MAC a device token carries.
const DEVICE_MAC_BYTES: usize = 9;

/// Signs and checks device tokens.
#[derive(Clone)]
pub struct DeviceKey([u8; 32]);

impl DeviceKey {
    /// Load the installation's device key from the config store, creating it on first start.
    pub async fn load(stores: &Stores, master: &MasterKey) -> anyhow::Result<DeviceKey> {
        if let Some(sealed) = stores.config.meta(DEVICE_KEY_META).await? {
            let plain = master.open(DEVICE_KEY_META, &sealed).map_err(|_| {
                anyhow::anyhow!("the device key cannot be opened: wrong master key?")
            })?;
            let key: [u8; 32] = plain
                .try_into()
                .map_err(|_| anyhow::anyhow!("the stored device key is invalid"))?;
            return Ok(DeviceKey(key));
        }
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key[..]);
        stores
            .config
            .put_meta(DEVICE_KEY_META, &master.seal(DEVICE_KEY_META, &key))
            .await?;
        Ok(DeviceKey(key))
    }

    /// A secret for another purpose, derived from this key (HMAC of `label`).
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(b"derive:");
        m.update(label.as_bytes());
        m.finalize().into_bytes().into()
    }

    fn mac(&self, id: &str) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(id.as_bytes());
        let tag = m.finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..DEVICE_MAC_BYTES])
    }

    /// A new device token.
    pub fn issue(&self) -> String {
        let id = crate::ids::nonce(16);
        let mac = self.mac(&id);
        format!("{id}.{mac}")
    }

    /// Whether `token` is one this installation issued.
    pub fn is_genuine(&self, token: &str) -> bool {
        let Some((id, mac)) = token.split_once('.') else {
            return false;
        };
        id.len() == 22 && ct_eq(mac.as_bytes(), self.mac(id).as_bytes())
    }
}

/// What init learns about the client.
pub struct InitFacts {
    /// The device token to use (the one offered, or a new one).
    pub device_token: String,
    /// Soft findings to carry into the answer's assessment.
    pub findings: Vec<Finding>,
    /// This IP's inits of the scene in the last minute, and everyone's (for the
    /// proof-of-work's difficulty).
    pub ip_inits: u64,
    pub scene_inits: u64,
}

/// Why init refuses a client.
pub enum InitRefusal {
    /// F010: the IP is over a verification limit or starts cycles too fast.
    Ip(Finding),
    /// F011: the device is over a verification limit.
    Device,
}

/// Init's checks: the init rate, the device identity, and whether the IP or the device is
/// already over a verification limit.
pub async fn at_init(
    stores: &Stores,
    key: &DeviceKey,
    scene: &Scene,
    client_ip: &str,
    offered_device: Option<&str>,
    now_ms: i64,
) -> Result<Result<InitFacts, InitRefusal>, StoreError> {
    let limits = scene.policy.limits;
    let who = frequency::subscriber(client_ip);
    let hot = &stores.hot;
    let ip_inits = hot
        .count(&inits_key(&scene.id, &who), MINUTE_MS, 1, now_ms)
        .await?;
    if limits.inits_per_minute > 0 && ip_inits > u64::from(limits.inits_per_minute) {
        return Ok(Err(InitRefusal::Ip(Finding::InitFlood)));
    }
    let scene_inits = hot
        .count(&scene_inits_key(&scene.id), MINUTE_MS, 1, now_ms)
        .await?;
    let mut findings = Vec::new();
    let device_token = match offered_device.filter(|d| key.is_genuine(d)) {
        Some(d) => d.to_owned(),
        None => {
            if offered_device.is_some_and(|d| !d.is_empty()) {
                findings.push(Finding::ForgedDevice);
            }
            let handed = hot
                .count(&new_devices_key(&who), HOUR_MS, 1, now_ms)
                .await?;
            if handed > DEVICE_CHURN_PER_HOUR {
                findings.push(Finding::DeviceChurn);
            }
            key.issue()
        }
    };
    let counts = verification_counts(stores, &scene.id, &who, &device_token, 0, now_ms).await?;
    if let Some(refusal) = over_limits(&limits, &counts) {
        return Ok(Err(refusal));
    }
    Ok(Ok(InitFacts {
        device_token,
        findings,
        ip_inits,
        scene_inits,
    }))
}

/// Counts one verification (an answer) for the cycle's IP and device and returns the
/// findings it leads to: over a limit (decisive) or past half the IP's hourly limit (soft).
pub async fn at_answer(
    stores: &Stores,
    scene_id: &str,
    limits: &Limits,
    client_ip: &str,
    device_token: &str,
    now_ms: i64,
) -> Result<Vec<Finding>, StoreError> {
    let who = frequency::subscriber(client_ip);
    let counts = verification_counts(stores, scene_id, &who, device_token, 1, now_ms).await?;
    let mut out = Vec::new();
    match over_limits(limits, &counts) {
        Some(InitRefusal::Ip(f)) => out.push(f),
        Some(InitRefusal::Device) => out.push(Finding::DeviceLimit),
        None => {}
    }
    if limits.ip_per_hour > 0 && counts[0] * 2 > u64::from(limits.ip_per_hour) {
        out.push(Finding::IpBusy);
    }
    Ok(out)
}

/// The windows a source's pattern of answers is judged in: each source (the client IP's
/// subscriber, the device) over two fixed hours, the second starting half an hour after the
/// first. With one fixed hour a pipeline would start afresh at every boundary, its first
/// answers of each hour judged alone; with two, whenever one window begins again the other
/// has held the last half hour. Each: the counters' source name (`ip0`, `ip1`, `dev0`,
/// `dev1`), its id, and the clock shifted into that window.
fn judged_windows<'a>(
    who: &'a str,
    device_token: &'a str,
    now_ms: i64,
) -> impl Iterator<Item = (String, &'a str, i64)> {
    [("ip", who), ("dev", device_token)]
        .into_iter()
        .filter(|(_, id)| !id.is_empty())
        .flat_map(move |(source, id)| {
            [0, HOUR_MS / 2]
                .into_iter()
                .enumerate()
                .map(move |(w, shift)| (format!("{source}{w}"), id, now_ms + shift))
        })
}

/// Solve-time anomalies (`risk::cadence`): this answer's solve time (`solve_ms`, since its
/// challenge was issued) and the gap its client's clock leaves (input ended `ended_ms`
/// after rendering) counted per client IP and per device ([`judged_windows`]), then judged.
pub async fn solve_times(
    stores: &Stores,
    scene_id: &str,
    client_ip: &str,
    device_token: &str,
    solve_ms: i64,
    ended_ms: f64,
    now_ms: i64,
) -> Result<Vec<Finding>, StoreError> {
    let hot = &stores.hot;
    let b = cadence::bucket(solve_ms);
    let gapped = cadence::gap_ms(solve_ms, ended_ms) > cadence::RELAY_GAP_MS;
    let mut out = Vec::new();
    let who = frequency::subscriber(client_ip);
    for (source, id, now_ms) in judged_windows(&who, device_token, now_ms) {
        let key = |what: &str| cadence::solve_key(scene_id, &source, id, what);
        let total = hot.count(&key("n"), HOUR_MS, 1, now_ms).await?;
        let mut around = [0u64; 5];
        around[2] = hot
            .count(&key(&format!("b{b}")), HOUR_MS, 1, now_ms)
            .await?;
        if total >= cadence::MIN_ANSWERS {
            for (slot, k) in [(0, b - 2), (1, b - 1), (3, b + 1), (4, b + 2)] {
                around[slot] = hot
                    .count(&key(&format!("b{k}")), HOUR_MS, 0, now_ms)
                    .await?;
            }
            if cadence::regular(total, &around) && !out.contains(&Finding::RegularSolveTime) {
                out.push(Finding::RegularSolveTime);
            }
        }
        // Every answer of a relaying source is judged, with a gap or without.
        let gaps = if gapped {
            hot.count(&key("g"), HOUR_MS, 1, now_ms).await?
        } else if total >= cadence::RELAY_MIN_ANSWERS {
            hot.count(&key("g"), HOUR_MS, 0, now_ms).await?
        } else {
            0
        };
        if cadence::relayed(total, gaps) && !out.contains(&Finding::RelayedSolve) {
            out.push(Finding::RelayedSolve);
        }
    }
    Ok(out)
}

/// Misses across a source's answers (`risk::accuracy`): this answer (and how it missed)
/// counted per client IP and per device ([`judged_windows`]), then judged by both tests.
pub async fn misses(
    stores: &Stores,
    scene_id: &str,
    client_ip: &str,
    device_token: &str,
    miss: accuracy::Miss,
    now_ms: i64,
) -> Result<Option<Finding>, StoreError> {
    let hot = &stores.hot;
    let who = frequency::subscriber(client_ip);
    let far_from = accuracy::far_min_answers();
    let mut guessing = false;
    for (source, id, now_ms) in judged_windows(&who, device_token, now_ms) {
        let key = |what: &str| accuracy::key(scene_id, &source, id, what);
        let total = hot.count(&key("n"), HOUR_MS, 1, now_ms).await?;
        // A counter is only read when it could decide: each needs enough answers.
        let misses = if miss != accuracy::Miss::None {
            hot.count(&key("m"), HOUR_MS, 1, now_ms).await?
        } else if total >= accuracy::MIN_ANSWERS {
            hot.count(&key("m"), HOUR_MS, 0, now_ms).await?
        } else {
            0
        };
        let far = if miss == accuracy::Miss::Far {
            hot.count(&key("f"), HOUR_MS, 1, now_ms).await?
        } else if total >= far_from {
            hot.count(&key("f"), HOUR_MS, 0, now_ms).await?
        } else {
            0
        };
        let found = accuracy::guessing(total, misses) || accuracy::far_guessing(total, far);
        // Found, the source stays found for the rest of this window: a run of luck after
        // its misses gave it away buys it nothing.
        if found && far < accuracy::FOUND {
            hot.count(&key("f"), HOUR_MS, accuracy::FOUND, now_ms)
                .await?;
        }
        guessing |= found;
    }
    Ok(guessing.then_some(Finding::FrequentMisses))
}

/// IP per hour, IP per day, device per hour, device per day — after adding `n` to each.
async fn verification_counts(
    stores: &Stores,
    scene_id: &str,
    who: &str,
    device: &str,
    n: u64,
    now_ms: i64,
) -> Result<[u64; 4], StoreError> {
    let hot = &stores.hot;
    let mut out = [0u64; 4];
    let keys = [
        (verifications_key(scene_id, "ip", who, "h"), HOUR_MS),
        (verifications_key(scene_id, "ip", who, "d"), DAY_MS),
        (verifications_key(scene_id, "dev", device, "h"), HOUR_MS),
        (verifications_key(scene_id, "dev", device, "d"), DAY_MS),
    ];
    for (slot, (key, window)) in out.iter_mut().zip(keys) {
        *slot = hot.count(&key, window, n, now_ms).await?;
    }
    Ok(out)
}

/// The first limit `counts` exceed, if any (0 = no limit).
fn over_limits(limits: &Limits, counts: &[u64; 4]) -> Option<InitRefusal> {
    let over = |count: u64, limit: u32| limit > 0 && count > u64::from(limit);
    if over(counts[0], limits.ip_per_hour) || over(counts[1], limits.ip_per_day) {
        return Some(InitRefusal::Ip(Finding::IpLimit));
    }
    if over(counts[2], limits.device_per_hour) || over(counts[3], limits.device_per_day) {
        return Some(InitRefusal::Device);
    }
    None
}

/// How far a timestamp may run ahead of this server's clock (the backend's clock drifts).
const CLOCK_SKEW_S: i64 = 60;

/// Why an `EncryptedSceneId` is refused (all F022 at the edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptedIdError {
    Undecodable,
    WrongKey,
    Malformed,
    OtherScene,
    NotYetValid,
    Expired,
}

/// Opens an `EncryptedSceneId` with the tenant's `ekey` and checks it is for `scene_id` and
/// valid at `now_s` (Unix seconds).
pub fn check_encrypted_scene_id(
    ekey: &[u8; 32],
    encrypted: &str,
    scene_id: &str,
    now_s: i64,
) -> Result<(), EncryptedIdError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encrypted.trim())
        .map_err(|_| EncryptedIdError::Undecodable)?;
    if raw.len() < 32 || raw.len() > 512 || raw.len() % 16 != 0 {
        return Err(EncryptedIdError::Undecodable);
    }
    let (iv, body) = raw.split_at(16);
    let mut buf = body.to_vec();
    let plain = cbc::Decryptor::<aes::Aes256>::new(ekey.into(), iv.into())
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
        .map_err(|_| EncryptedIdError::WrongKey)?;
    let text = std::str::from_utf8(plain).map_err(|_| EncryptedIdError::WrongKey)?;
    let mut parts = text.split('&');
    let (Some(sid), Some(ts), Some(ttl), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(EncryptedIdError::Malformed);
    };
    let (Ok(ts), Ok(ttl)) = (ts.parse::<i64>(), ttl.parse::<i64>()) else {
        return Err(EncryptedIdError::Malformed);
    };
    if !(1..=86_400).contains(&ttl) {
        return Err(EncryptedIdError::Malformed);
    }
    if !ct_eq(sid.as_bytes(), scene_id.as_bytes()) {
        return Err(EncryptedIdError::OtherScene);
    }
    if ts > now_s + CLOCK_SKEW_S {
        return Err(EncryptedIdError::NotYetValid);
    }
    if now_s > ts + ttl {
        return Err(EncryptedIdError::Expired);
    }
    Ok(())
}

/// Encrypts `sceneId&timestamp&expireTime` the way a tenant's backend does (for tests,
/// the demo backend and the docs' examples).
pub fn encrypt_scene_id(ekey: &[u8; 32], scene_id: &str, timestamp_s: i64, ttl_s: i64) -> String {
    use aes::cipher::BlockEncryptMut;
    let mut iv = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut iv[..]);
    let plain = format!("{scene_id}&{timestamp_s}&{ttl_s}");
    let mut buf = plain.clone().into_bytes();
    buf.resize(plain.len() + 16, 0);
    let ct = cbc::Encryptor::<aes::Aes256>::new(ekey.into(), (&iv).into())
        .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
        .expect("the buffer has room for a block of padding");
    base64::engine::general_purpose::STANDARD.encode([iv.as_slice(), ct].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_tokens_are_checked_by_their_mac() {
        let key = DeviceKey([7; 32]);
        let t = key.issue();
        assert!(key.is_genuine(&t));
        assert!(
            !DeviceKey([8; 32]).is_genuine(&t),
            "another installation's token"
        );
        let (id, mac) = t.split_once('.').unwrap();
        let mut other = id.to_owned();
        other.replace_range(0..1, if id.starts_with('A') { "B" } else { "A" });
        assert!(!key.is_genuine(&format!("{other}.{mac}")), "altered id");
        assert!(!key.is_genuine(id) && !key.is_genuine("") && !key.is_genuine("a.b"));
    }

    #[test]
    fn an_id_made_by_the_documented_python_example_opens() {
        // docs/integration.md §10's function (Python `cryptography` 48), key = 32 × 0x03,
        // run at Unix time 1796179523 for "scene1" with a 600 s validity.
        let made = "PzSgtuv2DE1ieyCZker/oiMHrZ0bLUayxtmsWfElworOXGy9efsOvWKYEAyoYF9x";
        let now = 1_796_179_523;
        assert_eq!(
            check_encrypted_scene_id(&[3; 32], made, "scene1", now + 5),
            Ok(())
        );
        assert_eq!(
            check_encrypted_scene_id(&[3; 32], made, "scene1", now + 601),
            Err(EncryptedIdError::Expired)
        );
    }

    #[test]
    fn an_encrypted_scene_id_is_valid_for_its_scene_and_window_only() {
        let k = [3u8; 32];
        let now = 1_800_000_000;
        let e = encrypt_scene_id(&k, "scene1", now - 10, 3600);
        assert_eq!(check_encrypted_scene_id(&k, &e, "scene1", now), Ok(()));
        assert_eq!(
            check_encrypted_scene_id(&k, &e, "scene2", now),
            Err(EncryptedIdError::OtherScene)
        );
        assert_eq!(
            check_encrypted_scene_id(&k, &e, "scene1", now + 3600),
            Err(EncryptedIdError::Expired)
        );
        let future = encrypt_scene_id(&k, "scene1", now + 600, 3600);
        assert_eq!(
            check_encrypted_scene_id(&k, &future, "scene1", now),
            Err(EncryptedIdError::NotYetValid)
        );
        assert!(check_encrypted_scene_id(&[4; 32], &e, "scene1", now).is_err());
        for bad in ["", "!!!", "AAAA", &"A".repeat(2000)] {
            assert!(check_encrypted_scene_id(&k, bad, "scene1", now).is_err());
        }
        for ttl in [0, 86_401] {
            let e = encrypt_scene_id(&k, "scene1", now, ttl);
            assert_eq!(
                check_encrypted_scene_id(&k, &e, "scene1", now),
                Err(EncryptedIdError::Malformed)
            );
        }
        // Two encryptions of the same text differ (a fresh IV each time).
        assert_ne!(
            encrypt_scene_id(&k, "scene1", now, 60),
            encrypt_scene_id(&k, "scene1", now, 60)
        );
    }
}

//! Random identifiers: scene ids, tenant prefixes, access keys, certify ids, request ids.
//!
//! All come from the operating system's CSPRNG, so none can be guessed from another.

use rand::Rng;
use rand::distr::Alphanumeric;

fn lower_alnum(len: usize) -> String {
    const SET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| SET[rng.random_range(0..SET.len())] as char)
        .collect()
}

fn upper_alnum(len: usize) -> String {
    const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| SET[rng.random_range(0..SET.len())] as char)
        .collect()
}

/// A scene id: 8 lowercase letters and digits, as the console shows them.
pub fn scene_id() -> String {
    lower_alnum(8)
}

/// A custom image id.
pub fn image_id() -> String {
    format!("img-{}", lower_alnum(12))
}

/// A tenant id.
pub fn tenant_id() -> String {
    format!("tn-{}", lower_alnum(10))
}

/// A tenant's identity prefix (`AliyunCaptchaConfig.prefix`).
pub fn prefix() -> String {
    lower_alnum(6)
}

/// An access key id (`STK` + 21 characters, the same length as the anchor's keys).
pub fn access_key_id() -> String {
    format!("STK{}", upper_alnum(21))
}

/// A 30-character access key secret.
pub fn access_key_secret() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(30)
        .map(char::from)
        .collect()
}

/// An admin bearer token.
pub fn admin_token() -> String {
    format!(
        "stile_{}",
        rand::rng()
            .sample_iter(&Alphanumeric)
            .take(40)
            .map(char::from)
            .collect::<String>()
    )
}

/// A verification cycle id (`certifyId`).
pub fn certify_id() -> String {
    lower_alnum(24)
}

/// A request id, echoed in every API response.
pub fn request_id() -> String {
    let raw: [u8; 16] = rand::rng().random();
    let h = hex::encode_upper(raw);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A random string of `bytes` random bytes, URL-safe base64 without padding.
pub fn nonce(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Whether `s` has the shape of a scene id (checked before any lookup).
pub fn looks_like_scene_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

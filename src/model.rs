//! Domain model: tenants, access keys, scenes and their validated settings (SPEC §2).
//!
//! Everything here is plain data plus validation. Construction goes through `parse`/`apply`
//! functions so that an invalid scene cannot exist; stores persist these types as they are.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids;

/// A validation failure: which field, and why. Maps to `InvalidParameter` at the edges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// The five verification types, named as in the admin API and in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationType {
    OneClick,
    Slider,
    Jigsaw,
    ImageRestoration,
    NoCaptcha,
}

impl VerificationType {
    pub const ALL: [VerificationType; 5] = [
        Self::OneClick,
        Self::Slider,
        Self::Jigsaw,
        Self::ImageRestoration,
        Self::NoCaptcha,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneClick => "one-click",
            Self::Slider => "slider",
            Self::Jigsaw => "jigsaw",
            Self::ImageRestoration => "image-restoration",
            Self::NoCaptcha => "no-captcha",
        }
    }
}

impl fmt::Display for VerificationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the scene is integrated; fixed once the scene exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Integration {
    /// Web pages and H5.
    Web,
    /// A mobile app's WebView showing an H5 page.
    Webview,
}

/// Production, or test with a preset result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SceneStatus {
    Production,
    Test,
}

/// The preset result of a scene in test mode (SPEC §6 "Test mode").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestPreset {
    /// Visual types: pass (T005).
    Pass,
    /// Visual types: fail (F004).
    Fail,
    /// No-CAPTCHA: the silent check passes (T005).
    SilentPass,
    /// No-CAPTCHA: the silent check fails, the secondary challenge passes (T005).
    SilentFailSecondaryPass,
    /// No-CAPTCHA: the silent check fails, the secondary challenge fails (F004).
    SilentFailSecondaryFail,
}

impl TestPreset {
    /// Whether server verification of a test-mode token passes.
    pub fn passes(self) -> bool {
        matches!(
            self,
            Self::Pass | Self::SilentPass | Self::SilentFailSecondaryPass
        )
    }

    fn fits(self, kind: VerificationType) -> bool {
        let silent = matches!(
            self,
            Self::SilentPass | Self::SilentFailSecondaryPass | Self::SilentFailSecondaryFail
        );
        silent == (kind == VerificationType::NoCaptcha)
    }
}

/// Defence mode (SPEC §6 "Modes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefenceMode {
    Basic,
    Advanced,
}

/// The 17 built-in widget languages.
pub const LANGUAGES: [&str; 17] = [
    "cn", "tw", "en", "ar", "de", "es", "fr", "in", "it", "ja", "ko", "pt", "ru", "ms", "th", "tr",
    "vi",
];

/// The widget's text keys, which `customText` may override.
pub const TEXT_KEYS: [&str; 13] = [
    "START_VERIFY",
    "POPUP_TITLE",
    "SLIDE_TIP",
    "CHECK_BOX_TIP",
    "PUZZLE_TIP",
    "INPAINTING_TIP",
    "VERIFYING",
    "SUCCESS",
    "SLIDE_FAIL",
    "CAPTCHA_FAIL",
    "CONGESTION",
    "CAPTCHA_COMPLETED",
    "FINISH_CAPTCHA",
];

/// Per-scene defence policy knobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// Answers allowed per challenge before the widget must fetch a new one (1–10).
    pub max_attempts: u8,
    /// Evaluate the advanced policy in shadow (log only) while enforcing `mode`.
    pub shadow: bool,
    /// Frequency limits (SPEC §6 "Frequency").
    #[serde(default)]
    pub limits: Limits,
    /// Client addresses or CIDR blocks that skip the risk engine (T006), at most 100.
    #[serde(default)]
    pub allow_ips: Vec<String>,
    /// Recording mode: keep every drag answered on this scene (with its outcome) for
    /// export and training. Only for flows whose users have agreed to it.
    #[serde(default)]
    pub record: bool,
    /// The adaptive proof-of-work's base and ceiling, in bits (see `risk::pow`).
    #[serde(default)]
    pub pow: crate::risk::pow::PowPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            shadow: false,
            limits: Limits::default(),
            allow_ips: Vec::new(),
            record: false,
            pow: crate::risk::pow::PowPolicy::default(),
        }
    }
}

/// A scene's frequency limits; 0 turns a limit off. Verifications are answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Limits {
    pub ip_per_hour: u32,
    pub ip_per_day: u32,
    pub device_per_hour: u32,
    pub device_per_day: u32,
    /// Inits (new cycles) one client IP may start per minute.
    pub inits_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            ip_per_hour: 4_000,
            ip_per_day: 10_000,
            device_per_hour: 150,
            device_per_day: 400,
            inits_per_minute: 120,
        }
    }
}

/// A tenant: an account with a prefix, access keys and a QPS quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// The identity prefix the widget sends (`AliyunCaptchaConfig.prefix`).
    pub prefix: String,
    /// Requests per second this tenant may make of a node (SPEC §7; `capacity`).
    pub qps_quota: u32,
    /// Percent of a second's burst that only critical scenes' inits may use (0–90).
    #[serde(default = "default_critical_share")]
    pub critical_share: u8,
    pub created_at: i64,
}

/// A tenant's default [`Tenant::critical_share`].
pub const DEFAULT_CRITICAL_SHARE: u8 = 20;

fn default_critical_share() -> u8 {
    DEFAULT_CRITICAL_SHARE
}

/// A server-API access key. The secret is held sealed at rest by the store's caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub tenant_id: String,
    /// The secret, sealed with the node's master key (see `crypto::MasterKey`).
    pub sealed_secret: Vec<u8>,
    pub enabled: bool,
    pub description: String,
    pub created_at: i64,
}

/// A bearer token for the admin API; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    pub hash: [u8; 32],
    pub role: Role,
    pub label: String,
    pub created_at: i64,
}

/// Admin roles: `admin` may change everything, `viewer` may only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Admin,
    Viewer,
}

/// A recorded drag (recording mode), as exported for training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    pub scene_id: String,
    pub recorded_at: i64,
    /// The challenge type answered.
    #[serde(rename = "type")]
    pub kind: VerificationType,
    /// `mouse`, `touch` or `pen`.
    pub pointer: String,
    /// The verdict code the answer got (`T001` for a pass).
    pub outcome: String,
    /// The risk engine's reasons for this answer.
    pub reasons: Vec<String>,
    /// Samples from press to release: handle offset, height, ms since render. For a
    /// one-click answer: the mouse's approach (px from the box's corner) and the click last.
    pub points: Vec<[f64; 3]>,
}

/// Most traces a scene keeps; older ones are dropped as new ones arrive.
pub const TRACES_KEPT: usize = 20_000;

/// A scene: one business action's verification settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scene {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub integration: Integration,
    #[serde(rename = "type")]
    pub kind: VerificationType,
    /// For `no-captcha` only: the challenge a risky user gets.
    pub secondary_type: Option<VerificationType>,
    pub status: SceneStatus,
    pub test_preset: TestPreset,
    pub mode: DefenceMode,
    pub policy: Policy,
    pub language: String,
    pub custom_text: BTreeMap<String, String>,
    pub allowed_urls: Vec<String>,
    pub encryption: bool,
    /// A critical scene (a checkout in a flash sale): its inits go ahead of ordinary ones
    /// and keep the tenant's reserved share (`capacity`).
    #[serde(default)]
    pub critical: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The fields a client sends to create a scene; absent ones take defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SceneSpec {
    pub tenant_id: Option<String>,
    pub name: Option<String>,
    pub integration: Option<Integration>,
    #[serde(rename = "type")]
    pub kind: Option<VerificationType>,
    pub secondary_type: Option<VerificationType>,
    pub status: Option<SceneStatus>,
    pub test_preset: Option<TestPreset>,
    pub mode: Option<DefenceMode>,
    pub policy: Option<Policy>,
    pub language: Option<String>,
    pub custom_text: Option<BTreeMap<String, String>>,
    pub allowed_urls: Option<Vec<String>>,
    pub encryption: Option<bool>,
    pub critical: Option<bool>,
}

/// A partial update. `integration` is accepted only when unchanged (it is fixed).
/// `secondaryType: null` clears the field; absence leaves it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenePatch {
    pub name: Option<String>,
    pub integration: Option<Integration>,
    #[serde(rename = "type")]
    pub kind: Option<VerificationType>,
    #[serde(default, deserialize_with = "double_option")]
    pub secondary_type: Option<Option<VerificationType>>,
    pub status: Option<SceneStatus>,
    pub test_preset: Option<TestPreset>,
    pub mode: Option<DefenceMode>,
    pub policy: Option<Policy>,
    pub language: Option<String>,
    pub custom_text: Option<BTreeMap<String, String>>,
    pub allowed_urls: Option<Vec<String>>,
    pub encryption: Option<bool>,
    pub critical: Option<bool>,
}

fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

impl Scene {
    /// Build a new scene from a creation request, with a fresh id.
    pub fn create(tenant_id: &str, spec: SceneSpec, now: i64) -> Result<Scene, ValidationError> {
        let name = spec
            .name
            .ok_or_else(|| ValidationError::new("name", "is required"))?;
        let kind = spec
            .kind
            .ok_or_else(|| ValidationError::new("type", "is required"))?;
        let mut scene = Scene {
            id: ids::scene_id(),
            tenant_id: tenant_id.to_owned(),
            name,
            integration: spec.integration.unwrap_or(Integration::Web),
            kind,
            secondary_type: spec.secondary_type,
            status: spec.status.unwrap_or(SceneStatus::Production),
            test_preset: TestPreset::Pass,
            mode: spec.mode.unwrap_or(DefenceMode::Basic),
            policy: spec.policy.unwrap_or_default(),
            language: spec.language.unwrap_or_else(|| "cn".to_owned()),
            custom_text: spec.custom_text.unwrap_or_default(),
            allowed_urls: spec.allowed_urls.unwrap_or_default(),
            encryption: spec.encryption.unwrap_or(false),
            critical: spec.critical.unwrap_or(false),
            created_at: now,
            updated_at: now,
        };
        if kind == VerificationType::NoCaptcha && scene.secondary_type.is_none() {
            scene.secondary_type = Some(VerificationType::Slider);
        }
        scene.test_preset = spec
            .test_preset
            .unwrap_or(if kind == VerificationType::NoCaptcha {
                TestPreset::SilentPass
            } else {
                TestPreset::Pass
            });
        scene.validate()?;
        Ok(scene)
    }

    /// Apply a partial update; on error the scene is unchanged.
    pub fn apply(&self, patch: ScenePatch, now: i64) -> Result<Scene, ValidationError> {
        let mut next = self.clone();
        if let Some(integration) = patch.integration
            && integration != self.integration
        {
            return Err(ValidationError::new(
                "integration",
                "is fixed after the scene is created",
            ));
        }
        if let Some(v) = patch.name {
            next.name = v;
        }
        if let Some(v) = patch.kind {
            next.kind = v;
            if v == VerificationType::NoCaptcha && next.secondary_type.is_none() {
                next.secondary_type = Some(VerificationType::Slider);
            }
            if v != VerificationType::NoCaptcha && patch.secondary_type.is_none() {
                next.secondary_type = None;
            }
            if patch.test_preset.is_none() && !next.test_preset.fits(v) {
                next.test_preset = if v == VerificationType::NoCaptcha {
                    TestPreset::SilentPass
                } else {
                    TestPreset::Pass
                };
            }
        }
        if let Some(v) = patch.secondary_type {
            next.secondary_type = v;
        }
        if let Some(v) = patch.status {
            next.status = v;
        }
        if let Some(v) = patch.test_preset {
            next.test_preset = v;
        }
        if let Some(v) = patch.mode {
            next.mode = v;
        }
        if let Some(v) = patch.policy {
            next.policy = v;
        }
        if let Some(v) = patch.language {
            next.language = v;
        }
        if let Some(v) = patch.custom_text {
            next.custom_text = v;
        }
        if let Some(v) = patch.allowed_urls {
            next.allowed_urls = v;
        }
        if let Some(v) = patch.encryption {
            next.encryption = v;
        }
        if let Some(v) = patch.critical {
            next.critical = v;
        }
        next.updated_at = now;
        next.validate()?;
        Ok(next)
    }

    fn validate(&self) -> Result<(), ValidationError> {
        let chars = self.name.trim().chars().count();
        if chars == 0 || self.name.chars().count() > 32 {
            return Err(ValidationError::new("name", "must be 1 to 32 characters"));
        }
        if self.name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "name",
                "must not contain control characters",
            ));
        }
        match (self.kind, self.secondary_type) {
            (VerificationType::NoCaptcha, None) => {
                return Err(ValidationError::new(
                    "secondaryType",
                    "is required for no-captcha",
                ));
            }
            (VerificationType::NoCaptcha, Some(VerificationType::NoCaptcha)) => {
                return Err(ValidationError::new(
                    "secondaryType",
                    "must be a visual type (one-click, slider, jigsaw or image-restoration)",
                ));
            }
            (VerificationType::NoCaptcha, Some(_)) => {}
            (_, Some(_)) => {
                return Err(ValidationError::new(
                    "secondaryType",
                    "is only allowed when type is no-captcha",
                ));
            }
            (_, None) => {}
        }
        if !self.test_preset.fits(self.kind) {
            return Err(ValidationError::new(
                "testPreset",
                if self.kind == VerificationType::NoCaptcha {
                    "must be silent-pass, silent-fail-secondary-pass or silent-fail-secondary-fail for no-captcha"
                } else {
                    "must be pass or fail for a visual type"
                },
            ));
        }
        if !(1..=10).contains(&self.policy.max_attempts) {
            return Err(ValidationError::new(
                "policy.maxAttempts",
                "must be between 1 and 10",
            ));
        }
        let pow = self.policy.pow;
        if pow.max > crate::risk::pow::MAX_BITS
            || pow.base > crate::risk::pow::MAX_BITS
            || (pow.max > 0 && pow.base > pow.max)
        {
            return Err(ValidationError::new(
                "policy.pow",
                format!(
                    "base and max are bits from 0 to {}, base at most max",
                    crate::risk::pow::MAX_BITS
                ),
            ));
        }
        if self.policy.allow_ips.len() > 100 {
            return Err(ValidationError::new(
                "policy.allowIps",
                "holds at most 100 entries",
            ));
        }
        if let Some(bad) = self
            .policy
            .allow_ips
            .iter()
            .find(|e| parse_net(e).is_none())
        {
            return Err(ValidationError::new(
                "policy.allowIps",
                format!("{bad:?} is not an IP address or CIDR block"),
            ));
        }
        if !LANGUAGES.contains(&self.language.as_str()) {
            return Err(ValidationError::new(
                "language",
                format!("must be one of {}", LANGUAGES.join(", ")),
            ));
        }
        for (key, text) in &self.custom_text {
            if !TEXT_KEYS.contains(&key.as_str()) {
                return Err(ValidationError::new(
                    "customText",
                    format!(
                        "unknown text key {key:?}; keys are {}",
                        TEXT_KEYS.join(", ")
                    ),
                ));
            }
            if text.chars().count() > 200 {
                return Err(ValidationError::new(
                    "customText",
                    "texts are at most 200 characters",
                ));
            }
        }
        if self.allowed_urls.len() > 100 {
            return Err(ValidationError::new("allowedUrls", "at most 100 entries"));
        }
        for url in &self.allowed_urls {
            if url.trim().is_empty() || url.len() > 512 {
                return Err(ValidationError::new(
                    "allowedUrls",
                    "entries must be 1 to 512 characters",
                ));
            }
        }
        Ok(())
    }

    /// Whether the allow-list (T006) covers `client_ip`.
    pub fn allows_ip(&self, client_ip: &str) -> bool {
        let Ok(ip) = client_ip.parse::<std::net::IpAddr>() else {
            return false;
        };
        self.policy
            .allow_ips
            .iter()
            .filter_map(|e| parse_net(e))
            .any(|net| net.contains(&ip))
    }

    /// The page-URL rule (F016): no list allows all; otherwise any entry must be a substring.
    pub fn allows_page(&self, page_url: &str) -> bool {
        self.allowed_urls.is_empty()
            || self
                .allowed_urls
                .iter()
                .any(|u| page_url.contains(u.as_str()))
    }
}

/// An allow-list entry: a CIDR block, or a single address.
fn parse_net(entry: &str) -> Option<ipnet::IpNet> {
    let e = entry.trim();
    e.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| e.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

impl Tenant {
    /// Validate a tenant name (1–64 characters).
    pub fn check_name(name: &str) -> Result<(), ValidationError> {
        let n = name.trim().chars().count();
        if n == 0 || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "name",
                "must be 1 to 64 printable characters",
            ));
        }
        Ok(())
    }

    /// Validate a critical share (0–90 percent).
    pub fn check_critical_share(share: u8) -> Result<(), ValidationError> {
        if share > 90 {
            return Err(ValidationError::new(
                "criticalShare",
                "must be between 0 and 90 (percent)",
            ));
        }
        Ok(())
    }

    /// Validate a QPS quota (1–1,000,000).
    pub fn check_quota(qps: u32) -> Result<(), ValidationError> {
        if !(1..=1_000_000).contains(&qps) {
            return Err(ValidationError::new(
                "qpsQuota",
                "must be between 1 and 1000000",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, kind: VerificationType) -> SceneSpec {
        SceneSpec {
            name: Some(name.into()),
            kind: Some(kind),
            ..Default::default()
        }
    }

    #[test]
    fn name_length_is_checked_in_characters() {
        assert!(Scene::create("t", spec(&"场".repeat(32), VerificationType::Slider), 0).is_ok());
        let err = Scene::create("t", spec(&"a".repeat(33), VerificationType::Slider), 0);
        assert_eq!(err.unwrap_err().field, "name");
        assert_eq!(
            Scene::create("t", spec("  ", VerificationType::Slider), 0)
                .unwrap_err()
                .field,
            "name"
        );
    }

    #[test]
    fn no_captcha_gets_a_secondary_type_and_silent_preset() {
        let s = Scene::create("t", spec("n", VerificationType::NoCaptcha), 0).unwrap();
        assert_eq!(s.secondary_type, Some(VerificationType::Slider));
        assert_eq!(s.test_preset, TestPreset::SilentPass);
        let mut bad = spec("n", VerificationType::Slider);
        bad.secondary_type = Some(VerificationType::Jigsaw);
        assert_eq!(
            Scene::create("t", bad, 0).unwrap_err().field,
            "secondaryType"
        );
    }

    #[test]
    fn integration_is_fixed_after_creation() {
        let s = Scene::create("t", spec("n", VerificationType::Slider), 0).unwrap();
        let patch = ScenePatch {
            integration: Some(Integration::Webview),
            ..Default::default()
        };
        assert_eq!(s.apply(patch, 1).unwrap_err().field, "integration");
        let same = ScenePatch {
            integration: Some(Integration::Web),
            ..Default::default()
        };
        assert!(s.apply(same, 1).is_ok());
    }

    #[test]
    fn switching_type_keeps_the_scene_consistent() {
        let s = Scene::create("t", spec("n", VerificationType::NoCaptcha), 0).unwrap();
        let patch = ScenePatch {
            kind: Some(VerificationType::Jigsaw),
            ..Default::default()
        };
        let next = s.apply(patch, 1).unwrap();
        assert_eq!(next.secondary_type, None);
        assert_eq!(next.test_preset, TestPreset::Pass);
        assert_eq!(next.updated_at, 1);
    }

    #[test]
    fn page_rule_is_a_substring_match() {
        let mut s = Scene::create("t", spec("n", VerificationType::Slider), 0).unwrap();
        assert!(s.allows_page("https://evil.example/"));
        s.allowed_urls = vec!["shop.example.com/checkout".into()];
        assert!(s.allows_page("https://shop.example.com/checkout?x=1"));
        assert!(!s.allows_page("https://shop.example.com/login"));
    }

    #[test]
    fn unknown_text_keys_and_languages_are_refused() {
        let mut sp = spec("n", VerificationType::Slider);
        sp.language = Some("xx".into());
        assert_eq!(Scene::create("t", sp, 0).unwrap_err().field, "language");
        let mut sp = spec("n", VerificationType::Slider);
        sp.custom_text = Some([("NOPE".to_owned(), "x".to_owned())].into());
        assert_eq!(Scene::create("t", sp, 0).unwrap_err().field, "customText");
    }
}

/// A tenant-uploaded jigsaw background in a scene's custom pool, with its health figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SceneImage {
    pub id: String,
    pub scene_id: String,
    /// `png`, `jpeg` or `webp`.
    pub format: String,
    /// The file as uploaded (validated: 300×200, at most 50 KB).
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub size: u32,
    pub created_at: i64,
    /// Challenges cut from this image.
    pub shown: u64,
    pub passed: u64,
    pub failed: u64,
}

/// What happened to a challenge cut from a custom image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageOutcome {
    Shown,
    Passed,
    Failed,
}

/// A scene's custom pool is used only from this many images on (SPEC §3).
pub const POOL_MINIMUM: usize = 15;
/// The console recommends more than this many.
pub const POOL_RECOMMENDED: usize = 130;
/// The most images one scene's pool may hold.
pub const POOL_MAXIMUM: usize = 2000;

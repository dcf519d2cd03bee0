//! The verification cycle (SPEC §2, §4): init → challenge → answer (retries allowed) → pass
//! token → one server-side verification. This is the domain service behind the widget API
//! and the server verification API; it knows stores and tokens, not HTTP.
//!
//! Rules enforced here: an init record lives 20 minutes; each answer must carry the cycle's
//! nonce and the next attempt number (anything else is a forged or replayed request, F017);
//! a scripted answer burns the cycle; a pass token verifies once, within 90 seconds, only for
//! its tenant and scene; a scene in test mode skips the checks and yields its preset.
//!
//! The risk engine runs on every answer: the challenge's own findings, what init learnt
//! about the client (device identity, churn) and the frequency counters combine into an
//! [`Assessment`] (score and reasons); the scene's defence mode, fixed for the cycle at
//! init, decides (see `risk::score`). The assessment is sealed into the pass token, so the
//! server verification reports it, and logged with every verdict. An allow-listed client
//! (T006) and a scene in test mode skip it. Stateful checks live in [`guard`].

pub mod guard;
pub mod pool;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::capacity::{Admission, Class, NodePolicy, Quota, Refusal};
use crate::challenge::{self, Answer, Presentation, Secret, Verdict};
use crate::clock::Clock;
use crate::codes::VerifyCode;
use crate::crypto::{MasterKey, ct_eq};
use crate::ids;
use crate::imaging::Background;
use crate::model::{
    DefenceMode, ImageOutcome, Limits, POOL_MINIMUM, Scene, SceneStatus, TestPreset,
    VerificationType,
};
use crate::risk::score::Assessment;
use crate::risk::{Finding, accuracy};
use crate::store::{StoreError, Stores};
use crate::token::{Keyring, KeyringExport, PassClaims, VerifyParam};

/// Picture requests one tenant may have waiting for an image worker (about 50 ms of
/// work on two cores); more are refused at once.
const IMAGE_QUEUE_PER_TENANT: usize = 64;
/// Picture requests waiting for an image worker in all.
const IMAGE_QUEUE_TOTAL: usize = 256;

/// How long an init record lives.
pub const INIT_TTL_MS: i64 = 20 * 60 * 1000;
/// How long after the pass the business backend may verify the token.
pub const TOKEN_WINDOW_MS: i64 = 90 * 1000;

/// Where a cycle stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CycleState {
    Pending,
    Passed,
    /// No answers accepted any more: retries used up, or the cycle was burnt.
    Closed,
}

/// One verification cycle, as kept in the hot store. Stored under short field names (the
/// long ones are still read), and without the fields that hold nothing: a million
/// outstanding cycles are a million records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cycle {
    #[serde(rename = "id", alias = "certify_id")]
    pub certify_id: String,
    #[serde(rename = "t", alias = "tenant_id")]
    pub tenant_id: String,
    #[serde(rename = "s", alias = "scene_id")]
    pub scene_id: String,
    /// The scene's type at init.
    #[serde(rename = "sk", alias = "scene_kind")]
    pub scene_kind: VerificationType,
    /// The type currently shown (differs for No-CAPTCHA once escalated).
    #[serde(rename = "k", alias = "kind")]
    pub kind: VerificationType,
    /// For No-CAPTCHA: the challenge shown when the silent check does not pass.
    #[serde(
        rename = "k2",
        alias = "secondary_kind",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub secondary_kind: Option<VerificationType>,
    #[serde(rename = "c", alias = "created_at_ms")]
    pub created_at_ms: i64,
    /// When the challenge now shown was issued: init, an escalation or a retry on a new
    /// picture, as the widget restarts its clock (0 for cycles stored before this was
    /// kept: `created_at_ms` then).
    #[serde(rename = "sh", alias = "shown_at_ms", default)]
    pub shown_at_ms: i64,
    #[serde(rename = "e", alias = "expires_at_ms")]
    pub expires_at_ms: i64,
    #[serde(rename = "n", alias = "nonce")]
    pub nonce: String,
    #[serde(rename = "a", alias = "attempts")]
    pub attempts: u8,
    #[serde(rename = "ma", alias = "max_attempts")]
    pub max_attempts: u8,
    #[serde(rename = "st", alias = "state")]
    pub state: CycleState,
    /// Why the cycle was closed; repeated to any later answer.
    #[serde(
        rename = "cw",
        alias = "closed_with",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_with: Option<VerifyCode>,
    #[serde(rename = "x", alias = "secret")]
    pub secret: Secret,
    #[serde(
        rename = "tp",
        alias = "test_preset",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub test_preset: Option<TestPreset>,
    #[serde(rename = "u", alias = "page_url")]
    pub page_url: String,
    #[serde(rename = "ip", alias = "client_ip")]
    pub client_ip: String,
    #[serde(rename = "d", alias = "device_token")]
    pub device_token: String,
    /// The defence settings and client facts fixed at init.
    #[serde(rename = "df", alias = "defence", default)]
    pub defence: CycleDefence,
    /// The proof-of-work asked of this cycle, in bits (0: none; `risk::pow`).
    #[serde(rename = "pw", alias = "pow_bits", default)]
    pub pow_bits: u8,
    /// The program every answer must be signed with (`risk::dynamic`).
    #[serde(
        rename = "pg",
        alias = "program",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub program: Option<crate::risk::dynamic::Program>,
}

/// A cycle's defence settings (the scene's at init) and what init learnt about the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleDefence {
    #[serde(rename = "m", alias = "mode")]
    pub mode: DefenceMode,
    #[serde(
        rename = "sh",
        alias = "shadow",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub shadow: bool,
    #[serde(rename = "l", alias = "limits")]
    pub limits: Limits,
    /// The client matched the scene's allow-list: no risk checks, and T006 at verification.
    #[serde(
        rename = "al",
        alias = "allow_listed",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub allow_listed: bool,
    /// Soft findings from init (device identity), carried into the answer's assessment.
    #[serde(
        rename = "f",
        alias = "findings",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub findings: Vec<Finding>,
    /// Recording mode: keep this cycle's drags.
    #[serde(
        rename = "r",
        alias = "record",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub record: bool,
}

impl Default for CycleDefence {
    fn default() -> Self {
        Self {
            mode: DefenceMode::Basic,
            shadow: false,
            limits: Limits::default(),
            allow_listed: false,
            findings: Vec::new(),
            record: false,
        }
    }
}

/// A failure of a cycle step with a verdict code, or an internal fault.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("{0}: {1}")]
    Code(VerifyCode, &'static str),
    #[error(transparent)]
    Unavailable(#[from] challenge::Unavailable),
    /// The image workers are gone (shutting down) or a generation task failed.
    #[error("challenge generation is unavailable")]
    Busy,
    /// Not admitted: over a quota, or not served by this node (`capacity`).
    #[error("not admitted: {0:?}")]
    Refused(crate::capacity::Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the widget sends to start a cycle.
#[derive(Debug, Clone)]
pub struct InitInput {
    pub scene_id: String,
    pub prefix: Option<String>,
    pub page_url: String,
    pub client_ip: String,
    pub device_token: Option<String>,
    /// Encryption mode's `EncryptedSceneId`, when the widget was given one.
    pub encrypted_scene_id: Option<String>,
    /// The epoch of the codebook the widget holds (`risk::dynamic::Codebook`).
    pub dv_epoch: Option<i64>,
}

/// What the widget gets back.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitOutput {
    pub certify_id: String,
    pub scene_id: String,
    #[serde(rename = "type")]
    pub kind: VerificationType,
    pub nonce: String,
    pub attempt: u8,
    pub max_attempts: u8,
    pub expires_in: i64,
    pub challenge: Presentation,
    pub device_token: String,
    pub language: String,
    pub custom_text: std::collections::BTreeMap<String, String>,
    /// The proof-of-work to send with the answer, in bits (0: none; `risk::pow`).
    pub pow: u8,
    /// The signing program for the answers, on the wire (`risk::dynamic`), encoded with
    /// the codebook of `dv_epoch`.
    pub dv: Vec<u32>,
    pub dv_epoch: i64,
}

/// One answer from the widget.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerInput {
    pub certify_id: String,
    pub nonce: String,
    pub attempt: u32,
    pub answer: Answer,
    /// The proof-of-work's counter (decimal), when init asked for one.
    #[serde(default)]
    pub pow: Option<String>,
    /// The answer signed with the cycle's program (`risk::dynamic`).
    #[serde(default)]
    pub sig: Option<String>,
    /// The request's `User-Agent` header (set by the HTTP layer, never read from the body).
    #[serde(skip)]
    pub user_agent: Option<String>,
}

/// The outcome of an answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerOutput {
    pub passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<VerifyCode>,
    /// Whether another answer to the same cycle is accepted.
    pub retry: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captcha_verify_param: Option<String>,
    /// No-CAPTCHA escalated: render this challenge next, in the same cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary: Option<Presentation>,
    /// A wrong placement on a picture challenge: retry on this new picture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Presentation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Finding>,
}

impl AnswerOutput {
    fn failed(code: VerifyCode, retry: bool, reasons: Vec<Finding>) -> Self {
        Self {
            passed: false,
            code: Some(code),
            retry,
            captcha_verify_param: None,
            secondary: None,
            challenge: None,
            reasons,
        }
    }
}

/// The verdict of a server verification.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerVerdict {
    pub code: VerifyCode,
    pub certify_id: Option<String>,
    /// The risk engine's assessment of the answer that earned the token.
    pub assessment: Option<Assessment>,
}

impl ServerVerdict {
    fn code(code: VerifyCode) -> Self {
        Self {
            code,
            certify_id: None,
            assessment: None,
        }
    }
}

/// The cycle service shared by all request handlers.
#[derive(Clone)]
pub struct CycleService {
    stores: Stores,
    clock: Clock,
    keyring: Arc<RwLock<Keyring>>,
    master: MasterKey,
    /// Bounds concurrent image generation so it can never take every worker thread, and
    /// shares the workers fairly between tenants (`pool`).
    images: pool::FairPool,
    /// Decoded custom jigsaw pools by scene id, reloaded when the pool's ids change.
    pools: Arc<Mutex<HashMap<String, PoolEntry>>>,
    device_key: guard::DeviceKey,
    /// Near-duplicate keys, from the deployment's secret (`risk::resemblance`).
    resemblance: Arc<crate::risk::resemblance::Hasher>,
    /// Quotas, the node's ceiling and its dedication (`capacity`).
    admission: Arc<Admission>,
}

/// A scene's decoded custom backgrounds.
struct Pool {
    images: Vec<(String, Background)>,
}

/// What is known of a scene's pool, and when its ids were last looked up.
#[derive(Clone)]
struct PoolEntry {
    checked_ms: i64,
    ids: Vec<String>,
    /// `None` while the pool holds fewer than [`POOL_MINIMUM`] images.
    pool: Option<Arc<Pool>>,
}

/// How often a scene's pool ids are looked up again.
const POOL_RECHECK_MS: i64 = 1000;

/// Where the sealed token keyring is kept in the config store (also the sealing context).
pub const KEYRING_META: &str = "token-keys";

impl CycleService {
    /// Load the token keyring from the config store (creating it on first start).
    pub async fn new(
        stores: Stores,
        clock: Clock,
        master: MasterKey,
        node: &NodePolicy,
    ) -> Result<Self, anyhow::Error> {
        let keyring = match stores.config.meta(KEYRING_META).await? {
            Some(sealed) => {
                let plain = master.open(KEYRING_META, &sealed).map_err(|_| {
                    anyhow::anyhow!(
                        "token keys cannot be opened: wrong master key for this data directory?"
                    )
                })?;
                let export: KeyringExport = serde_json::from_slice(&plain)?;
                Keyring::import(&export)
                    .ok_or_else(|| anyhow::anyhow!("stored token keys are invalid"))?
            }
            None => {
                let ring = Keyring::generate();
                let plain = serde_json::to_vec(&ring.export())?;
                stores
                    .config
                    .put_meta(KEYRING_META, &master.seal(KEYRING_META, &plain))
                    .await?;
                ring
            }
        };
        let device_key = guard::DeviceKey::load(&stores, &master).await?;
        let resemblance = Arc::new(crate::risk::resemblance::Hasher::new(
            &device_key.derive("resemblance"),
        ));
        Ok(Self {
            resemblance,
            device_key,
            stores,
            clock,
            keyring: Arc::new(RwLock::new(keyring)),
            master,
            images: pool::FairPool::new(image_workers(), IMAGE_QUEUE_PER_TENANT, IMAGE_QUEUE_TOTAL),
            pools: Arc::new(Mutex::new(HashMap::new())),
            admission: Arc::new(Admission::new(node)),
        })
    }

    /// Admit one request of `class` for `tenant_id` under the tenant's quota as configured
    /// now (SPEC §7), or refuse it at once. A tenant that no longer exists is let through:
    /// the step itself then fails on what it finds.
    pub async fn admit(&self, tenant_id: &str, class: Class) -> Result<(), CycleError> {
        if !self.admission.serves(tenant_id) {
            return Err(CycleError::Refused(Refusal::NotServed));
        }
        let Some(tenant) = self.stores.config.tenant(tenant_id).await? else {
            return Ok(());
        };
        let quota = Quota {
            qps: tenant.qps_quota,
            critical_share: tenant.critical_share,
        };
        self.admission
            .admit(tenant_id, quota, class, self.clock.now_us())
            .map_err(|refusal| {
                tracing::debug!(tenant = %tenant_id, ?class, ?refusal, "request not admitted");
                CycleError::Refused(refusal)
            })
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Make a new signing key current; tokens sealed with older keys keep verifying.
    pub async fn rotate_token_key(&self) -> Result<u32, StoreError> {
        let (id, plain) = {
            let mut ring = self.keyring.write().unwrap_or_else(|p| p.into_inner());
            let mut next = ring.clone();
            let id = next.rotate();
            let plain = serde_json::to_vec(&next.export()).expect("serializes");
            *ring = next;
            (id, plain)
        };
        self.stores
            .config
            .put_meta(KEYRING_META, &self.master.seal(KEYRING_META, &plain))
            .await?;
        Ok(id)
    }

    /// Start a cycle for a scene.
    /// The codebook of `epoch` for the signing programs (`risk::dynamic`), from the
    /// installation's device key (shared by every node).
    pub fn codebook(&self, epoch: i64) -> crate::risk::dynamic::Codebook {
        crate::risk::dynamic::Codebook::derive(&self.device_key.derive("dv-codebook"), epoch)
    }

    /// `ResembledTrajectory` if this answer's movement (a drag, or the reach to a one-click
    /// box) is near one the tenant's answers made within a day: a recorded movement sent
    /// again in disguise. Every profile is kept, passed or not.
    async fn resembled(
        &self,
        tenant_id: &str,
        answer: &Answer,
        now: i64,
    ) -> Result<Option<Finding>, StoreError> {
        use crate::risk::resemblance::{self, Profile};
        let (kind, profile, radius) = if let Some(points) = answer.drag() {
            (
                "drag",
                resemblance::profile(points),
                resemblance::DRAG_RADIUS,
            )
        } else if let Some((points, click)) = answer.approach() {
            (
                "reach",
                resemblance::reach_profile(points, click),
                resemblance::REACH_RADIUS,
            )
        } else {
            return Ok(None);
        };
        let Some(profile) = profile else {
            return Ok(None);
        };
        let held = self
            .stores
            .hot
            .gather(
                &format!("{tenant_id}:{kind}"),
                &self.resemblance.keys(&profile),
                &profile.to_bytes(),
                resemblance::BUCKET_CAP,
                now + 86_400_000,
                now,
            )
            .await?;
        let copy = held
            .iter()
            .filter_map(|b| Profile::from_bytes(b))
            .any(|p| p.is_copy_of(&profile, radius));
        Ok(copy.then_some(Finding::ResembledTrajectory))
    }

    /// The codebook the served widget carries now.
    pub fn current_codebook(&self) -> crate::risk::dynamic::Codebook {
        self.codebook(crate::risk::dynamic::epoch_at(self.clock.now_ms()))
    }

    pub async fn init(&self, input: InitInput) -> Result<InitOutput, CycleError> {
        if !ids::looks_like_scene_id(&input.scene_id) {
            return Err(CycleError::Code(VerifyCode::F005, "scene id is invalid"));
        }
        let scene = self
            .stores
            .config
            .scene(&input.scene_id)
            .await?
            .ok_or(CycleError::Code(VerifyCode::F005, "scene id is invalid"))?;
        if let Some(prefix) = input.prefix.as_deref().filter(|p| !p.is_empty()) {
            let tenant = self.stores.config.tenant(&scene.tenant_id).await?;
            if tenant.is_none_or(|t| t.prefix != prefix) {
                return Err(CycleError::Code(
                    VerifyCode::F005,
                    "scene does not belong to this prefix",
                ));
            }
        }
        let class = if scene.critical {
            Class::CriticalInit
        } else {
            Class::Init
        };
        self.admit(&scene.tenant_id, class).await?;
        if !scene.allows_page(&input.page_url) {
            return Err(CycleError::Code(
                VerifyCode::F016,
                "page URL is not allowed for this scene",
            ));
        }
        if scene.encryption {
            self.check_encryption(&scene, input.encrypted_scene_id.as_deref())
                .await?;
        }
        let test_preset = (scene.status == SceneStatus::Test).then_some(scene.test_preset);
        let now = self.clock.now_ms();
        let allow_listed = scene.allows_ip(&input.client_ip);
        let offered = input.device_token.as_deref();
        let (device_token, findings, pow_bits) = if allow_listed || test_preset.is_some() {
            let token = offered
                .filter(|d| self.device_key.is_genuine(d))
                .map_or_else(|| self.device_key.issue(), str::to_owned);
            (token, Vec::new(), 0)
        } else {
            match guard::at_init(
                &self.stores,
                &self.device_key,
                &scene,
                &input.client_ip,
                offered,
                now,
            )
            .await?
            {
                Ok(facts) => {
                    let pressure = crate::risk::pow::Pressure {
                        mode: scene.mode,
                        suspicious_identity: !facts.findings.is_empty(),
                        ip_inits: facts.ip_inits,
                        ip_init_limit: scene.policy.limits.inits_per_minute,
                        scene_inits: facts.scene_inits,
                    };
                    let bits = crate::risk::pow::bits(&scene.policy.pow, &pressure);
                    (facts.device_token, facts.findings, bits)
                }
                Err(guard::InitRefusal::Ip(reason)) => {
                    tracing::info!(target: "stile::verdict", scene = %scene.id, ip = %input.client_ip, code = "F010", reason = ?reason, "init refused");
                    return Err(CycleError::Code(
                        VerifyCode::F010,
                        "this client has exceeded the scene's frequency limit",
                    ));
                }
                Err(guard::InitRefusal::Device) => {
                    tracing::info!(target: "stile::verdict", scene = %scene.id, ip = %input.client_ip, code = "F011", "init refused");
                    return Err(CycleError::Code(
                        VerifyCode::F011,
                        "this device has exceeded the scene's frequency limit",
                    ));
                }
            }
        };
        let kind = first_kind(&scene, test_preset);
        let (presentation, secret) = self
            .make_challenge(kind, &scene.id, &scene.tenant_id)
            .await?;
        let cycle = Cycle {
            certify_id: ids::certify_id(),
            tenant_id: scene.tenant_id.clone(),
            scene_id: scene.id.clone(),
            scene_kind: scene.kind,
            kind,
            secondary_kind: scene.secondary_type,
            created_at_ms: now,
            shown_at_ms: now,
            expires_at_ms: now + INIT_TTL_MS,
            nonce: ids::nonce(18),
            attempts: 0,
            max_attempts: scene.policy.max_attempts
                + u8::from(presentation == Presentation::Silent),
            state: CycleState::Pending,
            closed_with: None,
            secret,
            test_preset,
            page_url: input.page_url.chars().take(1024).collect(),
            client_ip: input.client_ip,
            device_token: device_token.clone(),
            defence: CycleDefence {
                mode: scene.mode,
                shadow: scene.policy.shadow,
                limits: scene.policy.limits,
                allow_listed,
                findings,
                record: scene.policy.record,
            },
            pow_bits,
            program: Some(crate::risk::dynamic::Program::random(&mut rand::rng())),
        };
        self.stores.hot.insert_cycle(&cycle).await?;
        let book = self.codebook(crate::risk::dynamic::Codebook::epoch_for(
            input.dv_epoch,
            now,
        ));
        Ok(InitOutput {
            certify_id: cycle.certify_id,
            scene_id: scene.id,
            kind,
            nonce: cycle.nonce,
            attempt: 0,
            max_attempts: cycle.max_attempts,
            expires_in: INIT_TTL_MS / 1000,
            challenge: presentation,
            device_token,
            language: scene.language,
            custom_text: scene.custom_text,
            pow: pow_bits,
            dv: cycle
                .program
                .as_ref()
                .map(|p| p.to_wire(&book))
                .unwrap_or_default(),
            dv_epoch: book.epoch,
        })
    }

    /// The scene's custom jigsaw pool when it is active (at least [`POOL_MINIMUM`] images).
    /// The pool's ids are looked up at most once per [`POOL_RECHECK_MS`] per scene, so a
    /// jigsaw init normally costs no storage query; an upload or deletion is in force
    /// within that time.
    async fn active_pool(&self, scene_id: &str) -> Result<Option<Arc<Pool>>, CycleError> {
        let now = self.clock.now_ms();
        let known = self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(scene_id)
            .cloned();
        if let Some(entry) = &known
            && now - entry.checked_ms < POOL_RECHECK_MS
        {
            return Ok(entry.pool.clone());
        }
        let ids = self.stores.config.scene_image_ids(scene_id).await?;
        let pool = match known {
            Some(entry) if entry.ids == ids => entry.pool,
            _ if ids.len() < POOL_MINIMUM => None,
            _ => {
                let stored = self.stores.config.scene_images(scene_id).await?;
                let images = tokio::task::spawn_blocking(move || {
                    stored
                        .into_iter()
                        .filter_map(|i| Background::decode(&i.bytes).ok().map(|b| (i.id, b)))
                        .collect::<Vec<_>>()
                })
                .await
                .map_err(|_| CycleError::Busy)?;
                Some(Arc::new(Pool { images })).filter(|p| !p.images.is_empty())
            }
        };
        self.pools.lock().unwrap_or_else(|p| p.into_inner()).insert(
            scene_id.to_owned(),
            PoolEntry {
                checked_ms: now,
                ids,
                pool: pool.clone(),
            },
        );
        Ok(pool)
    }

    /// A fresh challenge of `kind` for `scene_id`. Picture types are generated on the
    /// image workers' threads, [`image_workers`] of them, so a flood of image inits cannot
    /// stall verification; waiting for a worker is fair between tenants and bounded
    /// ([`pool::FairPool`]). A jigsaw is cut from the scene's custom pool when it is active.
    async fn make_challenge(
        &self,
        kind: VerificationType,
        scene_id: &str,
        tenant_id: &str,
    ) -> Result<(Presentation, Secret), CycleError> {
        if kind == VerificationType::NoCaptcha {
            return Ok(challenge::silent());
        }
        let seed: u64 = rand::random();
        if !challenge::is_costly(kind) {
            return Ok(challenge::generate(kind, seed, None)?);
        }
        let pool = if kind == VerificationType::Jigsaw {
            self.active_pool(scene_id).await?
        } else {
            None
        };
        let made = self
            .images
            .run(tenant_id, move || {
                let chosen = pool.as_ref().map(|p| {
                    let (id, image) = &p.images[(seed % p.images.len() as u64) as usize];
                    (id.as_str(), image)
                });
                challenge::generate(kind, seed, chosen)
            })
            .await
            .map_err(CycleError::Refused)?
            .ok_or(CycleError::Busy)??;
        if let Some(id) = made.1.image_id() {
            self.stores
                .config
                .count_image_outcome(id, ImageOutcome::Shown)
                .await?;
        }
        Ok(made)
    }

    /// Judge one answer.
    pub async fn answer(&self, input: AnswerInput) -> Result<AnswerOutput, CycleError> {
        let now = self.clock.now_ms();
        if input.certify_id.len() > 64 {
            return Ok(AnswerOutput::failed(
                VerifyCode::F017,
                false,
                vec![Finding::Malformed],
            ));
        }
        let Some((mut cycle, version)) = self.stores.hot.cycle(&input.certify_id, now).await?
        else {
            return Ok(AnswerOutput::failed(VerifyCode::F014, false, vec![]));
        };
        self.admit(&cycle.tenant_id, Class::InFlight).await?;
        match cycle.state {
            CycleState::Pending => {}
            CycleState::Passed => return Ok(AnswerOutput::failed(VerifyCode::F017, false, vec![])),
            CycleState::Closed => {
                let code = cycle.closed_with.unwrap_or(VerifyCode::F015);
                return Ok(AnswerOutput::failed(code, false, vec![]));
            }
        }
        let expected_attempt = u32::from(cycle.attempts) + 1;
        if !ct_eq(input.nonce.as_bytes(), cycle.nonce.as_bytes())
            || input.attempt != expected_attempt
        {
            // A replayed or forged request: burn the cycle so a captured one is worth nothing.
            cycle.state = CycleState::Closed;
            cycle.closed_with = Some(VerifyCode::F017);
            self.stores.hot.replace_cycle(&cycle, version).await?;
            return Ok(AnswerOutput::failed(VerifyCode::F017, false, vec![]));
        }
        if let Some(program) = &cycle.program {
            let expected = program.sign(
                &cycle.certify_id,
                &cycle.nonce,
                input.attempt,
                &input.answer,
            );
            let signed = input
                .sig
                .as_deref()
                .is_some_and(|s| ct_eq(s.as_bytes(), expected.as_bytes()));
            if !signed {
                // Not signed by the cycle's program: a captured, altered or hand-made request.
                cycle.state = CycleState::Closed;
                cycle.closed_with = Some(VerifyCode::F017);
                self.stores.hot.replace_cycle(&cycle, version).await?;
                tracing::info!(target: "stile::verdict", scene = %cycle.scene_id, certify_id = %cycle.certify_id, code = "F017", reason = "unsigned", "answer not signed with the cycle's program");
                return Ok(AnswerOutput::failed(VerifyCode::F017, false, vec![]));
            }
        }
        if cycle.pow_bits > 0 {
            let solved = input
                .pow
                .as_deref()
                .and_then(crate::risk::pow::parse_counter)
                .is_some_and(|c| {
                    crate::risk::pow::meets(&cycle.certify_id, &cycle.nonce, c, cycle.pow_bits)
                });
            if !solved {
                // The widget always sends it: a client that does not is not the widget.
                // The cycle is burnt, so skipping the work costs a new init.
                cycle.state = CycleState::Closed;
                cycle.closed_with = Some(VerifyCode::S001);
                self.stores.hot.replace_cycle(&cycle, version).await?;
                tracing::info!(target: "stile::verdict", scene = %cycle.scene_id, certify_id = %cycle.certify_id, code = "S001", bits = cycle.pow_bits, "proof-of-work missing or wrong");
                return Ok(AnswerOutput::failed(VerifyCode::S001, false, vec![]));
            }
        }
        cycle.attempts += 1;
        let verdict = match cycle.test_preset {
            // Test mode skips every check but the protocol's.
            Some(_)
                if challenge::check(&cycle.secret, &input.answer)
                    != Verdict::Anomaly(vec![Finding::KindMismatch]) =>
            {
                Verdict::Pass
            }
            _ => challenge::check(&cycle.secret, &input.answer),
        };
        if let Some(image) = cycle.secret.image_id() {
            // Per-image health: a picture that people keep failing is a bad picture.
            let outcome = if verdict == Verdict::Pass {
                ImageOutcome::Passed
            } else {
                ImageOutcome::Failed
            };
            self.stores
                .config
                .count_image_outcome(image, outcome)
                .await?;
        }
        // The risk engine: the challenge's findings, init's, and this verification counted
        // against the frequency limits. Test mode and allow-listed clients skip it.
        let skip_risk = cycle.test_preset.is_some() || cycle.defence.allow_listed;
        let mut findings = verdict.findings().to_vec();
        // When the challenge answered was issued.
        let shown = if cycle.shown_at_ms > 0 {
            cycle.shown_at_ms
        } else {
            cycle.created_at_ms
        };
        if !skip_risk {
            findings.extend(cycle.defence.findings.iter().copied());
            findings.extend(crate::risk::weighed_environment(input.answer.env()));
            if let Some(ended) = input.answer.input_ended_ms() {
                findings.extend(crate::risk::timing_finding(ended, now - shown));
            }
            let reported = &input.answer.env().ua;
            if let Some(header) = input.user_agent.as_deref()
                && !reported.is_empty()
                && !header.is_empty()
                && header != reported.as_str()
            {
                // A browser sends the same string in both; a patched one often does not.
                findings.push(Finding::UserAgentMismatch);
            }
            if let Some(points) = input.answer.drag() {
                findings.extend(crate::risk::behaviour::assess(points));
            }
            if let Some((points, click)) = input.answer.approach() {
                findings.extend(crate::risk::behaviour::assess_approach(points, click));
            }
            if let Some(print) = input
                .answer
                .path()
                .and_then(crate::risk::trajectory_fingerprint)
            {
                // Across every scene of the tenant, for a day.
                let key = format!("{}:{print}", cycle.tenant_id);
                let first = self
                    .stores
                    .hot
                    .first_use("trajectory", &key, now + 86_400_000, now)
                    .await?;
                if !first {
                    findings.push(Finding::ReplayedTrajectory);
                }
            }
            findings.extend(self.resembled(&cycle.tenant_id, &input.answer, now).await?);
            if let Some(ended) = input.answer.input_ended_ms() {
                findings.extend(
                    guard::solve_times(
                        &self.stores,
                        &cycle.scene_id,
                        &cycle.client_ip,
                        &cycle.device_token,
                        now - shown,
                        ended,
                        now,
                    )
                    .await?,
                );
            }
            findings.extend(
                guard::misses(
                    &self.stores,
                    &cycle.scene_id,
                    &cycle.client_ip,
                    &cycle.device_token,
                    accuracy::Miss::of(
                        matches!(verdict, Verdict::Wrong(_)),
                        challenge::miss_px(&cycle.secret, &input.answer),
                    ),
                    now,
                )
                .await?,
            );
            findings.extend(
                guard::at_answer(
                    &self.stores,
                    &cycle.scene_id,
                    &cycle.defence.limits,
                    &cycle.client_ip,
                    &cycle.device_token,
                    now,
                )
                .await?,
            );
        }
        let assessment = Assessment::of(&findings);
        // A refusal that overrides the challenge's own verdict: over a frequency limit
        // whatever the answer, or a correct answer the mode does not accept.
        let refusal = if skip_risk {
            None
        } else {
            match assessment.decide(cycle.defence.mode) {
                Some(code @ (VerifyCode::F010 | VerifyCode::F011)) => Some(code),
                // A drag seen before (a replay), or one sent before it could have ended:
                // whatever the challenge thought of it.
                Some(VerifyCode::F017)
                    if findings.contains(&Finding::ReplayedTrajectory)
                        || findings.contains(&Finding::ImpossibleTiming) =>
                {
                    Some(VerifyCode::F017)
                }
                // F001 on the score, F009 for a strict finding in Advanced mode.
                Some(code) if verdict == Verdict::Pass => Some(code),
                _ => None,
            }
        };
        let shadow = (cycle.defence.shadow && !skip_risk)
            .then(|| assessment.decide(DefenceMode::Advanced))
            .flatten();
        tracing::info!(
            target: "stile::verdict",
            certify_id = %cycle.certify_id,
            scene = %cycle.scene_id,
            ip = %cycle.client_ip,
            verdict = verdict.name(),
            refused = refusal.map(|c| c.as_str()),
            score = assessment.score,
            reasons = ?assessment.reasons,
            mode = ?cycle.defence.mode,
            shadow_advanced = shadow.map(|c| c.as_str()),
            "answer judged"
        );
        let out = match verdict {
            _ if refusal.is_some() => {
                let code = refusal.unwrap_or(VerifyCode::F001);
                cycle.state = CycleState::Closed;
                cycle.closed_with = Some(code);
                // The reasons stay server-side (logs, traces): telling a client which
                // detector fired would let an attacker tune against it.
                AnswerOutput::failed(code, false, Vec::new())
            }
            Verdict::Pass
                if cycle.secret == Secret::Silent
                    && cycle.test_preset != Some(TestPreset::SilentPass) =>
            {
                // No-CAPTCHA escalates to its secondary challenge. Until the risk engine lands,
                // the silent step is never trusted on its own in production.
                let secondary = cycle.secondary_kind.unwrap_or(VerificationType::Slider);
                let (presentation, secret) = self
                    .make_challenge(secondary, &cycle.scene_id, &cycle.tenant_id)
                    .await?;
                cycle.kind = secondary;
                cycle.secret = secret;
                cycle.shown_at_ms = now;
                AnswerOutput {
                    passed: false,
                    code: None,
                    retry: true,
                    captcha_verify_param: None,
                    secondary: Some(presentation),
                    challenge: None,
                    reasons: vec![],
                }
            }
            Verdict::Pass => {
                cycle.state = CycleState::Passed;
                let claims = PassClaims {
                    tenant_id: cycle.tenant_id.clone(),
                    scene_id: cycle.scene_id.clone(),
                    certify_id: cycle.certify_id.clone(),
                    passed_at_ms: now,
                    kind: cycle.kind,
                    test_preset: cycle.test_preset,
                    allow_listed: cycle.defence.allow_listed,
                    risk: Some(assessment.clone()),
                };
                let sealed = self
                    .keyring
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .seal(&claims);
                let param = VerifyParam {
                    scene_id: cycle.scene_id.clone(),
                    certify_id: cycle.certify_id.clone(),
                    security_token: sealed,
                };
                AnswerOutput {
                    passed: true,
                    code: None,
                    retry: false,
                    captcha_verify_param: Some(param.encode()),
                    secondary: None,
                    challenge: None,
                    reasons: vec![],
                }
            }
            Verdict::Wrong(reasons) => {
                let retry = cycle.attempts < cycle.max_attempts;
                if !retry {
                    cycle.state = CycleState::Closed;
                    cycle.closed_with = Some(VerifyCode::F015);
                }
                let mut out = AnswerOutput::failed(VerifyCode::F015, retry, reasons);
                if retry && challenge::is_costly(cycle.kind) {
                    // A picture is never shown twice: each retry gets a new one, so a
                    // solver cannot sweep positions over the same image.
                    let (presentation, secret) = self
                        .make_challenge(cycle.kind, &cycle.scene_id, &cycle.tenant_id)
                        .await?;
                    cycle.secret = secret;
                    out.challenge = Some(presentation);
                    // The widget renders the new picture and starts its clock again (a
                    // challenge retried in place keeps the clock it had).
                    cycle.shown_at_ms = now;
                }
                out
            }
            Verdict::Scripted(_) => {
                cycle.state = CycleState::Closed;
                cycle.closed_with = Some(VerifyCode::F024);
                AnswerOutput::failed(VerifyCode::F024, false, Vec::new())
            }
            Verdict::Anomaly(reasons) => {
                cycle.state = CycleState::Closed;
                cycle.closed_with = Some(VerifyCode::F017);
                AnswerOutput::failed(VerifyCode::F017, false, reasons)
            }
        };
        if !self.stores.hot.replace_cycle(&cycle, version).await? {
            // A concurrent answer to the same cycle won the race: this one is a duplicate.
            return Ok(AnswerOutput::failed(VerifyCode::F017, false, vec![]));
        }
        if cycle.defence.record {
            self.record(&cycle, &input.answer, &out, &assessment, now)
                .await?;
        }
        Ok(out)
    }

    /// Recording mode: keep a drag answer, or a one-click answer's mouse approach (its
    /// samples, then the click as the last point), with its outcome and reasons.
    async fn record(
        &self,
        cycle: &Cycle,
        answer: &Answer,
        out: &AnswerOutput,
        assessment: &Assessment,
        now: i64,
    ) -> Result<(), StoreError> {
        let points = match (answer.drag(), answer.approach()) {
            (Some(drag), _) => drag.to_vec(),
            (None, Some((approach, click))) => {
                approach.iter().copied().chain([click]).collect::<Vec<_>>()
            }
            (None, None) => return Ok(()),
        };
        let Some(pointer) = answer.pointer() else {
            return Ok(());
        };
        let outcome = match (out.passed, out.code) {
            (true, _) => "T001",
            (false, Some(code)) => code.as_str(),
            // No-CAPTCHA escalating, or a retry on a new picture.
            (false, None) => "continued",
        };
        let trace = crate::model::Trace {
            scene_id: cycle.scene_id.clone(),
            recorded_at: now,
            kind: cycle.kind,
            pointer: pointer.to_owned(),
            outcome: outcome.to_owned(),
            reasons: assessment
                .reasons
                .iter()
                .filter_map(|r| serde_json::to_value(r).ok())
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            points,
        };
        self.stores.config.put_trace(&trace).await
    }

    /// Server-side verification of a `captchaVerifyParam` by a tenant's backend.
    /// `scene_id` is the scene the backend expects, when it names one.
    pub async fn server_verify(
        &self,
        tenant_id: &str,
        scene_id: Option<&str>,
        param: &str,
    ) -> Result<ServerVerdict, CycleError> {
        self.admit(tenant_id, Class::InFlight).await?;
        if param.trim().is_empty() {
            return Ok(ServerVerdict::code(VerifyCode::F002));
        }
        let Some(sealed) = VerifyParam::sealed_part(param) else {
            return Ok(ServerVerdict::code(VerifyCode::F003));
        };
        let opened = self
            .keyring
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .open(&sealed);
        let Ok(claims) = opened else {
            return Ok(ServerVerdict::code(VerifyCode::F003));
        };
        if !ct_eq(claims.tenant_id.as_bytes(), tenant_id.as_bytes()) {
            // Another tenant's token is, for this caller, not a token at all.
            return Ok(ServerVerdict::code(VerifyCode::F003));
        }
        let verdict = |code| ServerVerdict {
            code,
            certify_id: Some(claims.certify_id.clone()),
            assessment: claims.risk.clone(),
        };
        if let Some(expected) = scene_id.filter(|s| !s.is_empty()) {
            let known = ids::looks_like_scene_id(expected)
                && self
                    .stores
                    .config
                    .scene(expected)
                    .await?
                    .is_some_and(|s| s.tenant_id == tenant_id);
            if !known {
                return Ok(verdict(VerifyCode::F005));
            }
            if expected != claims.scene_id {
                return Ok(verdict(VerifyCode::F012));
            }
        }
        let Some(scene) = self.stores.config.scene(&claims.scene_id).await? else {
            return Ok(verdict(VerifyCode::F005));
        };
        if let Some(preset) = claims
            .test_preset
            .filter(|_| scene.status == SceneStatus::Test)
        {
            return Ok(verdict(if preset.passes() {
                VerifyCode::T005
            } else {
                VerifyCode::F004
            }));
        }
        let now = self.clock.now_ms();
        if now - claims.passed_at_ms > TOKEN_WINDOW_MS {
            return Ok(verdict(VerifyCode::F019));
        }
        let first = self
            .stores
            .hot
            .first_use(
                "pass-token",
                &claims.certify_id,
                claims.passed_at_ms + TOKEN_WINDOW_MS + 60_000,
                now,
            )
            .await?;
        if !first {
            return Ok(verdict(VerifyCode::F008));
        }
        if let Some(preset) = claims.test_preset {
            // Passed in test mode, but the scene has since gone to production: honour the
            // preset that was in force at the pass rather than a check that never ran.
            return Ok(verdict(if preset.passes() {
                VerifyCode::T005
            } else {
                VerifyCode::F004
            }));
        }
        let code = if claims.allow_listed {
            VerifyCode::T006
        } else {
            VerifyCode::T001
        };
        let out = verdict(code);
        tracing::info!(
            target: "stile::verdict",
            certify_id = %claims.certify_id,
            scene = %claims.scene_id,
            code = code.as_str(),
            score = out.assessment.as_ref().map(|a| a.score),
            reasons = ?out.assessment.as_ref().map(|a| &a.reasons),
            "token verified"
        );
        Ok(out)
    }

    /// Encryption mode: the init must carry a valid `EncryptedSceneId` for this scene.
    async fn check_encryption(
        &self,
        scene: &Scene,
        encrypted: Option<&str>,
    ) -> Result<(), CycleError> {
        let refused = CycleError::Code(VerifyCode::F022, "encryption-mode check failed");
        let Some(encrypted) = encrypted.filter(|e| !e.is_empty()) else {
            return Err(refused);
        };
        let Some(ekey) = self.ekey(&scene.tenant_id).await? else {
            return Err(refused);
        };
        guard::check_encrypted_scene_id(&ekey, encrypted, &scene.id, self.clock.now_ms() / 1000)
            .map_err(|why| {
                tracing::info!(target: "stile::verdict", scene = %scene.id, code = "F022", why = ?why, "init refused");
                refused
            })
    }

    /// The tenant's encryption-mode key (`ekey`), created on first use.
    pub async fn ekey(&self, tenant_id: &str) -> Result<Option<[u8; 32]>, StoreError> {
        if self.stores.config.tenant(tenant_id).await?.is_none() {
            return Ok(None);
        }
        let name = format!("ekey:{tenant_id}");
        if let Some(sealed) = self.stores.config.meta(&name).await?
            && let Ok(plain) = self.master.open(&name, &sealed)
            && let Ok(key) = <[u8; 32]>::try_from(plain.as_slice())
        {
            return Ok(Some(key));
        }
        self.rotate_ekey(tenant_id).await.map(Some)
    }

    /// Replace the tenant's `ekey` with a new random one; `EncryptedSceneId`s made with the
    /// old one stop working at once.
    pub async fn rotate_ekey(&self, tenant_id: &str) -> Result<[u8; 32], StoreError> {
        let name = format!("ekey:{tenant_id}");
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key[..]);
        self.stores
            .config
            .put_meta(&name, &self.master.seal(&name, &key))
            .await?;
        Ok(key)
    }

    /// Drop expired cycles and marks; run periodically.
    pub async fn purge(&self) -> Result<u64, StoreError> {
        self.stores.hot.purge_expired(self.clock.now_ms()).await
    }
}

/// The first step a scene shows: its type, or for No-CAPTCHA the silent check (or, under a
/// test preset that fails silently, the secondary challenge straight away).
fn first_kind(scene: &Scene, test_preset: Option<TestPreset>) -> VerificationType {
    if scene.kind != VerificationType::NoCaptcha {
        return scene.kind;
    }
    match test_preset {
        Some(TestPreset::SilentFailSecondaryPass | TestPreset::SilentFailSecondaryFail) => {
            scene.secondary_type.unwrap_or(VerificationType::Slider)
        }
        _ => VerificationType::NoCaptcha,
    }
}

/// How many image generations may run at once: one per core, leaving the async workers
/// free for verification.
fn image_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cycle as builds before the short field names stored it.
    const LONG_FORM: &str = r#"{"certify_id":"icx1p6ukr20zi1me4lmitc6j","tenant_id":"tn-m0nv7logep","scene_id":"49b5i74y","scene_kind":"slider","kind":"slider","secondary_kind":null,"created_at_ms":1796349005084,"shown_at_ms":1796349005084,"expires_at_ms":1796350205084,"nonce":"fqhGsVQpYhhq_p8z4ARBplWS","attempts":0,"max_attempts":5,"state":"pending","closed_with":null,"secret":{"kind":"jigsaw","target_x":145,"part_w":47},"test_preset":null,"page_url":"http://bench.test/checkout","client_ip":"127.0.0.1","device_token":"dtWr1spfMe1MBODsSuGVXA.IxXMzI7e8Zob","defence":{"mode":"basic","shadow":false,"limits":{"ipPerHour":4000,"ipPerDay":10000,"devicePerHour":150,"devicePerDay":400,"initsPerMinute":120},"allow_listed":false,"findings":[],"record":false},"pow_bits":8,"program":{"seeds":[1120357352,4214432163],"ops":[[2,2860721537],[3,4009097287],[1,4122455478],[1,2560308788],[2,2561250839],[1,1878511470],[0,5346432],[1,2424322916],[4,3796185137],[1,3470493677],[3,1875709989],[4,2879948272]]}}"#;

    #[test]
    fn cycles_stored_in_the_long_form_still_load_and_the_short_form_is_smaller() {
        let old: Cycle = serde_json::from_str(LONG_FORM).unwrap();
        assert_eq!(old.certify_id, "icx1p6ukr20zi1me4lmitc6j");
        assert_eq!(old.max_attempts, 5);
        assert_eq!(old.pow_bits, 8);
        assert!(old.program.is_some());
        let short = serde_json::to_string(&old).unwrap();
        let again: Cycle = serde_json::from_str(&short).unwrap();
        assert_eq!(again, old);
        assert!(
            short.len() * 4 < LONG_FORM.len() * 3,
            "{} vs {} bytes",
            short.len(),
            LONG_FORM.len()
        );
    }
}

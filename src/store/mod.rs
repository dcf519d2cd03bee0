//! Storage interfaces in domain terms, and the engines behind them (SPEC §9).
//!
//! Two traits split the data by its nature:
//! - [`ConfigStore`]: tenants, access keys, scenes, admin tokens, small metadata — durable,
//!   changed rarely, read constantly (the node reads tenants, scenes and access keys through
//!   [`cached::CachedConfig`], fresh within half a second).
//! - [`HotStore`]: verification cycles with their expiry, single-use markers (pass tokens,
//!   request nonces) — short-lived, written on every request, needing atomic operations.
//!
//! Engines: `embedded` (SQLite in WAL mode, one file in the data directory) now; Redis for
//! hot state and PostgreSQL for configuration are planned behind the same traits. Every
//! engine must pass [`conformance::run`].
//!
//! Architecture invariant: store traits speak domain types (`Scene`, `Cycle`…), never rows,
//! and nothing above this module knows which engine is in use.

pub mod cached;
pub mod conformance;
pub mod embedded;
pub mod gathered;

use std::sync::Arc;

use async_trait::async_trait;

use crate::cycle::Cycle;
use crate::model::{AccessKey, AdminToken, ImageOutcome, Scene, SceneImage, Tenant, Trace};

/// A storage failure. `Conflict` is a domain answer (a unique value is taken); `Backend` is
/// an engine failure, logged and reported as an internal error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage backend failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Durable configuration. Every write is durable before the call returns.
#[async_trait]
pub trait ConfigStore: Send + Sync + 'static {
    /// Insert a tenant; `Conflict` if the id or prefix exists.
    async fn insert_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    /// Replace a tenant; false if it does not exist.
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<bool>;
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_prefix(&self, prefix: &str) -> StoreResult<Option<Tenant>>;
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// Delete a tenant with its access keys and scenes; false if absent.
    async fn delete_tenant(&self, id: &str) -> StoreResult<bool>;

    /// Insert or replace an access key.
    async fn put_access_key(&self, key: &AccessKey) -> StoreResult<()>;
    async fn access_key(&self, id: &str) -> StoreResult<Option<AccessKey>>;
    async fn access_keys(&self, tenant_id: &str) -> StoreResult<Vec<AccessKey>>;
    async fn delete_access_key(&self, id: &str) -> StoreResult<bool>;

    /// Insert or replace a scene.
    async fn put_scene(&self, scene: &Scene) -> StoreResult<()>;
    async fn scene(&self, id: &str) -> StoreResult<Option<Scene>>;
    /// Scenes of one tenant, or of all tenants, ordered by creation time.
    async fn scenes(&self, tenant_id: Option<&str>) -> StoreResult<Vec<Scene>>;
    async fn delete_scene(&self, id: &str) -> StoreResult<bool>;

    /// Add an image to a scene's custom jigsaw pool.
    async fn put_scene_image(&self, image: &SceneImage) -> StoreResult<()>;
    /// The images of a scene's pool (with their bytes and figures), oldest first.
    async fn scene_images(&self, scene_id: &str) -> StoreResult<Vec<SceneImage>>;
    /// The ids of a scene's pool, oldest first — cheap, to tell whether a cached pool is current.
    async fn scene_image_ids(&self, scene_id: &str) -> StoreResult<Vec<String>>;
    async fn delete_scene_image(&self, scene_id: &str, image_id: &str) -> StoreResult<bool>;
    /// Count one outcome for an image (no error if the image has been deleted since).
    async fn count_image_outcome(&self, image_id: &str, outcome: ImageOutcome) -> StoreResult<()>;

    /// Record a drag (recording mode), dropping the scene's oldest beyond
    /// [`crate::model::TRACES_KEPT`]
    /// (an engine may let a few more through between trims).
    async fn put_trace(&self, trace: &Trace) -> StoreResult<()>;
    /// A scene's recorded drags, oldest first, at most `limit`.
    async fn traces(&self, scene_id: &str, limit: usize) -> StoreResult<Vec<Trace>>;
    /// Forget a scene's recorded drags; how many went.
    async fn delete_traces(&self, scene_id: &str) -> StoreResult<u64>;

    async fn put_admin_token(&self, token: &AdminToken) -> StoreResult<()>;
    async fn admin_token(&self, hash: &[u8; 32]) -> StoreResult<Option<AdminToken>>;

    /// Small opaque values (sealed token keys, bootstrap markers).
    async fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn put_meta(&self, key: &str, value: &[u8]) -> StoreResult<()>;
}

/// Hot, expiring state. Times are Unix milliseconds supplied by the caller's clock, so that
/// expiry is testable without sleeping and consistent across nodes.
#[async_trait]
pub trait HotStore: Send + Sync + 'static {
    /// Store a new cycle; `Conflict` if its id exists.
    async fn insert_cycle(&self, cycle: &Cycle) -> StoreResult<()>;
    /// The cycle and its version, if it exists and has not expired at `now_ms`.
    async fn cycle(&self, certify_id: &str, now_ms: i64) -> StoreResult<Option<(Cycle, u64)>>;
    /// Replace a cycle only if its version is still `expected`; false if someone else won.
    async fn replace_cycle(&self, cycle: &Cycle, expected: u64) -> StoreResult<bool>;
    /// Mark `(scope, key)` used until `expires_at_ms`. True only for the first caller while
    /// the mark lives — the primitive behind single-use tokens and nonces.
    async fn first_use(
        &self,
        scope: &str,
        key: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Like [`first_use`](Self::first_use), for marks whose loss on a restart is harmless:
    /// request-signature nonces, whose request carries a pass token that is itself single
    /// use (durably), so a replay after a restart still verifies nothing twice. An engine
    /// may keep these in memory only, bounded, dropping the soonest to expire when full.
    /// Kept durably by default.
    async fn first_use_volatile(
        &self,
        scope: &str,
        key: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        self.first_use(scope, key, expires_at_ms, now_ms).await
    }
    /// Add `n` to counter `key` in the fixed window of `window_ms` that holds `now_ms`
    /// (windows start at multiples of `window_ms`), and return the window's count after the
    /// addition; `n = 0` reads. A new window starts from zero. Counters are advisory (rate
    /// limits): an engine may keep them in memory and lose them on restart.
    async fn count(&self, key: &str, window_ms: i64, n: u64, now_ms: i64) -> StoreResult<u64>;
    /// Add `value` to each of `buckets` in `scope`, live until `expires_at_ms`, keeping
    /// the newest `cap` of each bucket; returns what the buckets held (live) before, newest
    /// first, bucket by bucket (a value in several buckets comes once per bucket). The
    /// primitive behind near-duplicate detection (`risk::resemblance`). An engine may bound
    /// what it keeps in all, dropping the oldest values first, before they expire.
    async fn gather(
        &self,
        scope: &str,
        buckets: &[String],
        value: &[u8],
        cap: usize,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<Vec<u8>>>;
    /// Drop everything expired at `now_ms`; returns how many entries went.
    async fn purge_expired(&self, now_ms: i64) -> StoreResult<u64>;
}

/// The engines of a running node.
#[derive(Clone)]
pub struct Stores {
    pub config: Arc<dyn ConfigStore>,
    pub hot: Arc<dyn HotStore>,
}

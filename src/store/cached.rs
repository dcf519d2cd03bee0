//! A read-through cache in front of any [`ConfigStore`] for what every request reads:
//! tenants, scenes and access keys by id (absent ones included, so a flood of unknown ids
//! costs one lookup per id and interval).
//!
//! Writes made through the cache drop the entries they touch before they return, so this
//! node reads its own writes at once. A write made on another node (a cluster engine) is
//! seen when the entry ages out, within [`FRESH_MS`] — inside the SPEC's one-second bound
//! for configuration to be in force everywhere. Every other method passes straight through.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{ConfigStore, StoreResult};
use crate::model::{AccessKey, AdminToken, ImageOutcome, Scene, SceneImage, Tenant, Trace};

/// How long an entry is served without asking the store again.
pub const FRESH_MS: u64 = 500;

/// Entries a map holds before it is cleared of stale ones (and, if still full, of all).
const MAX_ENTRIES: usize = 50_000;

/// One map of id → (value, when it was read).
struct Map<V> {
    entries: Mutex<HashMap<String, (Option<V>, Instant)>>,
    /// Bumped by every write; a read that overlapped one does not keep what it read,
    /// which may predate the write.
    generation: AtomicU64,
}

impl<V: Clone> Map<V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    fn get(&self, id: &str) -> Option<Option<V>> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|(_, at)| at.elapsed() < Duration::from_millis(FRESH_MS))
            .map(|(v, _)| v.clone())
    }

    fn put(&self, id: &str, value: Option<V>, read_at: Instant, generation: u64) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, at)| at.elapsed() < Duration::from_millis(FRESH_MS));
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(id.to_owned(), (value, read_at));
    }

    fn forget(&self, id: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(id);
    }

    fn forget_where(&self, pred: impl Fn(&V) -> bool) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.retain(|_, (v, _)| !v.as_ref().is_some_and(&pred));
    }
}

/// The cache; see the module docs.
pub struct CachedConfig {
    inner: Arc<dyn ConfigStore>,
    tenants: Map<Tenant>,
    scenes: Map<Scene>,
    keys: Map<AccessKey>,
}

impl CachedConfig {
    pub fn new(inner: Arc<dyn ConfigStore>) -> Self {
        Self {
            inner,
            tenants: Map::new(),
            scenes: Map::new(),
            keys: Map::new(),
        }
    }
}

/// Read `id` through `map`: a fresh entry, or the store's answer (then kept). The time is
/// taken before the read, so an entry never looks fresher than what it holds.
async fn through<V, F>(map: &Map<V>, id: &str, read: F) -> StoreResult<Option<V>>
where
    V: Clone + Send,
    F: std::future::Future<Output = StoreResult<Option<V>>>,
{
    if let Some(hit) = map.get(id) {
        return Ok(hit);
    }
    let started = Instant::now();
    let generation = map.generation.load(Ordering::Acquire);
    let value = read.await?;
    map.put(id, value.clone(), started, generation);
    Ok(value)
}

#[async_trait]
impl ConfigStore for CachedConfig {
    async fn insert_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let r = self.inner.insert_tenant(tenant).await;
        self.tenants.forget(&tenant.id);
        r
    }
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<bool> {
        let r = self.inner.update_tenant(tenant).await;
        self.tenants.forget(&tenant.id);
        r
    }
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        through(&self.tenants, id, self.inner.tenant(id)).await
    }
    async fn tenant_by_prefix(&self, prefix: &str) -> StoreResult<Option<Tenant>> {
        self.inner.tenant_by_prefix(prefix).await
    }
    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.inner.tenants().await
    }
    async fn delete_tenant(&self, id: &str) -> StoreResult<bool> {
        let r = self.inner.delete_tenant(id).await;
        self.tenants.forget(id);
        self.scenes.forget_where(|s| s.tenant_id == id);
        self.keys.forget_where(|k| k.tenant_id == id);
        r
    }

    async fn put_access_key(&self, key: &AccessKey) -> StoreResult<()> {
        let r = self.inner.put_access_key(key).await;
        self.keys.forget(&key.id);
        r
    }
    async fn access_key(&self, id: &str) -> StoreResult<Option<AccessKey>> {
        through(&self.keys, id, self.inner.access_key(id)).await
    }
    async fn access_keys(&self, tenant_id: &str) -> StoreResult<Vec<AccessKey>> {
        self.inner.access_keys(tenant_id).await
    }
    async fn delete_access_key(&self, id: &str) -> StoreResult<bool> {
        let r = self.inner.delete_access_key(id).await;
        self.keys.forget(id);
        r
    }

    async fn put_scene(&self, scene: &Scene) -> StoreResult<()> {
        let r = self.inner.put_scene(scene).await;
        self.scenes.forget(&scene.id);
        r
    }
    async fn scene(&self, id: &str) -> StoreResult<Option<Scene>> {
        through(&self.scenes, id, self.inner.scene(id)).await
    }
    async fn scenes(&self, tenant_id: Option<&str>) -> StoreResult<Vec<Scene>> {
        self.inner.scenes(tenant_id).await
    }
    async fn delete_scene(&self, id: &str) -> StoreResult<bool> {
        let r = self.inner.delete_scene(id).await;
        self.scenes.forget(id);
        r
    }

    async fn put_scene_image(&self, image: &SceneImage) -> StoreResult<()> {
        self.inner.put_scene_image(image).await
    }
    async fn scene_images(&self, scene_id: &str) -> StoreResult<Vec<SceneImage>> {
        self.inner.scene_images(scene_id).await
    }
    async fn scene_image_ids(&self, scene_id: &str) -> StoreResult<Vec<String>> {
        self.inner.scene_image_ids(scene_id).await
    }
    async fn delete_scene_image(&self, scene_id: &str, image_id: &str) -> StoreResult<bool> {
        self.inner.delete_scene_image(scene_id, image_id).await
    }
    async fn count_image_outcome(&self, image_id: &str, outcome: ImageOutcome) -> StoreResult<()> {
        self.inner.count_image_outcome(image_id, outcome).await
    }

    async fn put_trace(&self, trace: &Trace) -> StoreResult<()> {
        self.inner.put_trace(trace).await
    }
    async fn traces(&self, scene_id: &str, limit: usize) -> StoreResult<Vec<Trace>> {
        self.inner.traces(scene_id, limit).await
    }
    async fn delete_traces(&self, scene_id: &str) -> StoreResult<u64> {
        self.inner.delete_traces(scene_id).await
    }

    async fn put_admin_token(&self, token: &AdminToken) -> StoreResult<()> {
        self.inner.put_admin_token(token).await
    }
    async fn admin_token(&self, hash: &[u8; 32]) -> StoreResult<Option<AdminToken>> {
        self.inner.admin_token(hash).await
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.inner.meta(key).await
    }
    async fn put_meta(&self, key: &str, value: &[u8]) -> StoreResult<()> {
        self.inner.put_meta(key, value).await
    }
}

//! The embedded engine: one SQLite database in the data directory (WAL journal), serving both
//! [`ConfigStore`] and [`HotStore`] with no external service.
//!
//! Durability: WAL with `synchronous=NORMAL` makes every committed transaction survive a
//! killed process (the OS holds the log); `synchronous=FULL` is used when
//! `fsync_every_commit` is set, for power-loss durability at the cost of latency.
//! One thread owns the connection and runs every call; SQLite serialises writers anyway.
//! Calls that arrive while it is busy are run together in one transaction (group commit):
//! each caller is answered only once that transaction has committed, so nothing is
//! acknowledged before it is durable, while a busy node pays one commit for many writes
//! instead of one each (a lone `first_use` costs about 40 µs, most of it the commit).
//!
//! Durable single-use marks of at most [`SHORT_MARK_MS`] (pass tokens) are appended to a
//! table of their own with an index in memory, read back on start; longer ones (replayed
//! trajectories, a day) sit in a B-tree keyed by scope and key. Values gathered into
//! buckets (`HotStore::gather`) are likewise appended, one row each, to `gather_log`, and
//! indexed in memory by bucket ([`super::gathered`]), read back on start.
//!
//! Rate-limit counters (`HotStore::count`) live in memory, not in SQLite: a single node
//! owns them, they are advisory, and an answer should not pay four disk writes for them.
//! They are lost on restart, which only ever resets a window early. So do volatile
//! single-use marks (`HotStore::first_use_volatile`: request-signature nonces), bounded:
//! a signed request replayed after a restart carries a token that is single use durably.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::gathered::{BucketKey, Gathered};
use super::{ConfigStore, HotStore, StoreError, StoreResult};
use crate::cycle::Cycle;
use crate::model::{
    AccessKey, AdminToken, ImageOutcome, Role, Scene, SceneImage, TRACES_KEPT, Tenant, Trace,
};

/// The SQLite-backed engine.
#[derive(Clone)]
pub struct EmbeddedStore {
    jobs: mpsc::Sender<Job>,
    counters: Arc<Counters>,
    marks: Arc<Marks>,
    /// The index of short-lived durable marks (see [`SHORT_MARK_MS`]): every one in
    /// `short_use`, never dropped while live.
    short: Arc<Marks>,
    /// The index of `gather_log`: every value gathered and not yet dropped (see
    /// [`super::gathered`]).
    gathered: Arc<Mutex<Gathered>>,
    /// Held while any handle lives; the checkpoint thread stops when it is gone.
    _alive: Arc<()>,
}

/// Durable single-use marks that live at most this long (a pass token's lives 150 s) are
/// kept apart from the others: appended to `short_use` in the order they are taken, with
/// an index in memory for the uniqueness check. A mark in `single_use` sits at a random
/// place in a B-tree, so every one dirties a page of its own and a busy node writes a
/// 4 KiB page to the log per verification; appended ones share their pages. The index
/// costs memory for as many marks as are taken in this long (about 50 bytes each), and
/// the table is read back into it on start.
const SHORT_MARK_MS: i64 = 180_000;

/// How often the checkpoint thread copies the log back into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// A log larger than this (in pages) is checkpointed even if writers must wait for it.
const LOG_PAGES_MAX: i64 = 64 * 1024;

/// Copy the write-ahead log into the database from a connection of its own, so that the
/// store's thread never stops to do it (and pays its `fsync`s) between calls. A passive
/// checkpoint never blocks the writer. A log grown past [`LOG_PAGES_MAX`] must be
/// restarted, which only the store's thread may do (`restart`, see [`serve`]): restarted
/// from here, under a heavy load, the writer's next statement could find the log reset
/// under its read snapshot and fail with "database is locked", which the busy timeout
/// does not cover.
fn checkpoints(path: std::path::PathBuf, alive: std::sync::Weak<()>, restart: Arc<AtomicBool>) {
    let Ok(conn) = Connection::open(&path) else {
        return;
    };
    let _ = conn.pragma_update(None, "busy_timeout", 5000);
    while alive.upgrade().is_some() {
        std::thread::sleep(CHECKPOINT_EVERY);
        let log: rusqlite::Result<i64> =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1));
        match log {
            Ok(pages) if pages > LOG_PAGES_MAX => restart.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(cause = %e, "embedded store: checkpoint failed"),
        }
    }
}

/// What a finished call does once its transaction has ended (`true`: committed).
type Delivery = Box<dyn FnOnce(bool) + Send>;
/// A call, run on the store's thread.
type Job = Box<dyn FnOnce(&mut Connection) -> Delivery + Send>;

/// Most calls committed together.
const MAX_BATCH: usize = 512;

/// The store's thread: take every call that is waiting, run them in one transaction,
/// commit, answer them all.
fn serve(mut conn: Connection, jobs: mpsc::Receiver<Job>, restart: Arc<AtomicBool>) {
    while let Ok(first) = jobs.recv() {
        if restart.swap(false, Ordering::Relaxed) {
            // The log outgrew what passive checkpoints keep up with: copy it back and
            // start it again, the writer (this thread) holding everyone else back.
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
                tracing::warn!(cause = %e, "embedded store: restarting the log failed");
            }
        }
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A lone call commits on its own (autocommit), as cheaply as SQLite can.
        let began = batch.len() > 1 && conn.run("BEGIN IMMEDIATE", []).is_ok();
        let mut deliveries = Vec::with_capacity(batch.len());
        for job in batch {
            // A panicking call drops its answer (the caller sees a backend error); the
            // others go on.
            let c = &mut conn;
            if let Ok(d) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || job(c))) {
                deliveries.push(d);
            }
        }
        // Without the transaction each call committed on its own.
        let committed = !began || conn.run("COMMIT", []).is_ok();
        if !committed {
            tracing::error!("embedded store: a commit failed; its calls are answered with errors");
            let _ = conn.execute_batch("ROLLBACK");
        }
        for d in deliveries {
            d(committed);
        }
    }
}

/// Volatile single-use marks (`HotStore::first_use_volatile`) in memory: a 128-bit keyed
/// hash of scope and key → expiry, sharded. A full shard drops its expired marks, then
/// the eighth that expire soonest.
struct Marks {
    hasher: [std::hash::RandomState; 2],
    shards: Vec<Mutex<std::collections::HashMap<u128, i64>>>,
    per_shard: usize,
}

/// Marks one shard holds (16 shards: about 4 million marks, some 150 MB).
const MARK_SHARD_CAPACITY: usize = 1 << 18;

impl Marks {
    fn new(per_shard: usize) -> Marks {
        Marks {
            hasher: [std::hash::RandomState::new(), std::hash::RandomState::new()],
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Default::default()))
                .collect(),
            per_shard,
        }
    }

    /// The mark's 128-bit id and its shard, locked.
    fn shard(
        &self,
        scope: &str,
        key: &str,
    ) -> (
        u128,
        std::sync::MutexGuard<'_, std::collections::HashMap<u128, i64>>,
    ) {
        use std::hash::BuildHasher;
        let [a, b] = &self.hasher;
        let id =
            (u128::from(a.hash_one((scope, key))) << 64) | u128::from(b.hash_one((scope, key)));
        let shard = self.shards[(id % SHARDS as u128) as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        (id, shard)
    }

    /// Whether a live mark is held.
    fn held(&self, scope: &str, key: &str, now_ms: i64) -> bool {
        let (id, shard) = self.shard(scope, key);
        shard.get(&id).is_some_and(|exp| *exp > now_ms)
    }

    /// Drops a mark (one whose write failed).
    fn forget(&self, scope: &str, key: &str) {
        let (id, mut shard) = self.shard(scope, key);
        shard.remove(&id);
    }

    /// Holds a mark read back from disk (the later expiry wins).
    fn restore(&self, scope: &str, key: &str, expires_at_ms: i64) {
        let (id, mut shard) = self.shard(scope, key);
        let exp = shard.entry(id).or_insert(expires_at_ms);
        *exp = (*exp).max(expires_at_ms);
    }

    fn first_use(&self, scope: &str, key: &str, expires_at_ms: i64, now_ms: i64) -> bool {
        let (id, mut shard) = self.shard(scope, key);
        if shard.get(&id).is_some_and(|exp| *exp > now_ms) {
            return false;
        }
        if shard.len() >= self.per_shard {
            shard.retain(|_, exp| *exp > now_ms);
            if shard.len() >= self.per_shard {
                let mut expiries: Vec<i64> = shard.values().copied().collect();
                let cut = expiries.len() / 8;
                let (_, nth, _) = expiries.select_nth_unstable(cut);
                let nth = *nth;
                shard.retain(|_, exp| *exp > nth);
            }
        }
        shard.insert(id, expires_at_ms);
        true
    }

    fn purge(&self, now_ms: i64) -> u64 {
        let mut gone = 0;
        for shard in &self.shards {
            let mut s = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = s.len();
            s.retain(|_, exp| *exp > now_ms);
            gone += (before - s.len()) as u64;
        }
        gone
    }
}

/// In-memory fixed-window counters, sharded to keep lock hold times short.
struct Counters {
    shards: Vec<Mutex<std::collections::HashMap<String, Window>>>,
}

/// One counter's current window: where it ends, and the count so far.
#[derive(Clone, Copy)]
struct Window {
    ends_ms: i64,
    count: u64,
}

/// Most counters one shard holds; beyond it, expired ones are dropped first and, if that
/// is not enough, the counter is not kept (the count reads as this call's own addition).
const SHARD_CAPACITY: usize = 1 << 16;
const SHARDS: usize = 16;

impl Counters {
    fn new() -> Counters {
        Counters {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Default::default()))
                .collect(),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<std::collections::HashMap<String, Window>> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        &self.shards[(h as usize) % SHARDS]
    }

    fn count(&self, key: &str, window_ms: i64, n: u64, now_ms: i64) -> u64 {
        let window_ms = window_ms.max(1);
        let ends_ms = (now_ms.div_euclid(window_ms) + 1) * window_ms;
        let mut map = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = map.get_mut(key) {
            if w.ends_ms != ends_ms {
                *w = Window { ends_ms, count: 0 };
            }
            w.count = w.count.saturating_add(n);
            return w.count;
        }
        if n == 0 {
            return 0;
        }
        if map.len() >= SHARD_CAPACITY {
            map.retain(|_, w| w.ends_ms > now_ms);
            if map.len() >= SHARD_CAPACITY {
                return n;
            }
        }
        map.insert(key.to_owned(), Window { ends_ms, count: n });
        n
    }

    fn purge(&self, now_ms: i64) -> u64 {
        let mut gone = 0;
        for shard in &self.shards {
            let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = map.len();
            map.retain(|_, w| w.ends_ms > now_ms);
            gone += (before - map.len()) as u64;
        }
        gone
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, prefix TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sealed BLOB NOT NULL, enabled INTEGER NOT NULL, description TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS access_keys_tenant ON access_keys(tenant_id);
CREATE TABLE IF NOT EXISTS scenes (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, created_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scenes_tenant ON scenes(tenant_id);
CREATE TABLE IF NOT EXISTS scene_images (id TEXT PRIMARY KEY, scene_id TEXT NOT NULL, format TEXT NOT NULL, bytes BLOB NOT NULL, created_at INTEGER NOT NULL, shown INTEGER NOT NULL DEFAULT 0, passed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS scene_images_scene ON scene_images(scene_id, created_at);
CREATE TABLE IF NOT EXISTS admin_tokens (hash BLOB PRIMARY KEY, role TEXT NOT NULL, label TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS traces (seq INTEGER PRIMARY KEY AUTOINCREMENT, scene_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS traces_scene ON traces(scene_id, seq);
CREATE TABLE IF NOT EXISTS cycles (id TEXT PRIMARY KEY, version INTEGER NOT NULL, expires_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS cycles_expiry ON cycles(expires_at);
CREATE TABLE IF NOT EXISTS single_use (scope TEXT NOT NULL, key TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY(scope, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS single_use_expiry ON single_use(expires_at);
CREATE TABLE IF NOT EXISTS short_use (scope TEXT NOT NULL, key TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gather_log (seq INTEGER PRIMARY KEY, expires_at INTEGER NOT NULL, buckets BLOB NOT NULL, value BLOB NOT NULL);
";

/// Bring a data directory made by an older build up to this schema. Single-use marks
/// moved from `once_marks` (a rowid table: three B-trees per mark) to `single_use`
/// (without rowid: two), copied over so that no spent token becomes usable again.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has_table = |name: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get(0),
        )
    };
    if has_table("once_marks")? {
        conn.execute_batch(
            "BEGIN;
             INSERT OR IGNORE INTO single_use (scope, key, expires_at) SELECT scope, key, expires_at FROM once_marks;
             DROP TABLE once_marks;
             COMMIT;",
        )?;
    }
    if has_table("buckets")? {
        // Each old row (one value in one bucket) becomes an entry of its own.
        let tx = conn.unchecked_transaction()?;
        {
            let mut q =
                tx.prepare("SELECT scope, bucket, expires_at, value FROM buckets ORDER BY seq")?;
            let mut put = tx.prepare(
                "INSERT INTO gather_log (expires_at, buckets, value) VALUES (?1, ?2, ?3)",
            )?;
            let mut rows = q.query([])?;
            while let Some(r) = rows.next()? {
                let (scope, bucket): (String, String) = (r.get(0)?, r.get(1)?);
                let (expires_at, value): (i64, Vec<u8>) = (r.get(2)?, r.get(3)?);
                let packed = bucket_key(&scope, &bucket).to_le_bytes();
                put.execute(params![expires_at, &packed[..], value])?;
            }
        }
        tx.execute_batch("DROP TABLE buckets")?;
        tx.commit()?;
    }
    Ok(())
}

/// A bucket's key: the first 8 bytes of SHA-256 over its scope (length first) and name.
/// Two buckets sharing one would only pool their candidates, which are measured exactly;
/// the names are a secret function of a movement, not the sender's choice.
fn bucket_key(scope: &str, bucket: &str) -> BucketKey {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update((scope.len() as u64).to_le_bytes());
    h.update(scope.as_bytes());
    h.update(bucket.as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 of 32 bytes"))
}

/// Gathered values held in memory by default, at most (the oldest go first beyond it;
/// settings: `store.resemblance_values`): a day of 11 answers a second, the last 1,000,000
/// answers at higher rates. One takes 240 bytes with its eight buckets' links where
/// buckets are shared, up to 530 where each of its buckets is new (`store::gathered`'s
/// `memory_per_entry`), so the index stays under about 0.25–0.55 GB. Reading a full one
/// back on start takes about a second (0.9 s: `reading_back_a_full_index`).
pub const RESEMBLANCE_VALUES: usize = 1_000_000;

/// Read `gather_log` back into an index.
fn read_gathered(conn: &Connection, capacity: usize) -> rusqlite::Result<Gathered> {
    let mut index = Gathered::new(capacity);
    let mut q =
        conn.prepare("SELECT seq, expires_at, buckets, value FROM gather_log ORDER BY seq")?;
    let mut rows = q.query([])?;
    while let Some(r) = rows.next()? {
        let (seq, expires_at): (i64, i64) = (r.get(0)?, r.get(1)?);
        let packed: Vec<u8> = r.get(2)?;
        let buckets: Vec<BucketKey> = packed
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let value: Vec<u8> = r.get(3)?;
        index.add(seq, &buckets, &value, expires_at);
    }
    Ok(index)
}

/// Statements through SQLite's prepared-statement cache: every hot statement is parsed
/// and planned once per connection instead of once per call.
trait Cached {
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;
    fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

impl EmbeddedStore {
    /// Open (creating if needed) `stile.db` in `dir`.
    pub fn open(dir: &Path, fsync_every_commit: bool) -> StoreResult<Self> {
        Self::open_with(dir, fsync_every_commit, RESEMBLANCE_VALUES)
    }

    /// [`open`](Self::open), holding at most `resemblance_values` gathered values.
    pub fn open_with(
        dir: &Path,
        fsync_every_commit: bool,
        resemblance_values: usize,
    ) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(backend)?;
        let conn = Connection::open(dir.join("stile.db")).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(
            None,
            "synchronous",
            if fsync_every_commit { "FULL" } else { "NORMAL" },
        )
        .map_err(backend)?;
        conn.pragma_update(None, "busy_timeout", 5000)
            .map_err(backend)?;
        // Checkpoints run on their own thread (`checkpoints`).
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        migrate(&conn).map_err(backend)?;
        let short = Arc::new(Marks::new(usize::MAX));
        {
            let mut q = conn
                .prepare("SELECT scope, key, expires_at FROM short_use")
                .map_err(backend)?;
            let mut rows = q.query([]).map_err(backend)?;
            while let Some(r) = rows.next().map_err(backend)? {
                let (scope, key): (String, String) =
                    (r.get(0).map_err(backend)?, r.get(1).map_err(backend)?);
                short.restore(&scope, &key, r.get(2).map_err(backend)?);
            }
        }
        let gathered = Arc::new(Mutex::new(
            read_gathered(&conn, resemblance_values).map_err(backend)?,
        ));
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        let restart = Arc::new(AtomicBool::new(false));
        let wanted = restart.clone();
        std::thread::Builder::new()
            .name("stile-sqlite".into())
            .spawn(move || serve(conn, queue, wanted))
            .map_err(backend)?;
        let alive = Arc::new(());
        let (path, weak) = (dir.join("stile.db"), Arc::downgrade(&alive));
        std::thread::Builder::new()
            .name("stile-checkpoint".into())
            .spawn(move || checkpoints(path, weak, restart))
            .map_err(backend)?;
        Ok(Self {
            jobs,
            counters: Arc::new(Counters::new()),
            marks: Arc::new(Marks::new(MARK_SHARD_CAPACITY)),
            short,
            gathered,
            _alive: alive,
        })
    }

    /// Run `f` on the store's thread; its answer arrives once its transaction committed.
    async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |c| {
            let result = f(c);
            Box::new(move |committed| {
                let _ = tx.send(if committed {
                    result
                } else {
                    Err(backend("the transaction did not commit"))
                });
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| backend("the store's thread has stopped"))?;
        rx.await
            .map_err(|_| backend("the store's call failed without an answer"))?
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(backend)
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(backend)
}

fn row_to_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccessKey> {
    Ok(AccessKey {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        sealed_secret: r.get(2)?,
        enabled: r.get::<_, i64>(3)? != 0,
        description: r.get(4)?,
        created_at: r.get(5)?,
    })
}

fn role_str(r: Role) -> &'static str {
    match r {
        Role::Admin => "admin",
        Role::Viewer => "viewer",
    }
}

#[async_trait]
impl ConfigStore for EmbeddedStore {
    async fn insert_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let t = tenant.clone();
        let data = to_json(&t)?;
        self.call(move |c| {
            c.run(
                "INSERT INTO tenants (id, prefix, created_at, data) VALUES (?1, ?2, ?3, ?4)",
                params![t.id, t.prefix, t.created_at, data],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict("tenant id or prefix already exists".into())
                } else {
                    backend(e)
                }
            })?;
            Ok(())
        })
        .await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<bool> {
        let t = tenant.clone();
        let data = to_json(&t)?;
        self.call(move |c| {
            let n = c
                .run(
                    "UPDATE tenants SET prefix = ?2, data = ?3 WHERE id = ?1",
                    params![t.id, t.prefix, data],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict("prefix already exists".into())
                    } else {
                        backend(e)
                    }
                })?;
            Ok(n > 0)
        })
        .await
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        let id = id.to_owned();
        self.call(move |c| {
            let s: Option<String> = c
                .row("SELECT data FROM tenants WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            s.map(|s| from_json(&s)).transpose()
        })
        .await
    }

    async fn tenant_by_prefix(&self, prefix: &str) -> StoreResult<Option<Tenant>> {
        let p = prefix.to_owned();
        self.call(move |c| {
            let s: Option<String> = c
                .row("SELECT data FROM tenants WHERE prefix = ?1", [p], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?;
            s.map(|s| from_json(&s)).transpose()
        })
        .await
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.call(|c| {
            let mut st = c
                .prepare_cached("SELECT data FROM tenants ORDER BY created_at, id")
                .map_err(backend)?;
            let rows = st
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| from_json(&r.map_err(backend)?)).collect()
        })
        .await
    }

    async fn delete_tenant(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.call(move |c| {
            let tx = c.savepoint().map_err(backend)?;
            tx.run("DELETE FROM access_keys WHERE tenant_id = ?1", [&id])
                .map_err(backend)?;
            tx.run(
                "DELETE FROM scene_images WHERE scene_id IN (SELECT id FROM scenes WHERE tenant_id = ?1)",
                [&id],
            )
            .map_err(backend)?;
            tx.run("DELETE FROM scenes WHERE tenant_id = ?1", [&id])
                .map_err(backend)?;
            let n = tx
                .run("DELETE FROM tenants WHERE id = ?1", [&id])
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    async fn put_access_key(&self, key: &AccessKey) -> StoreResult<()> {
        let k = key.clone();
        self.call(move |c| {
            c.run(
                "INSERT INTO access_keys (id, tenant_id, sealed, enabled, description, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET tenant_id = ?2, sealed = ?3, enabled = ?4, description = ?5",
                params![k.id, k.tenant_id, k.sealed_secret, k.enabled as i64, k.description, k.created_at],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn access_key(&self, id: &str) -> StoreResult<Option<AccessKey>> {
        let id = id.to_owned();
        self.call(move |c| {
            c.row(
                "SELECT id, tenant_id, sealed, enabled, description, created_at FROM access_keys WHERE id = ?1",
                [id],
                row_to_key,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn access_keys(&self, tenant_id: &str) -> StoreResult<Vec<AccessKey>> {
        let t = tenant_id.to_owned();
        self.call(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT id, tenant_id, sealed, enabled, description, created_at FROM access_keys
                     WHERE tenant_id = ?1 ORDER BY created_at, id",
                )
                .map_err(backend)?;
            let rows = st.query_map([t], row_to_key).map_err(backend)?;
            rows.map(|r| r.map_err(backend)).collect()
        })
        .await
    }

    async fn delete_access_key(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.call(move |c| {
            Ok(c.run("DELETE FROM access_keys WHERE id = ?1", [id])
                .map_err(backend)?
                > 0)
        })
        .await
    }

    async fn put_scene(&self, scene: &Scene) -> StoreResult<()> {
        let s = scene.clone();
        let data = to_json(&s)?;
        self.call(move |c| {
            c.run(
                "INSERT INTO scenes (id, tenant_id, created_at, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET tenant_id = ?2, data = ?4",
                params![s.id, s.tenant_id, s.created_at, data],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn scene(&self, id: &str) -> StoreResult<Option<Scene>> {
        let id = id.to_owned();
        self.call(move |c| {
            let s: Option<String> = c
                .row("SELECT data FROM scenes WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            s.map(|s| from_json(&s)).transpose()
        })
        .await
    }

    async fn scenes(&self, tenant_id: Option<&str>) -> StoreResult<Vec<Scene>> {
        let t = tenant_id.map(str::to_owned);
        self.call(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT data FROM scenes WHERE (?1 IS NULL OR tenant_id = ?1) ORDER BY created_at, id",
                )
                .map_err(backend)?;
            let rows = st.query_map([t], |r| r.get::<_, String>(0)).map_err(backend)?;
            rows.map(|r| from_json(&r.map_err(backend)?)).collect()
        })
        .await
    }

    async fn delete_scene(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.call(move |c| {
            let tx = c.savepoint().map_err(backend)?;
            tx.run("DELETE FROM scene_images WHERE scene_id = ?1", [&id])
                .map_err(backend)?;
            tx.run("DELETE FROM traces WHERE scene_id = ?1", [&id])
                .map_err(backend)?;
            let gone = tx
                .run("DELETE FROM scenes WHERE id = ?1", [&id])
                .map_err(backend)?
                > 0;
            tx.commit().map_err(backend)?;
            Ok(gone)
        })
        .await
    }

    async fn put_scene_image(&self, image: &SceneImage) -> StoreResult<()> {
        let i = image.clone();
        self.call(move |c| {
            c.run(
                "INSERT INTO scene_images (id, scene_id, format, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![i.id, i.scene_id, i.format, i.bytes, i.created_at],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn scene_images(&self, scene_id: &str) -> StoreResult<Vec<SceneImage>> {
        let scene_id = scene_id.to_owned();
        self.call(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT id, scene_id, format, bytes, created_at, shown, passed, failed FROM scene_images WHERE scene_id = ?1 ORDER BY created_at, id",
                )
                .map_err(backend)?;
            let rows = st
                .query_map([scene_id], |r| {
                    let bytes: Vec<u8> = r.get(3)?;
                    Ok(SceneImage {
                        id: r.get(0)?,
                        scene_id: r.get(1)?,
                        format: r.get(2)?,
                        size: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                        bytes,
                        created_at: r.get(4)?,
                        shown: r.get::<_, i64>(5)?.max(0) as u64,
                        passed: r.get::<_, i64>(6)?.max(0) as u64,
                        failed: r.get::<_, i64>(7)?.max(0) as u64,
                    })
                })
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend)).collect()
        })
        .await
    }

    async fn scene_image_ids(&self, scene_id: &str) -> StoreResult<Vec<String>> {
        let scene_id = scene_id.to_owned();
        self.call(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT id FROM scene_images WHERE scene_id = ?1 ORDER BY created_at, id",
                )
                .map_err(backend)?;
            let rows = st
                .query_map([scene_id], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend)).collect()
        })
        .await
    }

    async fn delete_scene_image(&self, scene_id: &str, image_id: &str) -> StoreResult<bool> {
        let (scene_id, image_id) = (scene_id.to_owned(), image_id.to_owned());
        self.call(move |c| {
            Ok(c.run(
                "DELETE FROM scene_images WHERE scene_id = ?1 AND id = ?2",
                [scene_id, image_id],
            )
            .map_err(backend)?
                > 0)
        })
        .await
    }

    async fn count_image_outcome(&self, image_id: &str, outcome: ImageOutcome) -> StoreResult<()> {
        let image_id = image_id.to_owned();
        let sql = match outcome {
            ImageOutcome::Shown => "UPDATE scene_images SET shown = shown + 1 WHERE id = ?1",
            ImageOutcome::Passed => "UPDATE scene_images SET passed = passed + 1 WHERE id = ?1",
            ImageOutcome::Failed => "UPDATE scene_images SET failed = failed + 1 WHERE id = ?1",
        };
        self.call(move |c| {
            c.run(sql, [image_id]).map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn put_trace(&self, trace: &Trace) -> StoreResult<()> {
        let (scene, data) = (trace.scene_id.clone(), to_json(trace)?);
        self.call(move |c| {
            let tx = c.savepoint().map_err(backend)?;
            tx.run(
                "INSERT INTO traces (scene_id, data) VALUES (?1, ?2)",
                params![scene, data],
            )
            .map_err(backend)?;
            // Trim one in a hundred inserts, so that the common insert stays one statement.
            let seq = tx.last_insert_rowid();
            if seq % 100 == 0 {
                tx.run(
                    "DELETE FROM traces WHERE scene_id = ?1 AND seq <= (SELECT seq FROM traces WHERE scene_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                    params![scene, TRACES_KEPT as i64],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn traces(&self, scene_id: &str, limit: usize) -> StoreResult<Vec<Trace>> {
        let scene = scene_id.to_owned();
        self.call(move |c| {
            let mut st = c
                .prepare_cached("SELECT data FROM traces WHERE scene_id = ?1 ORDER BY seq LIMIT ?2")
                .map_err(backend)?;
            let rows = st
                .query_map(params![scene, limit as i64], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(from_json(&row.map_err(backend)?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn delete_traces(&self, scene_id: &str) -> StoreResult<u64> {
        let scene = scene_id.to_owned();
        self.call(move |c| {
            let n = c
                .run("DELETE FROM traces WHERE scene_id = ?1", [scene])
                .map_err(backend)?;
            Ok(n as u64)
        })
        .await
    }

    async fn put_admin_token(&self, token: &AdminToken) -> StoreResult<()> {
        let t = token.clone();
        self.call(move |c| {
            c.run(
                "INSERT OR REPLACE INTO admin_tokens (hash, role, label, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![t.hash.to_vec(), role_str(t.role), t.label, t.created_at],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn admin_token(&self, hash: &[u8; 32]) -> StoreResult<Option<AdminToken>> {
        let h = *hash;
        self.call(move |c| {
            let row: Option<(String, String, i64)> = c
                .row(
                    "SELECT role, label, created_at FROM admin_tokens WHERE hash = ?1",
                    [h.to_vec()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(backend)?;
            Ok(row.map(|(role, label, created_at)| AdminToken {
                hash: h,
                role: if role == "admin" {
                    Role::Admin
                } else {
                    Role::Viewer
                },
                label,
                created_at,
            }))
        })
        .await
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let k = key.to_owned();
        self.call(move |c| {
            c.row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()
                .map_err(backend)
        })
        .await
    }

    async fn put_meta(&self, key: &str, value: &[u8]) -> StoreResult<()> {
        let (k, v) = (key.to_owned(), value.to_vec());
        self.call(move |c| {
            c.run(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl HotStore for EmbeddedStore {
    async fn insert_cycle(&self, cycle: &Cycle) -> StoreResult<()> {
        let data = to_json(cycle)?;
        let (id, exp) = (cycle.certify_id.clone(), cycle.expires_at_ms);
        self.call(move |c| {
            c.run(
                "INSERT INTO cycles (id, version, expires_at, data) VALUES (?1, 1, ?2, ?3)",
                params![id, exp, data],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict("certify id exists".into())
                } else {
                    backend(e)
                }
            })?;
            Ok(())
        })
        .await
    }

    async fn cycle(&self, certify_id: &str, now_ms: i64) -> StoreResult<Option<(Cycle, u64)>> {
        let id = certify_id.to_owned();
        self.call(move |c| {
            let row: Option<(i64, String)> = c
                .row(
                    "SELECT version, data FROM cycles WHERE id = ?1 AND expires_at > ?2",
                    params![id, now_ms],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            row.map(|(v, d)| Ok((from_json(&d)?, v as u64))).transpose()
        })
        .await
    }

    async fn replace_cycle(&self, cycle: &Cycle, expected: u64) -> StoreResult<bool> {
        let data = to_json(cycle)?;
        let (id, exp) = (cycle.certify_id.clone(), cycle.expires_at_ms);
        self.call(move |c| {
            let n = c
                .run(
                    "UPDATE cycles SET version = version + 1, expires_at = ?3, data = ?4 WHERE id = ?1 AND version = ?2",
                    params![id, expected as i64, exp, data],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn first_use(
        &self,
        scope: &str,
        key: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let (s, k) = (scope.to_owned(), key.to_owned());
        if expires_at_ms.saturating_sub(now_ms) <= SHORT_MARK_MS {
            // Taken in memory first, so that a concurrent second use is refused at once;
            // `true` only once the row is committed.
            if !self.short.first_use(scope, key, expires_at_ms, now_ms) {
                return Ok(false);
            }
            let done = self
                .call(move |c| {
                    // A live mark kept the other way (a longer one, or one written by an
                    // older build) counts too.
                    let held = c
                        .prepare_cached(
                            "SELECT 1 FROM single_use WHERE scope = ?1 AND key = ?2 AND expires_at > ?3",
                        )
                        .and_then(|mut q| q.exists(params![s, k, now_ms]))
                        .map_err(backend)?;
                    if !held {
                        c.run(
                            "INSERT INTO short_use (scope, key, expires_at) VALUES (?1, ?2, ?3)",
                            params![s, k, expires_at_ms],
                        )
                        .map_err(backend)?;
                    }
                    Ok(!held)
                })
                .await;
            if done.is_err() {
                self.short.forget(scope, key);
            }
            return done;
        }
        let short = self.short.clone();
        self.call(move |c| {
            // Checked here, on the store's thread, so that a short mark taken before this
            // call's turn is seen (its row is written in an earlier turn).
            if short.held(&s, &k, now_ms) {
                return Ok(false);
            }
            // An expired mark may be reused; a live one may not.
            let n = c
                .run(
                    "INSERT INTO single_use (scope, key, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(scope, key) DO UPDATE SET expires_at = ?3 WHERE single_use.expires_at <= ?4",
                    params![s, k, expires_at_ms, now_ms],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn gather(
        &self,
        scope: &str,
        buckets: &[String],
        value: &[u8],
        cap: usize,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<Vec<u8>>> {
        let keys: Vec<BucketKey> = buckets.iter().map(|b| bucket_key(scope, b)).collect();
        // Read and added in one step, so that two values gathered at once each see the other
        // in one order; answered once the value's row is committed.
        let (held, seq) = {
            let mut index = self.gathered.lock().expect("gathered index");
            let held = index.held(&keys, cap.max(1), now_ms);
            let seq = index.next_seq();
            index.add(seq, &keys, value, expires_at_ms);
            (held, seq)
        };
        let packed: Vec<u8> = keys.iter().flat_map(|k| k.to_le_bytes()).collect();
        let value = value.to_vec();
        self.call(move |c| {
            c.run(
                "INSERT INTO gather_log (seq, expires_at, buckets, value) VALUES (?1, ?2, ?3, ?4)",
                params![seq, expires_at_ms, packed, value],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await?;
        Ok(held)
    }

    async fn first_use_volatile(
        &self,
        scope: &str,
        key: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        Ok(self.marks.first_use(scope, key, expires_at_ms, now_ms))
    }

    async fn count(&self, key: &str, window_ms: i64, n: u64, now_ms: i64) -> StoreResult<u64> {
        Ok(self.counters.count(key, window_ms, n, now_ms))
    }

    async fn purge_expired(&self, now_ms: i64) -> StoreResult<u64> {
        // The in-memory sweeps visit every live mark and counter (about 3 ms per million
        // live marks, and a busy node holds millions), so they run on a blocking thread,
        // not an async worker.
        let (counters, marks, short) = (
            self.counters.clone(),
            self.marks.clone(),
            self.short.clone(),
        );
        let counters = tokio::task::spawn_blocking(move || {
            counters.purge(now_ms) + marks.purge(now_ms) + short.purge(now_ms)
        })
        .await
        .map_err(|e| backend(format!("purging the in-memory marks: {e}")))?;
        let gathered = self.gathered.clone();
        self.call(move |c| {
            // Short marks are appended in about the order they expire: drop the expired
            // run at the front (a later one waits for the next purge, at most
            // `SHORT_MARK_MS` behind).
            let live: Option<i64> = c
                .row(
                    "SELECT rowid FROM short_use WHERE expires_at > ?1 ORDER BY rowid LIMIT 1",
                    [now_ms],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            c.run(
                "DELETE FROM short_use WHERE rowid < ?1",
                [live.unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
            let a = c
                .run("DELETE FROM cycles WHERE expires_at <= ?1", [now_ms])
                .map_err(backend)?;
            let b = c
                .run("DELETE FROM single_use WHERE expires_at <= ?1", [now_ms])
                .map_err(backend)?;
            // Decided here, on the store's thread: a value gathered since is in the index
            // already, so its row (written after this call, or before) is not below the
            // oldest.
            let (d, oldest) = {
                let mut index = gathered.lock().expect("gathered index");
                (index.purge(now_ms), index.oldest_seq())
            };
            c.run(
                "DELETE FROM gather_log WHERE seq < ?1",
                [oldest.unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
            Ok((a + b) as u64 + d + counters)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_set_of_volatile_marks_drops_the_soonest_to_expire_first() {
        let marks = Marks::new(64);
        // 16 shards × 64: far more than fit, expiring later and later.
        for i in 0..5_000i64 {
            assert!(marks.first_use("n", &i.to_string(), 1_000 + i, 0));
        }
        let held: usize = marks.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= 16 * 64, "{held}");
        // The latest marks are still there; the earliest went.
        assert!(!marks.first_use("n", "4999", 10_000, 0));
        assert!(marks.first_use("n", "0", 10_000, 0));
    }

    /// Short-lived marks (a pass token's) are appended and indexed in memory: they survive
    /// a restart, they and the B-tree's marks see each other, and purging drops the expired
    /// ones from both the table and the index.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn short_marks_are_durable_and_shared_with_long_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), false).unwrap();
        let short = |i: i64| 100_000 + i; // expiries well under SHORT_MARK_MS from now = 0
        for i in 0..50 {
            assert!(
                store
                    .first_use("tok", &format!("s{i}"), short(i), 0)
                    .await
                    .unwrap()
            );
        }
        // A long mark first, then a short use of the same key, and the other way round.
        assert!(store.first_use("tok", "long", 10_000_000, 0).await.unwrap());
        assert!(!store.first_use("tok", "long", short(0), 1).await.unwrap());
        assert!(store.first_use("tok", "mixed", short(0), 0).await.unwrap());
        assert!(
            !store
                .first_use("tok", "mixed", 10_000_000, 1)
                .await
                .unwrap()
        );
        drop(store);

        let store = EmbeddedStore::open(dir.path(), false).unwrap();
        for i in 0..50 {
            assert!(
                !store
                    .first_use("tok", &format!("s{i}"), short(i), 5)
                    .await
                    .unwrap(),
                "short mark {i} survived the restart"
            );
        }
        assert!(!store.first_use("tok", "mixed", short(0), 5).await.unwrap());
        // Past the first 25 expiries: those rows go, the rest stay and still count.
        let now = short(25);
        store.purge_expired(now).await.unwrap();
        let rows = store
            .call(|c| {
                c.row("SELECT count(*) FROM short_use", [], |r| r.get::<_, i64>(0))
                    .map_err(backend)
            })
            .await
            .unwrap();
        // s26‥s49, and "mixed": expired, but behind a live one (the next purge takes it).
        assert_eq!(rows, 25);
        assert!(store.first_use("tok", "s3", short(100), now).await.unwrap());
        assert!(!store.first_use("tok", "s40", short(40), now).await.unwrap());
        drop(store);
        let store = EmbeddedStore::open(dir.path(), false).unwrap();
        assert!(!store.first_use("tok", "s45", short(45), now).await.unwrap());
        assert!(!store.first_use("tok", "s3", short(100), now).await.unwrap());
    }

    /// Gathered values are read back into the index on start, purged from the table with
    /// the index, and a data directory from before the index (the `buckets` table, a row
    /// per value and bucket) is carried over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gathered_values_survive_a_restart_and_old_buckets_carry_over() {
        let dir = tempfile::tempdir().unwrap();
        {
            // The layout of the last build without the index, with two values in it.
            let c = Connection::open(dir.path().join("stile.db")).unwrap();
            c.execute_batch(
                "CREATE TABLE buckets (seq INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL, bucket TEXT NOT NULL, value BLOB NOT NULL, expires_at INTEGER NOT NULL);
                 CREATE INDEX buckets_key ON buckets(scope, bucket, seq);
                 INSERT INTO buckets (scope, bucket, value, expires_at) VALUES ('t:drag', 'a', x'01', 1000), ('t:drag', 'a', x'02', 1000), ('t:drag', 'b', x'02', 1000);",
            )
            .unwrap();
        }
        let store = EmbeddedStore::open(dir.path(), false).unwrap();
        let ab = ["a".to_owned(), "b".to_owned()];
        assert_eq!(
            store
                .gather("t:drag", &ab, b"new", 8, 5_000, 10)
                .await
                .unwrap(),
            vec![vec![2], vec![1], vec![2]],
            "old rows, newest first"
        );
        for i in 0..20u8 {
            store
                .gather("t:drag", &["c".to_owned()], &[i], 8, 100 + i64::from(i), 10)
                .await
                .unwrap();
        }
        drop(store);

        let store = EmbeddedStore::open(dir.path(), false).unwrap();
        let c = ["c".to_owned()];
        assert_eq!(
            store
                .gather("t:drag", &c, b"x", 3, 5_000, 10)
                .await
                .unwrap(),
            vec![vec![19], vec![18], vec![17]],
            "read back in order"
        );
        assert_eq!(
            store
                .gather("t:drag", &ab, b"y", 8, 5_000, 10)
                .await
                .unwrap(),
            vec![b"new".to_vec(), vec![2], vec![1], b"new".to_vec(), vec![2]]
        );
        // At 1,050 the old rows (1,000) and all of "c"'s first twenty (100–119) have
        // expired, but only the ones in front of every live value leave.
        assert_eq!(store.purge_expired(1_050).await.unwrap(), 3);
        async fn rows(s: &EmbeddedStore) -> StoreResult<i64> {
            s.call(|c| {
                c.row("SELECT count(*) FROM gather_log", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(backend)
            })
            .await
        }
        assert_eq!(rows(&store).await.unwrap(), 1 + 20 + 2);
        drop(store);
        let store = EmbeddedStore::open(dir.path(), false).unwrap();
        assert_eq!(
            store
                .gather("t:drag", &c, b"z", 8, 9_000, 1_050)
                .await
                .unwrap(),
            vec![b"x".to_vec()],
            "expired values are not read, whether purged or not"
        );
        assert_eq!(store.purge_expired(5_000).await.unwrap(), 23);
        assert_eq!(rows(&store).await.unwrap(), 1, "z");
    }

    /// How long a start takes to read a full resemblance index back: `cargo test --release
    /// --lib store::embedded -- --ignored --nocapture`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a measurement (a few seconds in release)"]
    async fn reading_back_a_full_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), false).unwrap();
        store
            .call(|c| {
                let tx = c.savepoint().map_err(backend)?;
                {
                    let mut put = tx
                        .prepare("INSERT INTO gather_log (seq, expires_at, buckets, value) VALUES (?1, ?2, ?3, ?4)")
                        .map_err(backend)?;
                    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
                    for seq in 1..=RESEMBLANCE_VALUES as i64 {
                        let mut packed = Vec::with_capacity(64);
                        for t in 0..8u64 {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            packed.extend_from_slice(&((x % 50_000) * 8 + t).to_le_bytes());
                        }
                        put.execute(params![seq, i64::MAX, packed, &[9u8; 64][..]])
                            .map_err(backend)?;
                    }
                }
                tx.commit().map_err(backend)
            })
            .await
            .unwrap();
        drop(store);
        let began = std::time::Instant::now();
        let store = EmbeddedStore::open(dir.path(), false).unwrap();
        println!(
            "{} values read back in {:.2} s",
            store.gathered.lock().unwrap().len(),
            began.elapsed().as_secs_f64()
        );
    }

    /// Calls that share a commit are all durable once answered, and one that fails does not
    /// take the others with it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_committed_together_are_durable_when_answered() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), false).unwrap();
        let mut set = Vec::new();
        for i in 0..200 {
            let s = store.clone();
            set.push(tokio::spawn(async move {
                s.first_use("tok", &format!("k{i}"), i64::MAX, 0).await
            }));
        }
        // Meanwhile a conflicting write fails on its own.
        store.put_meta("m", b"one").await.unwrap();
        let t = crate::model::Tenant {
            id: "t1".into(),
            name: "T".into(),
            prefix: "pfx".into(),
            qps_quota: 1,
            critical_share: 0,
            created_at: 0,
        };
        store.insert_tenant(&t).await.unwrap();
        let again = store.insert_tenant(&t);
        let (again, results) = tokio::join!(again, async {
            let mut r = Vec::new();
            for j in set {
                r.push(j.await.unwrap());
            }
            r
        });
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        assert!(results.iter().all(|r| matches!(r, Ok(true))));
        drop(store);
        let reopened = EmbeddedStore::open(dir.path(), false).unwrap();
        for i in 0..200 {
            assert!(
                !reopened
                    .first_use("tok", &format!("k{i}"), i64::MAX, 1)
                    .await
                    .unwrap(),
                "mark {i} survived"
            );
        }
        assert!(reopened.tenant("t1").await.unwrap().is_some());
    }
}

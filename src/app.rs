//! Application assembly: open the store, load or create the master key, bootstrap the first
//! tenant and credentials, build the router, bind, and serve with graceful shutdown.
//!
//! `Application::build` binds before it returns, so tests can start it on port 0 and read
//! the real address from [`Application::base_url`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::crypto::{MasterKey, token_hash};
use crate::cycle::CycleService;
use crate::http::demo::DEMO_SCENES_META;
use crate::http::{self, AppState, DemoCredentials};
use crate::ids;
use crate::metrics::Metrics;
use crate::model::{AccessKey, AdminToken, Role, Scene, SceneSpec, Tenant, VerificationType};
use crate::settings::{Settings, StoreSettings};
use crate::store::Stores;
use crate::store::cached::CachedConfig;
use crate::store::embedded::EmbeddedStore;

/// Credentials created on first start, to be printed once.
#[derive(Debug, Clone)]
pub struct FirstStart {
    pub tenant_id: String,
    pub prefix: String,
    pub admin_token: Option<String>,
    pub access_key_id: String,
    pub access_key_secret: Option<String>,
    pub demo_scenes: Vec<(VerificationType, String)>,
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    first_start: Option<FirstStart>,
}

impl Application {
    /// Open storage, bootstrap, and bind the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings.validate().map_err(anyhow::Error::msg)?;
        let proxies = settings.proxies().map_err(anyhow::Error::msg)?;
        let stores = match &settings.store {
            StoreSettings::Embedded {
                fsync_every_commit,
                resemblance_values,
            } => {
                let store = EmbeddedStore::open_with(
                    &settings.data_dir,
                    *fsync_every_commit,
                    *resemblance_values,
                )
                .with_context(|| {
                    format!(
                        "opening the embedded store in {}",
                        settings.data_dir.display()
                    )
                })?;
                Stores {
                    config: Arc::new(CachedConfig::new(Arc::new(store.clone()))),
                    hot: Arc::new(store),
                }
            }
            StoreSettings::Cluster { .. } => {
                bail!(
                    "store engine \"cluster\" (Redis + PostgreSQL) is not compiled into this build; use engine = \"embedded\""
                )
            }
        };
        let master = load_master_key(&settings.data_dir)?;
        let clock = Clock::default();
        let cycles = CycleService::new(
            stores.clone(),
            clock.clone(),
            master.clone(),
            &settings.capacity,
        )
        .await?;
        let listener = TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let base_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let state = AppState::new(crate::http::Shared {
            stores,
            cycles,
            master,
            clock,
            metrics: Arc::new(Metrics::new()),
            settings: Arc::new(settings),
            proxies: Arc::new(proxies),
            base_url: Arc::new(OnceLock::new()),
            demo: Arc::new(OnceLock::new()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        });
        let _ = state.base_url.set(base_url);
        let first_start = bootstrap(&state).await?;
        Ok(Self {
            listener,
            state,
            first_start,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The base URL the server is reachable at.
    pub fn base_url(&self) -> String {
        self.state.base_url.get().cloned().unwrap_or_default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// What the first start created, if this was the first start.
    pub fn first_start(&self) -> Option<&FirstStart> {
        self.first_start.as_ref()
    }

    /// Serve until `shutdown` resolves, then stop accepting, let requests in flight finish
    /// (up to 10 s), and return.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let state = self.state.clone();
        let limits = state.settings.limits.clone();
        let router = http::router(state.clone());
        let purge = tokio::spawn(purge_loop(state.cycles.clone()));
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_millis(limits.header_timeout_ms))
            .keep_alive(true);
        let builder = Arc::new(builder);
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => p.expect("semaphore is never closed"),
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(cause = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let router = router.clone();
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    let mut router = router.clone();
                    async move { tower::Service::call(&mut router, req).await }
                },
            );
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(cause = %e, "connection ended with an error");
                }
                drop(permit);
            });
        }
        tracing::info!("shutting down: no new connections; finishing requests in flight");
        drop(self.listener);
        purge.abort();
        if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("requests still in flight after 10 s; closing them");
        }
        Ok(())
    }
}

async fn purge_loop(cycles: CycleService) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        match cycles.purge().await {
            Ok(n) if n > 0 => tracing::debug!(removed = n, "purged expired state"),
            Ok(_) => {}
            Err(e) => tracing::warn!(cause = %e, "purge failed"),
        }
    }
}

/// The master key: `STILE_MASTER_KEY` (64 hex characters), else `<data dir>/master.key`,
/// created on first start with mode 0600.
fn load_master_key(dir: &Path) -> anyhow::Result<MasterKey> {
    if let Ok(hexkey) = std::env::var("STILE_MASTER_KEY") {
        let raw: [u8; 32] = hex::decode(hexkey.trim())
            .ok()
            .and_then(|v| v.try_into().ok())
            .context("STILE_MASTER_KEY must be 64 hex characters")?;
        return Ok(MasterKey::from_bytes(&raw));
    }
    let path = dir.join("master.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let raw: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|v| v.try_into().ok())
            .with_context(|| format!("{} is not a valid key", path.display()))?;
        return Ok(MasterKey::from_bytes(&raw));
    }
    let (key, raw) = MasterKey::generate();
    let tmp = dir.join("master.key.tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(hex::encode(raw).as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(key)
}

const BOOTSTRAP_META: &str = "bootstrap";

/// First start: a tenant, an admin token, an access key, one demo scene per type.
/// Every start: operator-supplied credentials from settings are (re)installed.
async fn bootstrap(state: &AppState) -> anyhow::Result<Option<FirstStart>> {
    let config = &state.stores.config;
    let boot = &state.settings.bootstrap;
    let now = state.clock.now_s();
    let mut first = None;
    if config.meta(BOOTSTRAP_META).await?.is_none() {
        let tenant = Tenant {
            id: ids::tenant_id(),
            name: "Default".into(),
            prefix: ids::prefix(),
            qps_quota: 1000,
            critical_share: crate::model::DEFAULT_CRITICAL_SHARE,
            created_at: now,
        };
        config.insert_tenant(&tenant).await?;
        let admin_token = boot.admin_token.is_none().then(ids::admin_token);
        if let Some(t) = &admin_token {
            let rec = AdminToken {
                hash: token_hash(t),
                role: Role::Admin,
                label: "bootstrap".into(),
                created_at: now,
            };
            config.put_admin_token(&rec).await?;
        }
        let generated_key = boot.access_key_id.is_none() || boot.access_key_secret.is_none();
        let (key_id, secret) = if generated_key {
            let (id, secret) = (ids::access_key_id(), ids::access_key_secret());
            config
                .put_access_key(&AccessKey {
                    sealed_secret: state
                        .master
                        .seal(&format!("access-key:{id}"), secret.as_bytes()),
                    id: id.clone(),
                    tenant_id: tenant.id.clone(),
                    enabled: true,
                    description: "bootstrap".into(),
                    created_at: now,
                })
                .await?;
            (id, Some(secret))
        } else {
            (boot.access_key_id.clone().unwrap_or_default(), None)
        };
        let mut demo = Vec::new();
        for kind in VerificationType::ALL {
            let name = format!("Demo {}", kind.as_str());
            let spec = SceneSpec {
                name: Some(name),
                kind: Some(kind),
                language: Some("en".into()),
                ..Default::default()
            };
            let scene = Scene::create(&tenant.id, spec, now)?;
            config.put_scene(&scene).await?;
            demo.push((kind, scene.id));
        }
        let ids: Vec<&String> = demo.iter().map(|(_, id)| id).collect();
        config
            .put_meta(DEMO_SCENES_META, &serde_json::to_vec(&ids)?)
            .await?;
        config
            .put_meta("demo-access-key", key_id.as_bytes())
            .await?;
        config
            .put_meta(BOOTSTRAP_META, tenant.id.as_bytes())
            .await?;
        first = Some(FirstStart {
            tenant_id: tenant.id,
            prefix: tenant.prefix,
            admin_token,
            access_key_id: key_id,
            access_key_secret: secret,
            demo_scenes: demo,
        });
    }
    let tenant_id = String::from_utf8(config.meta(BOOTSTRAP_META).await?.unwrap_or_default())?;
    if let Some(t) = &boot.admin_token {
        if t.len() < 16 {
            bail!("STILE_ADMIN_TOKEN must be at least 16 characters");
        }
        let rec = AdminToken {
            hash: token_hash(t),
            role: Role::Admin,
            label: "operator".into(),
            created_at: now,
        };
        config.put_admin_token(&rec).await?;
    }
    if let (Some(id), Some(secret)) = (&boot.access_key_id, &boot.access_key_secret) {
        if id.is_empty() || id.len() > 128 || secret.len() < 16 {
            bail!(
                "STILE_ACCESS_KEY_ID must be 1-128 characters and STILE_ACCESS_KEY_SECRET at least 16"
            );
        }
        let existing = config.access_key(id).await?;
        config
            .put_access_key(&AccessKey {
                sealed_secret: state
                    .master
                    .seal(&format!("access-key:{id}"), secret.as_bytes()),
                id: id.clone(),
                tenant_id: existing
                    .as_ref()
                    .map_or(tenant_id.clone(), |k| k.tenant_id.clone()),
                enabled: true,
                description: "operator".into(),
                created_at: existing.map_or(now, |k| k.created_at),
            })
            .await?;
        config.put_meta("demo-access-key", id.as_bytes()).await?;
    }
    // The demo backend verifies with the bootstrap key, read back from the store.
    if let Some(id) = config.meta("demo-access-key").await?
        && let Some(key) = config.access_key(&String::from_utf8(id)?).await?
        && let Ok(secret) = state
            .master
            .open(&format!("access-key:{}", key.id), &key.sealed_secret)
    {
        let _ = state.demo.set(DemoCredentials {
            access_key_id: key.id,
            access_key_secret: String::from_utf8(secret)?,
        });
    }
    Ok(first)
}

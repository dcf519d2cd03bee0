//! HTTP: the routers, the shared application state, and the cross-cutting layers (request
//! ids, metrics, timeouts, body limits, CORS).
//!
//! Routes:
//! - widget API `/api/v1/*` and `/widget/*` — cross-origin allowed (`widget`);
//! - server verification `/` in Alibaba Cloud's RPC style (`aliyun`);
//! - admin API `/admin/v1/*` — bearer tokens, no CORS (`admin`);
//! - operations `/healthz`, `/readyz`, `/metrics` (`ops`);
//! - demo pages and a sample business backend `/demo` (`demo`).
//!
//! Architecture invariant: only `http` (and later `console`) knows JSON shapes, HTML and
//! status codes; the domain modules it calls return domain values and domain errors.

pub mod admin;
pub mod aliyun;
pub mod demo;
pub mod error;
pub mod obfuscate;
pub mod ops;
pub mod widget;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use tower_http::cors::{Any, CorsLayer};

use crate::clock::Clock;
use crate::crypto::MasterKey;
use crate::cycle::CycleService;
use crate::metrics::{HttpLabels, Metrics, RouteLabels};
use crate::settings::Settings;
use crate::store::Stores;
use error::{ApiError, REQUEST_ID};

/// The demo backend's credentials: the bootstrap tenant's access key.
#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub access_key_id: String,
    pub access_key_secret: String,
}

/// Everything a handler may need, behind one `Arc`: the router clones it for every
/// request, and one reference count is cheaper than one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub stores: Stores,
    pub cycles: CycleService,
    pub master: MasterKey,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<Settings>,
    pub proxies: Arc<Vec<IpNet>>,
    /// The server's own base URL, known once the listener is bound.
    pub base_url: Arc<OnceLock<String>>,
    pub demo: Arc<OnceLock<DemoCredentials>>,
    pub http: reqwest::Client,
}

impl Shared {
    /// The client's address: the socket peer, or — when the peer is a trusted proxy — the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
        let Some(peer) = peer.map(|p| p.ip()) else {
            return "unknown".into();
        };
        let trusted = |ip: &IpAddr| self.proxies.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return peer.to_string();
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        forwarded
            .iter()
            .rev()
            .find(|ip| !trusted(ip))
            .copied()
            .unwrap_or(peer)
            .to_string()
    }
}

/// The peer's socket address, when the request came over a socket (absent when a router is
/// driven directly, as in-process tests do).
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// Build the whole router.
pub fn router(state: AppState) -> Router {
    let limits = &state.settings.limits;
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    let widget = widget::router()
        .layer(DefaultBodyLimit::max(limits.widget_body_bytes))
        .layer(cors);
    let verify = aliyun::router().layer(DefaultBodyLimit::max(limits.widget_body_bytes));
    let admin = admin::router().layer(DefaultBodyLimit::max(limits.admin_body_bytes));
    let mut app = Router::new()
        .merge(widget)
        .merge(verify)
        .merge(admin)
        .merge(ops::router());
    if state.settings.demo {
        app = app.merge(demo::router());
    }
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    app.fallback(not_found)
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            with_timeout(timeout, req, next)
        }))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NotFound", "no such endpoint")
}

async fn with_timeout(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "RequestTimeout",
            "the request took too long",
        )
        .into_response(),
    }
}

/// Request id, metrics and a log line for every request.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map_or_else(crate::ids::request_id, str::to_owned);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = req.method().to_string();
    let started = Instant::now();
    let mut resp = REQUEST_ID.scope(request_id.clone(), next.run(req)).await;
    let elapsed = started.elapsed();
    let status = resp.status().as_u16();
    tracing::debug!(%request_id, %method, %route, status, micros = elapsed.as_micros() as u64, "request");
    let by_route = RouteLabels { route };
    state
        .metrics
        .http_latency
        .get_or_create(&by_route)
        .observe(elapsed.as_secs_f64());
    state
        .metrics
        .http_requests
        .get_or_create(&HttpLabels {
            route: by_route.route,
            method,
            status,
        })
        .inc();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

//! Stile: a self-hosted human-verification (CAPTCHA) service.
//!
//! Module map (see ARCHITECTURE.md for the invariants):
//! - [`app`] — assembly: storage, bootstrap, router, serving, shutdown.
//! - [`settings`] — the typed settings tree.
//! - [`capacity`] — admission: tenant quotas, the node's ceiling, priorities.
//! - [`model`] — tenants, access keys, scenes, validation.
//! - [`codes`] — the `T…`/`F…` verdict codes.
//! - [`cycle`] — the verification cycle: init, answer, pass token, server verification.
//! - [`challenge`] — one module per verification type; pure.
//! - [`imaging`] — procedural challenge images (jigsaw, restoration) and upload checks; pure.
//! - [`risk`] — findings about trajectories and environments; pure.
//! - [`token`] — sealed pass tokens and the rotating keyring.
//! - [`acs3`] — ACS3-HMAC-SHA256 request signatures.
//! - [`crypto`], [`ids`], [`clock`] — secrets at rest, random identifiers, the service clock.
//! - [`store`] — storage traits, engines, conformance suite.
//! - [`http`] — routers, error type, widget/server/admin/ops/demo endpoints.
//! - [`metrics`] — Prometheus metrics.
//! - [`logging`] — log lines to stderr from a thread of their own.

pub mod acs3;
pub mod app;
pub mod capacity;
pub mod challenge;
pub mod clock;
pub mod codes;
pub mod crypto;
pub mod cycle;
pub mod http;
pub mod ids;
pub mod imaging;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod risk;
pub mod settings;
pub mod store;
pub mod token;

pub use app::Application;
pub use settings::Settings;

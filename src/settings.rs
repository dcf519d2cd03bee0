//! Typed settings, loaded once in `main` and passed down: defaults → settings file →
//! `STILE_*` environment → command-line flags (the last two through clap, which gives flags
//! precedence over the environment).

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

/// The whole settings tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to serve on.
    pub listen: String,
    /// Where the embedded store and the master key live; created if missing.
    pub data_dir: PathBuf,
    /// The public base URL printed at start-up and used by the demo (defaults to the bound address).
    pub public_url: Option<String>,
    pub store: StoreSettings,
    /// `text` or `json`.
    pub log_format: String,
    /// Peers whose `X-Forwarded-For` is believed (addresses or CIDR blocks).
    pub trusted_proxies: Vec<String>,
    pub limits: Limits,
    /// Admission: a ceiling for the whole node, and the tenants it is dedicated to.
    pub capacity: crate::capacity::NodePolicy,
    /// Serve the demo pages at `/demo`.
    pub demo: bool,
    /// Bootstrap credentials (normally from `STILE_ADMIN_TOKEN`, `STILE_ACCESS_KEY_ID`,
    /// `STILE_ACCESS_KEY_SECRET`); generated and printed once when absent.
    pub bootstrap: Bootstrap,
}

/// Which storage engine runs the node.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "engine", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StoreSettings {
    /// SQLite in the data directory.
    Embedded {
        /// fsync on every commit (power-loss durability) rather than relying on the OS.
        #[serde(default)]
        fsync_every_commit: bool,
        /// Movements kept for near-duplicate detection (`risk::resemblance`), at most: the
        /// index lives in memory, 240–530 bytes each; beyond it the oldest go before their
        /// day is out.
        #[serde(default = "default_resemblance_values")]
        resemblance_values: usize,
    },
    /// Redis for hot state, PostgreSQL for configuration.
    Cluster {
        redis_url: String,
        postgres_url: String,
    },
}

fn default_resemblance_values() -> usize {
    crate::store::embedded::RESEMBLANCE_VALUES
}

/// Request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest body accepted on the widget and verification endpoints.
    pub widget_body_bytes: usize,
    /// Largest body accepted on the admin API.
    pub admin_body_bytes: usize,
    /// Time allowed for a whole request, body included.
    pub request_timeout_ms: u64,
    /// Time allowed for a client to send its request headers.
    pub header_timeout_ms: u64,
    /// Concurrent connections served; more wait in the accept queue.
    pub max_connections: usize,
    /// Largest clock skew accepted in signed server-API requests.
    pub signature_skew_s: i64,
}

/// Credentials fixed by the operator instead of generated.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bootstrap {
    pub admin_token: Option<String>,
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("stile-data"),
            public_url: None,
            store: StoreSettings::Embedded {
                fsync_every_commit: false,
                resemblance_values: default_resemblance_values(),
            },
            log_format: "text".into(),
            trusted_proxies: Vec::new(),
            limits: Limits::default(),
            capacity: crate::capacity::NodePolicy::default(),
            demo: true,
            bootstrap: Bootstrap::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            widget_body_bytes: 64 * 1024,
            admin_body_bytes: 1024 * 1024,
            request_timeout_ms: 10_000,
            header_timeout_ms: 10_000,
            max_connections: 10_000,
            signature_skew_s: 15 * 60,
        }
    }
}

impl Settings {
    /// Parse a TOML settings file's text.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Settings for tests: port 0 on loopback, the given data directory, no demo credentials
    /// printed.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            data_dir,
            ..Self::default()
        }
    }

    /// Check what serde cannot: addresses, proxies, limits.
    pub fn validate(&self) -> Result<(), String> {
        self.listen
            .parse::<std::net::SocketAddr>()
            .map_err(|e| format!("listen {:?}: {e}", self.listen))?;
        self.proxies()?;
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(format!(
                "log_format must be text or json, not {:?}",
                self.log_format
            ));
        }
        if self.limits.widget_body_bytes < 1024 || self.limits.admin_body_bytes < 1024 {
            return Err("body limits must be at least 1024 bytes".into());
        }
        if self.limits.max_connections == 0 || self.limits.request_timeout_ms == 0 {
            return Err("max_connections and request_timeout_ms must be positive".into());
        }
        if let StoreSettings::Embedded {
            resemblance_values, ..
        } = self.store
            && resemblance_values < 1_000
        {
            return Err(format!(
                "store.resemblance_values must be at least 1000, not {resemblance_values}"
            ));
        }
        if let Some(bad) = self
            .capacity
            .dedicated_to
            .iter()
            .find(|t| t.trim().is_empty() || t.len() > 64)
        {
            return Err(format!("capacity.dedicated_to: {bad:?} is not a tenant id"));
        }
        Ok(())
    }

    /// The trusted proxy networks, parsed.
    pub fn proxies(&self) -> Result<Vec<IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("trusted_proxies: {p:?} is not an address or CIDR block"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_layer_parses_and_rejects_unknown_keys() {
        let s = Settings::from_toml(
            "listen = \"0.0.0.0:9000\"\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n[store]\nengine = \"embedded\"\nfsync_every_commit = true\nresemblance_values = 50000\n",
        )
        .unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert!(matches!(
            s.store,
            StoreSettings::Embedded {
                fsync_every_commit: true,
                resemblance_values: 50_000
            }
        ));
        assert!(matches!(
            Settings::from_toml("[store]\nengine = \"embedded\"\n").unwrap().store,
            StoreSettings::Embedded { resemblance_values, .. } if resemblance_values == 1_000_000
        ));
        assert_eq!(s.proxies().unwrap().len(), 2);
        assert!(Settings::from_toml("lisen = \"x\"").is_err());
    }

    #[test]
    fn validate_catches_bad_values() {
        let mut s = Settings::default();
        assert!(s.validate().is_ok());
        s.trusted_proxies = vec!["nope".into()];
        assert!(s.validate().unwrap_err().contains("nope"));
        let s = Settings {
            listen: "localhost".into(),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
        let mut s = Settings::from_toml("[capacity]\nnode_qps = 5000\ndedicated_to = [\"tn-a\"]\n")
            .unwrap();
        assert_eq!(s.capacity.node_qps, 5000);
        assert!(s.validate().is_ok());
        s.capacity.dedicated_to.push(" ".into());
        assert!(s.validate().unwrap_err().contains("dedicated_to"));
        assert!(Settings::from_toml("[capacity]\nnode_qs = 1\n").is_err());
        let s = Settings::from_toml("[store]\nengine = \"embedded\"\nresemblance_values = 10\n")
            .unwrap();
        assert!(s.validate().unwrap_err().contains("resemblance_values"));
    }
}

//! Settings from defaults, an optional `CONFIG_FILE`, then the environment.

use std::time::Duration;

use db::{DbSettings, PoolSettings};
use serde::{Deserialize, Deserializer};
pub use telemetry::LogFormat;

/// Every variable the API reads, besides the database ones in [`DbSettings`] and `RUST_LOG`.
/// Keep in step with the README's table and the Kubernetes ConfigMap.
pub const VARIABLES: &[&str] = &[
    "API_HOST",
    "API_PORT",
    "DATABASE_URL",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASS",
    "DB_SSL_MODE",
    "DB_POOL_MAX_SIZE",
    "CORS_ALLOWED_ORIGINS",
    "SHUTDOWN_TIMEOUT_SECS",
    "LOG_FORMAT",
    "RUST_LOG",
    "CONFIG_FILE",
];

/// Everything the API is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub db: DbSettings,
}

/// The API's own variables (the database's are in [`DbSettings`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    #[serde(default = "defaults::host")]
    pub api_host: String,
    #[serde(default = "defaults::port")]
    pub api_port: u16,
    #[serde(default = "defaults::pool_max_size")]
    pub db_pool_max_size: usize,
    #[serde(
        default = "defaults::cors_allowed_origins",
        deserialize_with = "comma_separated"
    )]
    pub cors_allowed_origins: Vec<String>,
    #[serde(default = "defaults::shutdown_timeout_secs")]
    pub shutdown_timeout_secs: u64,
    #[serde(default)]
    pub log_format: LogFormat,
}

mod defaults {
    pub fn host() -> String {
        "0.0.0.0".into()
    }
    pub fn port() -> u16 {
        3080
    }
    pub fn pool_max_size() -> usize {
        16
    }
    pub fn cors_allowed_origins() -> Vec<String> {
        vec![
            "http://localhost:8080".into(),
            "http://127.0.0.1:8080".into(),
        ]
    }
    pub fn shutdown_timeout_secs() -> u64 {
        // Inside Kubernetes' default 30 s grace period, with room for the preStop pause.
        25
    }
}

fn comma_separated<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let raw = String::deserialize(d)?;
    Ok(raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

impl Settings {
    /// Reads and checks everything; the error is one line naming the variable.
    pub fn load() -> Result<Self, String> {
        let settings = Settings {
            server: db::layered::load()?,
            db: db::layered::load()?,
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), String> {
        let server = &self.server;
        if server.db_pool_max_size == 0 {
            return Err("DB_POOL_MAX_SIZE: must be at least 1".into());
        }
        if let Some(bad) = server
            .cors_allowed_origins
            .iter()
            .find(|o| !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/'))
        {
            return Err(format!(
                "CORS_ALLOWED_ORIGINS: {bad:?} is not an origin like https://example.com (scheme, host, optional port, no path)"
            ));
        }
        // Surface a malformed DATABASE_URL at start, not on the first request.
        self.db
            .pg_config(Duration::from_secs(1))
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.server.shutdown_timeout_secs)
    }

    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_size: self.server.db_pool_max_size,
            // A request waits at most this long for a connection before it gets a 503.
            wait_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

//! Settings from defaults, an optional `CONFIG_FILE`, then the environment.

use std::time::Duration;

use db::{DbSettings, PoolSettings};
use serde::{Deserialize, Deserializer};
use settings::{Error, Variable};
pub use telemetry::LogFormat;
use telemetry::traces::{TraceError, TraceSettings};

/// Every variable the API reads, and all that it reads: [`Settings::load`] takes its
/// settings from this list. The README's table and the Kubernetes ConfigMap are checked
/// against it.
pub const VARIABLES: &[Variable] = settings::variables![
    &[
        Variable {
            name: "API_HOST",
            default: Some("0.0.0.0"),
            meaning: "address to listen on",
        },
        Variable {
            name: "API_PORT",
            default: Some("3080"),
            meaning: "port to listen on (`0`: any free port, printed in the `listening` log line)",
        },
    ],
    db::VARIABLES,
    &[
        Variable {
            name: "DB_POOL_MAX_SIZE",
            default: Some("16"),
            meaning: "most connections the API holds",
        },
        Variable {
            name: "CORS_ALLOWED_ORIGINS",
            default: Some("http://localhost:8080,http://127.0.0.1:8080"),
            meaning: "comma-separated origins allowed to call the API from a browser; others \
                      get no `Access-Control-Allow-Origin`",
        },
        Variable {
            name: "API_MAX_STREAMS",
            default: Some("512"),
            meaning: "most `GET /randoms/events` streams one replica serves at once (`0`: none); \
                      more get a 503",
        },
        Variable {
            name: "API_STREAM_HEARTBEAT_SECS",
            default: Some("15"),
            meaning: "seconds of silence after which an event stream sends a heartbeat (well \
                      inside proxies' idle timeouts, 60 s for ingress-nginx)",
        },
        // Inside Kubernetes' default 30 s grace period, with room for the preStop pause.
        Variable {
            name: "SHUTDOWN_TIMEOUT_SECS",
            default: Some("25"),
            meaning: "longest drain of in-flight requests after SIGTERM (inside Kubernetes' \
                      30 s grace)",
        },
    ],
    telemetry::VARIABLES,
    telemetry::traces::VARIABLES,
    settings::VARIABLES,
];

/// A setting that cannot be used: one line that starts with the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Invalid(#[from] Error),
    #[error(transparent)]
    Database(#[from] db::SettingsError),
    #[error(transparent)]
    Traces(#[from] TraceError),
}

/// Everything the API is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub db: DbSettings,
    pub traces: TraceSettings,
}

/// The API's own variables (the database's are in [`DbSettings`]); their defaults are
/// [`VARIABLES`]'.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub api_host: String,
    pub api_port: u16,
    pub db_pool_max_size: usize,
    #[serde(deserialize_with = "comma_separated")]
    pub cors_allowed_origins: Vec<String>,
    pub shutdown_timeout_secs: u64,
    pub api_max_streams: usize,
    pub api_stream_heartbeat_secs: u64,
    pub log_format: LogFormat,
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
    pub fn load() -> Result<Self, ConfigError> {
        Self::checked(
            settings::load(VARIABLES)?,
            settings::load(VARIABLES)?,
            settings::load(VARIABLES)?,
        )
    }

    fn checked(
        server: ServerSettings,
        db: DbSettings,
        traces: TraceSettings,
    ) -> Result<Self, ConfigError> {
        let settings = Settings { server, db, traces };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let server = &self.server;
        if server.db_pool_max_size == 0 {
            return Err(Error::invalid("DB_POOL_MAX_SIZE", "must be at least 1").into());
        }
        if server.api_stream_heartbeat_secs == 0 {
            return Err(Error::invalid("API_STREAM_HEARTBEAT_SECS", "must be at least 1").into());
        }
        if let Some(bad) = server
            .cors_allowed_origins
            .iter()
            .find(|o| !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/'))
        {
            return Err(Error::invalid(
                "CORS_ALLOWED_ORIGINS",
                format_args!(
                    "{bad:?} is not an origin like https://example.com (scheme, host, optional \
                     port, no path)"
                ),
            )
            .into());
        }
        // Surface a malformed DATABASE_URL at start, not on the first request.
        self.db.pg_config(Duration::from_secs(1))?;
        self.traces.traces_url()?;
        self.traces.sampler()?;
        Ok(())
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.server.shutdown_timeout_secs)
    }

    pub fn stream_heartbeat(&self) -> Duration {
        Duration::from_secs(self.server.api_stream_heartbeat_secs)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_defaults_load_and_pass_the_checks() {
        let loaded = Settings::checked(
            settings::load_from(VARIABLES, &[]).expect("the API's defaults"),
            settings::load_from(VARIABLES, &[]).expect("the database's defaults"),
            settings::load_from(VARIABLES, &[]).expect("the traces' defaults"),
        )
        .expect("valid");
        assert_eq!(
            loaded.server.cors_allowed_origins,
            ["http://localhost:8080", "http://127.0.0.1:8080"]
        );
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("DB_POOL_MAX_SIZE", "0"),
            ("API_STREAM_HEARTBEAT_SECS", "0"),
            ("CORS_ALLOWED_ORIGINS", "localhost:8080"),
            ("DATABASE_URL", "postgres://app:S3cret@db:port/app"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_TRACES_SAMPLER", "often"),
        ] {
            let env = [(var, value)];
            let server = settings::load_from(VARIABLES, &env).expect("loads");
            let db = settings::load_from(VARIABLES, &env).expect("loads");
            let traces = settings::load_from(VARIABLES, &env).expect("loads");
            let err = Settings::checked(server, db, traces)
                .expect_err(var)
                .to_string();
            assert!(err.starts_with(&format!("{var}: ")), "{err}");
            assert!(!err.contains("S3cret"), "{err}");
        }
    }
}

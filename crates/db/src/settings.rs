use std::{fmt, str::FromStr, time::Duration};

use ::settings::Variable;
use serde::Deserialize;

/// `DB_SSL_MODE`, with libpq's meaning: `prefer` and `require` encrypt without checking the
/// server's certificate (CloudNativePG and most managed databases use private CAs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
}

impl TryFrom<String> for SslMode {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            _ => Err(format!(
                "expected disable, prefer or require, got {value:?}"
            )),
        }
    }
}

/// The variables of [`DbSettings`], for the binaries' lists (`settings::variables!`).
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "DATABASE_URL",
        default: None,
        meaning: "`postgres://user:pass@host:port/db` or `key=value` form; when set, the `DB_*` \
                  parts below are ignored (except `DB_SSL_MODE`)",
    },
    Variable {
        name: "DB_HOST",
        default: Some("localhost"),
        meaning: "database host (when `DATABASE_URL` is unset)",
    },
    Variable {
        name: "DB_PORT",
        default: Some("5432"),
        meaning: "database port",
    },
    Variable {
        name: "DB_NAME",
        default: Some("postgres"),
        meaning: "database name",
    },
    Variable {
        name: "DB_USER",
        default: Some("postgres"),
        meaning: "database user",
    },
    Variable {
        name: "DB_PASS",
        default: None,
        meaning: "database password",
    },
    // No default: unset keeps `DATABASE_URL`'s own `sslmode`.
    Variable {
        name: "DB_SSL_MODE",
        default: None,
        meaning: "`disable`, `prefer` or `require`, with libpq's meaning (encryption without \
                  certificate verification); unset: `DATABASE_URL`'s `sslmode`, else `prefer`",
    },
];

/// Database connection settings, read from the same layered sources as everything else
/// (`settings::load`, with [`VARIABLES`] among the binary's).
///
/// `DATABASE_URL` wins when set; otherwise the seed's split variables apply.
#[derive(Clone, Deserialize)]
#[serde(from = "Raw")]
pub struct DbSettings {
    target: Target,
    ssl_mode: Option<SslMode>,
}

#[derive(Clone)]
enum Target {
    Url(String),
    Split {
        host: String,
        port: u16,
        name: String,
        user: String,
        pass: Option<String>,
    },
}

/// The variables as set; their defaults are [`VARIABLES`]'.
#[derive(Deserialize)]
struct Raw {
    database_url: Option<String>,
    db_host: String,
    db_port: u16,
    db_name: String,
    db_user: String,
    db_pass: Option<String>,
    db_ssl_mode: Option<SslMode>,
}

impl From<Raw> for DbSettings {
    fn from(raw: Raw) -> Self {
        let target = match raw.database_url {
            Some(url) => Target::Url(url),
            None => Target::Split {
                host: raw.db_host,
                port: raw.db_port,
                name: raw.db_name,
                user: raw.db_user,
                pass: raw.db_pass,
            },
        };
        Self {
            target,
            ssl_mode: raw.db_ssl_mode,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The message deliberately leaves out the URL: it usually holds the password.
    #[error("DATABASE_URL: not a valid PostgreSQL connection string ({0})")]
    InvalidUrl(String),
}

impl DbSettings {
    /// Settings that connect with a URL, as tests and tools do.
    pub fn from_url(url: impl Into<String>) -> Self {
        Self {
            target: Target::Url(url.into()),
            ssl_mode: None,
        }
    }

    /// The driver's configuration. `connect_timeout` bounds every connection attempt so an
    /// unreachable host fails fast instead of hanging.
    pub fn pg_config(
        &self,
        connect_timeout: Duration,
    ) -> Result<tokio_postgres::Config, SettingsError> {
        let mut cfg = match &self.target {
            Target::Url(url) => tokio_postgres::Config::from_str(url).map_err(|e| {
                // The driver's parse errors name options, never their values, but keep
                // only the first line to be safe.
                SettingsError::InvalidUrl(
                    e.to_string().lines().next().unwrap_or_default().to_owned(),
                )
            })?,
            Target::Split {
                host,
                port,
                name,
                user,
                pass,
            } => {
                let mut cfg = tokio_postgres::Config::new();
                cfg.host(host).port(*port).dbname(name).user(user);
                if let Some(pass) = pass {
                    cfg.password(pass);
                }
                cfg
            }
        };
        if let Some(mode) = self.ssl_mode {
            cfg.ssl_mode(match mode {
                SslMode::Disable => tokio_postgres::config::SslMode::Disable,
                SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                SslMode::Require => tokio_postgres::config::SslMode::Require,
            });
        }
        cfg.connect_timeout(connect_timeout)
            .application_name(env!("CARGO_PKG_NAME"));
        Ok(cfg)
    }
}

/// What is safe to log: where we connect, never the password.
impl fmt::Display for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pg_config(Duration::ZERO) {
            Ok(cfg) => {
                let hosts: Vec<String> = cfg
                    .get_hosts()
                    .iter()
                    .map(|h| match h {
                        tokio_postgres::config::Host::Tcp(name) => name.clone(),
                        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                    })
                    .collect();
                let ports: Vec<String> = cfg.get_ports().iter().map(u16::to_string).collect();
                write!(
                    f,
                    "host={} port={} dbname={} user={}",
                    hosts.join(","),
                    ports.join(","),
                    cfg.get_dbname().unwrap_or("-"),
                    cfg.get_user().unwrap_or("-"),
                )
            }
            Err(e) => write!(f, "<{e}>"),
        }
    }
}

impl fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbSettings({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_variables_build_a_config_and_display_hides_the_password() {
        let s: DbSettings = ::settings::load_from(
            VARIABLES,
            &[("DB_PASS", "hunter2-secret"), ("DB_HOST", "db.internal")],
        )
        .expect("valid");
        let cfg = s.pg_config(Duration::from_secs(1)).expect("valid");
        assert_eq!(cfg.get_password(), Some("hunter2-secret".as_bytes()));
        let shown = format!("{s} {s:?}");
        assert_eq!(
            s.to_string(),
            "host=db.internal port=5432 dbname=postgres user=postgres"
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn a_bad_url_is_refused_without_echoing_it() {
        let s = DbSettings::from_url("postgres://app:hunter2-secret@db:notaport/x");
        let err = s.pg_config(Duration::from_secs(1)).expect_err("bad port");
        let msg = err.to_string();
        assert!(msg.starts_with("DATABASE_URL:"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(!s.to_string().contains("hunter2"));
    }

    #[test]
    fn the_url_keeps_its_sslmode_unless_db_ssl_mode_is_set() {
        use tokio_postgres::config::SslMode as Driver;
        let url = ("DATABASE_URL", "postgres://app@db/app?sslmode=require");
        for (env, mode) in [
            (&[url][..], Driver::Require),
            (&[url, ("DB_SSL_MODE", "disable")], Driver::Disable),
            (&[("DB_HOST", "db")], Driver::Prefer),
        ] {
            let s: DbSettings = ::settings::load_from(VARIABLES, env).expect("valid");
            let cfg = s.pg_config(Duration::from_secs(1)).expect("valid");
            assert_eq!(cfg.get_ssl_mode(), mode, "{env:?}");
        }
    }
}

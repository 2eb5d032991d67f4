use std::{fmt, str::FromStr, time::Duration};

use serde::Deserialize;

/// `DB_SSL_MODE`, with libpq's meaning: `prefer` and `require` encrypt without checking the
/// server's certificate (CloudNativePG and most managed databases use private CAs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(try_from = "String")]
pub enum SslMode {
    Disable,
    #[default]
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

/// Database connection settings, read from the same layered sources as everything else.
///
/// `DATABASE_URL` wins when set; otherwise the seed's split variables apply.
#[derive(Clone, Deserialize)]
pub struct DbSettings {
    database_url: Option<String>,
    #[serde(default = "defaults::host")]
    db_host: String,
    #[serde(default = "defaults::port")]
    db_port: u16,
    #[serde(default = "defaults::name")]
    db_name: String,
    #[serde(default = "defaults::user")]
    db_user: String,
    db_pass: Option<String>,
    db_ssl_mode: Option<SslMode>,
}

mod defaults {
    pub fn host() -> String {
        "localhost".into()
    }
    pub fn port() -> u16 {
        5432
    }
    pub fn name() -> String {
        "postgres".into()
    }
    pub fn user() -> String {
        "postgres".into()
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
            database_url: Some(url.into()),
            db_host: defaults::host(),
            db_port: defaults::port(),
            db_name: defaults::name(),
            db_user: defaults::user(),
            db_pass: None,
            db_ssl_mode: None,
        }
    }

    /// The driver's configuration. `connect_timeout` bounds every connection attempt so an
    /// unreachable host fails fast instead of hanging.
    pub fn pg_config(
        &self,
        connect_timeout: Duration,
    ) -> Result<tokio_postgres::Config, SettingsError> {
        let mut cfg = match &self.database_url {
            Some(url) => tokio_postgres::Config::from_str(url).map_err(|e| {
                // The driver's parse errors name options, never their values, but keep
                // only the first line to be safe.
                SettingsError::InvalidUrl(
                    e.to_string().lines().next().unwrap_or_default().to_owned(),
                )
            })?,
            None => {
                let mut cfg = tokio_postgres::Config::new();
                cfg.host(&self.db_host)
                    .port(self.db_port)
                    .dbname(&self.db_name)
                    .user(&self.db_user);
                if let Some(pass) = &self.db_pass {
                    cfg.password(pass);
                }
                cfg
            }
        };
        if let Some(mode) = self.db_ssl_mode {
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
        let s = DbSettings {
            db_pass: Some("hunter2-secret".into()),
            db_host: "db.internal".into(),
            ..DbSettings::from_url("unused")
        };
        let s = DbSettings {
            database_url: None,
            ..s
        };
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
}

//! Settings from their declared defaults, an optional `CONFIG_FILE`, then the environment
//! (`settings::load`).

use std::path::PathBuf;

use serde::Deserialize;
use settings::Variable;
pub use telemetry::LogFormat;
use url::Url;

/// Every variable the server reads, and all that it reads: [`Settings::load`],
/// [`Limits::load`] and the live reload's switch take their settings from this list. The
/// README's table and the Kubernetes objects are checked against it.
pub const VARIABLES: &[Variable] = settings::variables![
    &[
        Variable {
            name: "WEB_HOST",
            default: Some("0.0.0.0"),
            meaning: "address the static server listens on",
        },
        Variable {
            name: "WEB_PORT",
            default: Some("8080"),
            meaning: "port the static server listens on (`0`: any free port, printed in the \
                      `listening` log line)",
        },
        // Where `cargo xtask web` puts the SPA, relative to the workspace root.
        Variable {
            name: "WEB_ROOT",
            default: Some("target/web/dist"),
            meaning: "the SPA bundle, read into memory at start: a directory holding \
                      `index.html` (the image's is `/srv/www`)",
        },
        Variable {
            name: "API_BASE_URL",
            default: Some("http://localhost:3080"),
            meaning: "absolute http(s) URL of the API, published in `/config.json` for the SPA; \
                      its origin is the only one besides `'self'` that the page's CSP lets it \
                      connect to",
        },
        Variable {
            name: "WEB_MAX_CONNECTIONS",
            default: Some("1024"),
            meaning: "most connections open at once, all workers together (1 to 1000000); \
                      past it, new ones wait in the kernel's listen queue",
        },
        // Declared whatever the features, so that every build's list is the same.
        Variable {
            name: "WEB_DEV_RELOAD",
            default: Some("0"),
            meaning: "`1` turns on live reload (the open page reloads when the static server \
                      restarts, for `cargo xtask dev`), `0` leaves it off, anything else is \
                      refused; read only by builds with the `live-reload` feature: release \
                      builds and images ignore it, whatever its value",
        },
    ],
    telemetry::VARIABLES,
    telemetry::traces::VARIABLES,
    settings::VARIABLES,
];

/// A setting that cannot be used; the message is one line that starts with the variable.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ConfigError(#[from] settings::Error);

/// Everything the server is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// The bundle directory; checked when the bundle is loaded.
    pub root: PathBuf,
    pub api_base_url: ApiBaseUrl,
    pub log_format: LogFormat,
}

/// The variables as set, before the checks that need more than a type; their defaults are
/// [`VARIABLES`]'.
#[derive(Deserialize)]
struct Raw {
    web_host: String,
    web_port: u16,
    web_root: PathBuf,
    api_base_url: String,
    log_format: LogFormat,
}

impl Settings {
    /// Reads and checks everything; the error is one line naming the variable.
    pub fn load() -> Result<Self, ConfigError> {
        let raw: Raw = settings::load(VARIABLES)?;
        Ok(Self {
            host: raw.web_host,
            port: raw.web_port,
            root: raw.web_root,
            api_base_url: ApiBaseUrl::parse(&raw.api_base_url)?,
            log_format: raw.log_format,
        })
    }
}

/// Bounds on what clients may hold, read by [`crate::server::run`]. Kept out of
/// [`Settings`] so code that builds a `Settings` by hand (tests, the e2e crate) is unchanged;
/// [`crate::server::serve`] uses [`Limits::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `WEB_MAX_CONNECTIONS`: connections open at once, all workers together.
    pub max_connections: usize,
}

impl Limits {
    /// Each connection may buffer a 16 KiB head (see `server.rs`): 1024 of them holding
    /// one took 28 MiB over the ~36 MiB the server holds with the real bundle, well inside
    /// the pod's 128 MiB limit, and far more than one replica of a static site needs.
    /// `WEB_MAX_CONNECTIONS`'s declared default is the same (a test checks).
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
    /// Beyond this no memory limit fits, so a larger value is a typo.
    pub const MAX_MAX_CONNECTIONS: usize = 1_000_000;

    /// Reads `WEB_MAX_CONNECTIONS` through the same layers as [`Settings::load`].
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_raw(settings::load(VARIABLES)?)
    }

    fn from_raw(raw: RawLimits) -> Result<Self, ConfigError> {
        Self::new(raw.web_max_connections)
    }

    /// Refuses 0 (nothing would ever be served) and absurd values.
    pub fn new(max_connections: usize) -> Result<Self, ConfigError> {
        if !(1..=Self::MAX_MAX_CONNECTIONS).contains(&max_connections) {
            return Err(invalid(
                "WEB_MAX_CONNECTIONS",
                format_args!(
                    "expected 1 to {}, got {max_connections}",
                    Self::MAX_MAX_CONNECTIONS
                ),
            ));
        }
        Ok(Self { max_connections })
    }
}

#[derive(Deserialize)]
struct RawLimits {
    web_max_connections: usize,
}

/// For servers that read no environment ([`crate::server::serve`]).
impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Where the SPA finds the API: published in `/config.json`, and its origin is the only
/// one the Content-Security-Policy lets the page connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBaseUrl {
    url: String,
    origin: String,
}

impl ApiBaseUrl {
    /// Accepts an absolute `http` or `https` URL with a host and no credentials, query or
    /// fragment (the SPA appends paths to it).
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let fail = |why: &str| invalid("API_BASE_URL", format_args!("{why}, got {value:?}"));
        let url = Url::parse(value)
            .map_err(|e| fail(&format!("expected an absolute http(s) URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(fail("expected an http:// or https:// URL"));
        }
        if url.host().is_none() {
            return Err(fail("expected a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail("credentials do not belong in a public URL"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(fail("expected no query or fragment"));
        }
        Ok(Self {
            // As set, so the SPA sees exactly what the operator wrote.
            url: value.to_owned(),
            // scheme://host[:port], the port left out when it is the scheme's default.
            origin: url.origin().ascii_serialization(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
}

fn invalid(variable: &str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError(settings::Error::invalid(variable, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_defaults_load_and_match_the_in_process_defaults() {
        let raw: Raw = settings::load_from(VARIABLES, &[]).expect("the defaults");
        ApiBaseUrl::parse(&raw.api_base_url).expect("a valid default");
        let limits = Limits::from_raw(settings::load_from(VARIABLES, &[]).expect("the defaults"));
        assert_eq!(limits.expect("valid"), Limits::default());
    }

    #[test]
    fn the_origin_is_scheme_host_and_a_non_default_port() {
        for (url, origin) in [
            ("http://localhost:3080", "http://localhost:3080"),
            ("https://api.example.com/v1/", "https://api.example.com"),
            ("https://API.Example.com:443", "https://api.example.com"),
            ("http://[::1]:3080/x", "http://[::1]:3080"),
        ] {
            let parsed = ApiBaseUrl::parse(url).expect(url);
            assert_eq!(parsed.origin(), origin);
            assert_eq!(parsed.as_str(), url);
        }
    }

    #[test]
    fn the_connection_cap_is_at_least_one_and_not_absurd() {
        assert_eq!(Limits::new(1).expect("1").max_connections, 1);
        assert!(Limits::new(Limits::DEFAULT_MAX_CONNECTIONS).is_ok());
        for bad in [0, Limits::MAX_MAX_CONNECTIONS + 1, usize::MAX] {
            let err = Limits::new(bad).expect_err("refused").to_string();
            assert!(err.starts_with("WEB_MAX_CONNECTIONS: "), "{err}");
        }
    }

    #[test]
    fn anything_but_an_absolute_http_url_is_refused_naming_the_variable() {
        for bad in [
            "",
            "localhost:3080",
            "/api",
            "ftp://example.com",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@example.com",
            "https://example.com/?a=b",
            "https://example.com/#x",
        ] {
            let err = ApiBaseUrl::parse(bad).expect_err(bad).to_string();
            assert!(err.starts_with("API_BASE_URL: "), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}

//! Settings from defaults, an optional `CONFIG_FILE`, then the environment (`db::layered`).

use std::path::PathBuf;

use serde::Deserialize;
pub use telemetry::LogFormat;
use url::Url;

/// Every variable the server reads. Keep in step with the README and the Kubernetes objects.
pub const VARIABLES: &[&str] = &[
    "WEB_HOST",
    "WEB_PORT",
    "WEB_ROOT",
    "API_BASE_URL",
    "WEB_MAX_CONNECTIONS",
    "LOG_FORMAT",
    "RUST_LOG",
    "CONFIG_FILE",
    // Read by debug builds only; never set in the Kubernetes objects.
    "WEB_DEV_RELOAD",
];

/// A setting that cannot be used; the message is one line that starts with the variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

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

/// The variables as set, before the checks that need more than a type.
#[derive(Deserialize)]
struct Raw {
    #[serde(default = "defaults::host")]
    web_host: String,
    #[serde(default = "defaults::port")]
    web_port: u16,
    #[serde(default = "defaults::root")]
    web_root: PathBuf,
    #[serde(default = "defaults::api_base_url")]
    api_base_url: String,
    #[serde(default)]
    log_format: LogFormat,
}

mod defaults {
    use std::path::PathBuf;

    pub fn host() -> String {
        "0.0.0.0".into()
    }
    pub fn port() -> u16 {
        8080
    }
    pub fn root() -> PathBuf {
        // Where `cargo xtask` puts the built SPA, relative to the workspace root.
        "target/web/dist".into()
    }
    pub fn api_base_url() -> String {
        "http://localhost:3080".into()
    }
}

impl Settings {
    /// Reads and checks everything; the error is one line naming the variable.
    pub fn load() -> Result<Self, ConfigError> {
        let raw: Raw = db::layered::load().map_err(ConfigError)?;
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
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
    /// Beyond this no memory limit fits, so a larger value is a typo.
    pub const MAX_MAX_CONNECTIONS: usize = 1_000_000;

    /// Reads `WEB_MAX_CONNECTIONS` through the same layers as [`Settings::load`].
    pub fn load() -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default = "default_max_connections")]
            web_max_connections: usize,
        }
        fn default_max_connections() -> usize {
            Limits::DEFAULT_MAX_CONNECTIONS
        }
        let raw: Raw = db::layered::load().map_err(ConfigError)?;
        Self::new(raw.web_max_connections)
    }

    /// Refuses 0 (nothing would ever be served) and absurd values.
    pub fn new(max_connections: usize) -> Result<Self, ConfigError> {
        if !(1..=Self::MAX_MAX_CONNECTIONS).contains(&max_connections) {
            return Err(ConfigError(format!(
                "WEB_MAX_CONNECTIONS: expected 1 to {}, got {max_connections}",
                Self::MAX_MAX_CONNECTIONS
            )));
        }
        Ok(Self { max_connections })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Switches for development, read by debug builds only: a release build (`--release`)
/// compiles none of this and ignores the variables. Kept out of [`Settings`], so code that
/// builds a `Settings` by hand (tests, the e2e crate) is the same in both builds.
#[cfg(debug_assertions)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DevSettings {
    /// `WEB_DEV_RELOAD`: `1` on, `0` or unset off. See [`crate::live_reload`].
    pub live_reload: bool,
}

#[cfg(debug_assertions)]
impl DevSettings {
    /// Reads the dev variables through the same layers as [`Settings::load`].
    pub fn load() -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            web_dev_reload: Switch,
        }
        let raw: Raw = db::layered::load().map_err(ConfigError)?;
        Ok(Self {
            live_reload: raw.web_dev_reload.0,
        })
    }
}

/// `1` or `0`, nothing else: a typo must not silently mean off.
#[cfg(debug_assertions)]
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(try_from = "String")]
struct Switch(bool);

#[cfg(debug_assertions)]
impl TryFrom<String> for Switch {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "1" => Ok(Self(true)),
            "0" => Ok(Self(false)),
            _ => Err(format!("expected 1 (on) or 0 (off), got {value:?}")),
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
        let fail = |why: &str| ConfigError(format!("API_BASE_URL: {why}, got {value:?}"));
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

#[cfg(test)]
mod tests {
    use super::*;

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

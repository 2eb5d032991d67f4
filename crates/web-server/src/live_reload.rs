//! Dev-only live reload: `cargo xtask dev` restarts this server when the SPA is rebuilt
//! (the bundle lives in memory), and the open page must then reload by itself.
//!
//! Each process draws a boot id; the page polls it and reloads when it changes, so a
//! restart is the whole signal: no socket to keep open, nothing to watch here. Compiled
//! with the `live-reload` feature only (`lib.rs`), and used only with `WEB_DEV_RELOAD=1`.
//!
//! A stylesheet edit needs no rebuild and no reload: `cargo xtask dev` writes it to
//! [`STYLE_FILE`] under the bundle, this server serves that file as it is on disk at
//! [`STYLE_PATH`], and the page, polling it too, swaps it in place when it changes (the
//! page keeps its state).

use std::{
    hash::{BuildHasher, RandomState},
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;

use crate::{
    app::{self, Body},
    bundle::Asset,
    config::{ConfigError, VARIABLES},
    headers,
};

/// Answers the boot id, as `text/plain`.
pub const BOOT_ID_PATH: &str = "/_dev/boot-id";
/// The polling script that `index.html` loads.
pub const SCRIPT_PATH: &str = "/_dev/live-reload.js";
/// The stylesheet as last edited, read from disk on every request.
pub const STYLE_PATH: &str = "/_dev/style.css";
/// Where `cargo xtask dev` writes it, relative to `WEB_ROOT`.
pub const STYLE_FILE: &str = "_dev/style.css";
/// What goes into `index.html`. Same-origin, so the CSP (`script-src 'self'`,
/// `connect-src 'self'`) allows the script and its polls as it stands.
pub const SCRIPT_TAG: &str = r#"<script type="module" src="/_dev/live-reload.js"></script>"#;

/// Polls on a timer rather than holding a connection open: a restart then needs no
/// reconnect logic, and a failed poll (the server is down for a moment) is simply retried.
const SCRIPT: &str = r#"// Dev only (WEB_DEV_RELOAD=1): reloads this page when the web server restarts,
// and swaps the stylesheet in place when it was edited.
const INTERVAL_MS = 500;
let first = null;
let style = null;

async function poll() {
  try {
    const res = await fetch("/_dev/boot-id", { cache: "no-store" });
    if (res.ok) {
      const id = (await res.text()).trim();
      if (first === null) {
        first = id;
      } else if (id !== first) {
        location.reload();
        return;
      }
    }
    await restyle();
  } catch {
    // The server is restarting: try again at the next tick.
  }
  setTimeout(poll, INTERVAL_MS);
}

// The new sheet goes in beside the old, which leaves once the new one applies: no flash.
async function restyle() {
  const res = await fetch("/_dev/style.css", { cache: "no-store" });
  if (!res.ok) return;
  const css = await res.text();
  if (css === style) return;
  style = css;
  const sheets = document.querySelectorAll('link[rel="stylesheet"]');
  const old = sheets[sheets.length - 1];
  if (!old) return;
  const next = old.cloneNode();
  next.href = "/_dev/style.css?" + Date.now();
  next.onload = () => old.remove();
  old.after(next);
}

poll();
"#;

/// The dev routes and this process's boot id.
#[derive(Debug, Clone)]
pub struct LiveReload {
    boot_id: Bytes,
    script: Asset,
    /// [`STYLE_FILE`] under the bundle's root, once [`with_root`](Self::with_root) says where.
    style: Option<PathBuf>,
}

impl Default for LiveReload {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveReload {
    /// Draws a new boot id: the time and pid, hashed with the process's random
    /// `RandomState` keys, so two starts (or two servers in one test process) differ.
    pub fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let hash = RandomState::new().hash_one((nanos, std::process::id()));
        Self {
            boot_id: Bytes::from(format!("{hash:016x}")),
            script: Asset::new(
                "text/javascript; charset=utf-8",
                // Always fetched fresh: a stale copy would outlive a change to this file.
                headers::NO_STORE,
                Bytes::from_static(SCRIPT.as_bytes()),
                None,
                None,
            ),
            style: None,
        }
    }

    /// Serves the edited stylesheet from `root` (`WEB_ROOT`).
    pub fn with_root(mut self, root: &Path) -> Self {
        self.style = Some(root.join(STYLE_FILE));
        self
    }

    pub fn boot_id(&self) -> &str {
        std::str::from_utf8(&self.boot_id).expect("hex is UTF-8")
    }

    /// The answer for a dev route, or `None` for any other path.
    pub fn route<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        match req.uri().path() {
            BOOT_ID_PATH => Some(app::plain(StatusCode::OK, self.boot_id.clone())),
            SCRIPT_PATH => Some(app::respond_with(req, &self.script, false)),
            STYLE_PATH => Some(self.style(req)),
            _ => None,
        }
    }

    /// The edited stylesheet, or 404 until there is one. A blocking read on the server's
    /// thread: a file of a few KB, for one local browser.
    fn style<B>(&self, req: &Request<B>) -> Response<Body> {
        let Some(css) = self
            .style
            .as_ref()
            .and_then(|path| std::fs::read(path).ok())
        else {
            return app::plain(
                StatusCode::NOT_FOUND,
                "no stylesheet edited since the build",
            );
        };
        let style = Asset::new(
            "text/css; charset=utf-8",
            headers::NO_STORE,
            Bytes::from(css),
            None,
            None,
        );
        app::respond_with(req, &style, false)
    }

    /// `index` with [`SCRIPT_TAG`] before its first `</head>` (any case), or at the end
    /// without one. The precompressed encodings are dropped rather than regenerated (this
    /// is for a local browser), so no `Accept-Encoding` gets the page without the tag; the
    /// ETag follows the new bytes.
    pub fn inject(index: &Asset) -> Asset {
        let html = &index.identity.body;
        let at = html
            .windows(7)
            .position(|w| w.eq_ignore_ascii_case(b"</head>"))
            .unwrap_or(html.len());
        let mut out = Vec::with_capacity(html.len() + SCRIPT_TAG.len());
        out.extend_from_slice(&html[..at]);
        out.extend_from_slice(SCRIPT_TAG.as_bytes());
        out.extend_from_slice(&html[at..]);
        index.with_identity(Bytes::from(out))
    }
}

/// The development switches. Kept out of [`crate::config::Settings`], so code that builds
/// a `Settings` by hand (tests, the e2e crate) is the same with or without the feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevSettings {
    /// `WEB_DEV_RELOAD`: `1` on, `0` (the default) off.
    pub live_reload: bool,
}

impl DevSettings {
    /// Reads the dev variables through the same layers as the other settings.
    pub fn load() -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct Raw {
            web_dev_reload: Switch,
        }
        let raw: Raw = settings::load(VARIABLES)?;
        Ok(Self {
            live_reload: raw.web_dev_reload.0,
        })
    }
}

/// `1` or `0`, nothing else: a typo must not silently mean off.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "String")]
struct Switch(bool);

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

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Asset {
        Asset::new(
            "text/html; charset=utf-8",
            headers::NO_CACHE,
            Bytes::from(html.to_owned()),
            Some(Bytes::from_static(b"br")),
            Some(Bytes::from_static(b"gz")),
        )
    }

    fn injected(html: &str) -> String {
        let asset = LiveReload::inject(&page(html));
        assert!(
            asset.br.is_none() && asset.gzip.is_none(),
            "stale encodings kept"
        );
        String::from_utf8(asset.identity.body.to_vec()).expect("UTF-8")
    }

    #[test]
    fn the_tag_goes_before_the_first_head_end_or_at_the_end() {
        assert_eq!(
            injected("<html><head><title>t</title></head><body></body></html></head>"),
            format!("<html><head><title>t</title>{SCRIPT_TAG}</head><body></body></html></head>")
        );
        assert_eq!(
            injected("<HTML><HEAD></HEAD></HTML>"),
            format!("<HTML><HEAD>{SCRIPT_TAG}</HEAD></HTML>")
        );
        assert_eq!(
            injected("<p>no head</p>"),
            format!("<p>no head</p>{SCRIPT_TAG}")
        );
        assert_eq!(injected(""), SCRIPT_TAG);
    }

    #[test]
    fn the_etag_follows_the_injected_bytes() {
        let plain = page("<head></head>");
        let asset = LiveReload::inject(&plain);
        assert_ne!(asset.identity.etag, plain.identity.etag);
        assert_eq!(
            asset.identity.content_length,
            hyper::header::HeaderValue::from(asset.identity.body.len())
        );
        assert_eq!(asset.content_type, plain.content_type);
        assert_eq!(asset.cache_control, plain.cache_control);
    }

    #[test]
    fn each_start_draws_a_different_hex_boot_id() {
        let (a, b) = (LiveReload::new(), LiveReload::new());
        assert_ne!(a.boot_id(), b.boot_id());
        for id in [a.boot_id(), b.boot_id()] {
            assert_eq!(id.len(), 16, "{id}");
            assert!(id.bytes().all(|c| c.is_ascii_hexdigit()), "{id}");
        }
    }

    #[test]
    fn the_script_polls_without_cache_and_reloads_on_a_new_id() {
        for needle in [
            BOOT_ID_PATH,
            r#"cache: "no-store""#,
            "location.reload()",
            "500",
        ] {
            assert!(SCRIPT.contains(needle), "{needle}");
        }
        assert!(SCRIPT_TAG.contains(SCRIPT_PATH));
    }
}

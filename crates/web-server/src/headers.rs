//! The headers every response carries, and the caching rule.

use hyper::header::{self, HeaderMap, HeaderValue, InvalidHeaderValue};

/// For files whose name changes with their content: cache for a year, never revalidate.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For everything else (`index.html`, `/config.json`, unhashed files): cache, but revalidate
/// every use (a cheap 304 thanks to the ETag), so a deploy shows at the next load.
pub const NO_CACHE: &str = "no-cache";
/// For errors and `/healthz`.
pub const NO_STORE: &str = "no-store";

/// Security headers, built once from the API's origin.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
}

impl SecurityHeaders {
    /// `api_origin` is `scheme://host[:port]`: the one place besides our own origin the
    /// page may connect to. The wasm needs `'wasm-unsafe-eval'` to compile, nothing more.
    pub fn new(api_origin: &str) -> Result<Self, InvalidHeaderValue> {
        let csp = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
             img-src 'self' data:; connect-src 'self' {api_origin}; frame-ancestors 'none'; \
             base-uri 'none'; form-action 'self'; object-src 'none'"
        );
        Ok(Self {
            csp: HeaderValue::from_str(&csp)?,
        })
    }

    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// `Vary` value for files stored in several encodings.
pub const VARY_ENCODING: &str = "accept-encoding";
/// `Vary` value for answers to a missing path with an extension: whether it is the SPA
/// page or a 404 depends on `Accept`.
pub const VARY_ACCEPT: &str = "accept";
pub const VARY_BOTH: &str = "accept-encoding, accept";

/// `Allow` for 405s: a static site only reads.
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// The `Cache-Control` of a bundle file.
pub fn cache_control(key: &str) -> &'static str {
    if is_content_hashed(key) {
        IMMUTABLE
    } else {
        NO_CACHE
    }
}

/// Is the key's content fixed by its name? The rule, precisely: the file name up to its
/// first `.`, after removing one `_suffix` (wasm-bindgen's `_bg`), ends in `-` and at least
/// 8 lowercase hex digits (`app-3f9a1c0d.js`, `app-3f9a1c0d_bg.wasm`, `app-3f9a1c0d.js.map`);
/// or a directory on the way ends so (wasm-bindgen's `snippets/<crate>-<hash>/inline0.js`).
/// Trunk's 16-digit hashes qualify; `logo-facade.svg` (6 digits) and `index.html` do not.
pub fn is_content_hashed(key: &str) -> bool {
    let mut segments = key.split('/');
    let file = segments.next_back().unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    let file_hashed = ends_with_hash(stem)
        || stem
            .rsplit_once('_')
            .is_some_and(|(head, suffix)| !suffix.is_empty() && ends_with_hash(head));
    file_hashed || segments.any(ends_with_hash)
}

fn ends_with_hash(name: &str) -> bool {
    name.rsplit_once('-').is_some_and(|(head, hash)| {
        !head.is_empty()
            && hash.len() >= 8
            && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names() {
        for key in [
            "app-3f9a1c0d.js",
            "app-9f8e7d6c5b4a3210_bg.wasm",
            "web_bg-9f8e7d6c5b4a3210.wasm",
            "style-ab12cd34ef.css",
            "app-3f9a1c0d.js.map",
            "app-3f9a1c0d.js.gz",
            "assets/font-0123456789abcdef.woff2",
            "snippets/leptos-0123456789abcdef/inline0.js",
        ] {
            assert!(is_content_hashed(key), "{key}");
            assert_eq!(cache_control(key), IMMUTABLE);
        }
    }

    #[test]
    fn unhashed_names() {
        for key in [
            "index.html",
            "config.json",
            "favicon.ico",
            "logo-facade.svg",
            "app-3f9a1c.js",
            "app-3F9A1C0D.js",
            "app-3f9a1c0g.js",
            "-3f9a1c0d.js",
            "3f9a1c0d.js",
            "app_3f9a1c0d.js",
            "app-3f9a1c0d_.js",
            "app.3f9a1c0d.js",
        ] {
            assert!(!is_content_hashed(key), "{key}");
            assert_eq!(cache_control(key), NO_CACHE);
        }
    }

    #[test]
    fn the_csp_connects_only_to_self_and_the_api_origin() {
        let headers = SecurityHeaders::new("https://api.example.com:8443").expect("valid");
        let mut map = HeaderMap::new();
        headers.apply(&mut map);
        let csp = map[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert!(csp.contains("; connect-src 'self' https://api.example.com:8443;"));
        assert_eq!(map[header::X_FRAME_OPTIONS], "DENY");
    }
}

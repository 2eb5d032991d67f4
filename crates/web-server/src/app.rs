//! What each request gets: the route table and the responses. No I/O happens here, so a
//! request is answered synchronously from memory.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Method, Request, Response, StatusCode, Version,
    header::{self, HeaderMap, HeaderValue, InvalidHeaderValue},
};

use crate::{
    bundle::{Asset, Bundle},
    config::ApiBaseUrl,
    headers::{self, SecurityHeaders},
    negotiate::{self, Encoding},
    path,
};

#[cfg(feature = "live-reload")]
use crate::live_reload::LiveReload;
use telemetry::access::AccessLog;

pub type Body = Full<Bytes>;

/// The served site: the bundle plus the generated `/config.json`, and the security headers.
#[derive(Debug, Clone)]
pub struct App {
    bundle: Bundle,
    security: SecurityHeaders,
    access_log: Option<AccessLog>,
    /// Dev only: see [`App::with_live_reload`].
    #[cfg(feature = "live-reload")]
    live_reload: Option<LiveReload>,
}

impl App {
    /// Publishes `api` as `/config.json` (one build serves every environment; it replaces a
    /// `config.json` shipped in the bundle) and lets the page connect to its origin.
    pub fn new(mut bundle: Bundle, api: &ApiBaseUrl) -> Result<Self, InvalidHeaderValue> {
        let config = serde_json::json!({ "api_base_url": api.as_str() }).to_string();
        let config = Asset::new(
            "application/json",
            headers::NO_CACHE,
            Bytes::from(config),
            None,
            None,
        );
        if bundle.insert("config.json", config).is_some() {
            tracing::warn!("the bundle's config.json is replaced by the generated one");
        }
        Ok(Self {
            bundle,
            security: SecurityHeaders::new(api.origin())?,
            access_log: None,
            #[cfg(feature = "live-reload")]
            live_reload: None,
        })
    }

    /// Dev only (`WEB_DEV_RELOAD=1`): serves the `/_dev/` routes and makes `index.html`
    /// load the script that reloads the page when this server restarts.
    #[cfg(feature = "live-reload")]
    #[must_use]
    pub fn with_live_reload(mut self, live_reload: LiveReload) -> Self {
        let index = LiveReload::inject(self.bundle.index());
        self.bundle.insert("index.html", index);
        self.live_reload = Some(live_reload);
        self
    }

    /// Writes a line per request to `log` (the binary does; in-process tests need not).
    #[must_use]
    pub fn with_access_log(mut self, log: Option<AccessLog>) -> Self {
        self.access_log = log;
        self
    }

    pub fn access_log(&self) -> Option<&AccessLog> {
        self.access_log.as_ref()
    }

    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The route table: the one place to add a route. `/healthz` and the dev routes come
    /// before the bundle, so a bundle file cannot shadow them.
    pub fn respond<B>(&self, req: &Request<B>) -> Response<Body> {
        let method = req.method();
        let mut res = if let Some(why) = host_error(req) {
            plain(StatusCode::BAD_REQUEST, format!("bad request: {why}\n"))
        } else if method != Method::GET && method != Method::HEAD {
            let mut res = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            res.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static(headers::ALLOWED_METHODS),
            );
            res
        } else if req.uri().path() == "/healthz" {
            plain(StatusCode::OK, "ok")
        } else if let Some(res) = self.dev_route(req) {
            res
        } else {
            self.static_file(req)
        };
        self.security.apply(res.headers_mut());
        if method == Method::HEAD {
            // Same headers, Content-Length included; no body.
            *res.body_mut() = Body::default();
        }
        res
    }

    /// `/_dev/boot-id` and `/_dev/live-reload.js`, only while live reload is on; otherwise
    /// those paths are ordinary ones (SPA page or 404).
    #[cfg(feature = "live-reload")]
    fn dev_route<B>(&self, req: &Request<B>) -> Option<Response<Body>> {
        self.live_reload.as_ref()?.route(req)
    }

    /// Without the `live-reload` feature there are no dev routes.
    #[cfg(not(feature = "live-reload"))]
    fn dev_route<B>(&self, _req: &Request<B>) -> Option<Response<Body>> {
        None
    }

    /// A bundle file; `index.html` for `/` and SPA navigations; 404 for a missing asset.
    fn static_file<B>(&self, req: &Request<B>) -> Response<Body> {
        let key = match path::to_key(req.uri().path()) {
            Ok(key) => key,
            Err(why) => return plain(StatusCode::BAD_REQUEST, format!("bad request: {why}\n")),
        };
        if key.is_empty() {
            return respond_with(req, self.bundle.index(), false);
        }
        if let Some(asset) = self.bundle.get(&key) {
            return respond_with(req, asset, false);
        }
        if path::is_navigation(&key) {
            return respond_with(req, self.bundle.index(), false);
        }
        // `/x.js` is a missing asset, unless a browser navigates to it (`/users/jane.doe`).
        let page = req
            .headers()
            .get(header::ACCEPT)
            .is_some_and(|accept| negotiate::prefers_html(accept.as_bytes()));
        if page {
            return respond_with(req, self.bundle.index(), true);
        }
        let mut res = plain(StatusCode::NOT_FOUND, "not found\n");
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static(headers::VARY_ACCEPT));
        res
    }
}

/// RFC 9112 §3.2: a 400 for an HTTP/1.1 request without `Host` (HTTP/1.0 may omit it), any
/// request with more than one, or one whose value is not `host[:port]`.
fn host_error<B>(req: &Request<B>) -> Option<&'static str> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if req.version() == Version::HTTP_11 => Some("no Host header"),
        (Some(_), Some(_)) => Some("more than one Host header"),
        (Some(host), None) if !is_host(host.as_bytes()) => Some("malformed Host header"),
        _ => None,
    }
}

/// `uri-host [":" port]` (RFC 3986 §3.2.2), loosely: a bracketed IP literal or a name of
/// unreserved, sub-delim and `%` characters, then an optional `:` and digits. Empty is
/// valid (a request target without an authority, RFC 9112 §3.2).
fn is_host(value: &[u8]) -> bool {
    let name = |b: &u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(b);
    // The last `:` starts the port, unless it is inside an IPv6 literal.
    let (host, port) = match value.iter().rposition(|b| *b == b':') {
        Some(i) if !value[i..].contains(&b']') => (&value[..i], &value[i + 1..]),
        _ => (value, &b""[..]),
    };
    let host_ok = match host.strip_prefix(b"[") {
        Some(literal) => literal
            .strip_suffix(b"]")
            .is_some_and(|ip| !ip.is_empty() && ip.iter().all(|b| *b == b':' || name(b))),
        None => host.iter().all(name),
    };
    host_ok && port.iter().all(u8::is_ascii_digit)
}

/// 200 with the representation `Accept-Encoding` picks, or 304 when the client has it.
/// `vary_accept`: the answer depended on `Accept` (an SPA page for an asset-like path).
pub(crate) fn respond_with<B>(
    req: &Request<B>,
    asset: &Asset,
    vary_accept: bool,
) -> Response<Body> {
    let encoding = if asset.is_negotiable() {
        let accept = req.headers().get(header::ACCEPT_ENCODING);
        negotiate::choose_encoding(
            accept.map(HeaderValue::as_bytes),
            asset.br.is_some(),
            asset.gzip.is_some(),
        )
    } else {
        Encoding::Identity
    };
    let repr = asset.representation(encoding);

    let mut fields = HeaderMap::with_capacity(16);
    fields.insert(header::ETAG, repr.etag.clone());
    fields.insert(header::CACHE_CONTROL, asset.cache_control.clone());
    let vary = match (asset.is_negotiable(), vary_accept) {
        (true, false) => Some(headers::VARY_ENCODING),
        (true, true) => Some(headers::VARY_BOTH),
        (false, true) => Some(headers::VARY_ACCEPT),
        (false, false) => None,
    };
    if let Some(vary) = vary {
        fields.insert(header::VARY, HeaderValue::from_static(vary));
    }

    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tags| negotiate::none_match(tags.as_bytes(), repr.etag.as_bytes()));
    if fresh {
        return build(StatusCode::NOT_MODIFIED, fields, Bytes::new());
    }

    fields.insert(header::CONTENT_TYPE, asset.content_type.clone());
    fields.insert(header::CONTENT_LENGTH, repr.content_length.clone());
    if let Some(coding) = encoding.header_value() {
        fields.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    build(StatusCode::OK, fields, repr.body.clone())
}

/// A short text answer that no cache keeps (errors, `/healthz`).
pub(crate) fn plain(status: StatusCode, text: impl Into<Bytes>) -> Response<Body> {
    let text = text.into();
    let mut fields = HeaderMap::with_capacity(12);
    fields.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    fields.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    fields.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(headers::NO_STORE),
    );
    build(status, fields, text)
}

fn build(status: StatusCode, fields: HeaderMap, body: Bytes) -> Response<Body> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    *res.headers_mut() = fields;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_values() {
        for good in [
            "",
            "localhost",
            "localhost:8080",
            "randoms.example.com",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8080",
            "[fe80::1%25eth0]:80",
            "xn--bcher-kva.example",
            "host:",
        ] {
            assert!(is_host(good.as_bytes()), "{good:?}");
        }
        for bad in [
            "a b",
            "user@host",
            "host:port",
            "host:80:80",
            "::1",
            "[::1",
            "[]",
            "host/path",
            "host?q",
            "ex\u{e4}mple.com",
        ] {
            assert!(!is_host(bad.as_bytes()), "{bad:?}");
        }
    }
}

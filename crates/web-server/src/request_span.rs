//! A request's trace: a server span per request when traces are exported (continuing the
//! page's `traceparent`, so `/config.json` and the API calls of one user action are one
//! trace), and the trace id its access line carries: the caller's, else a fresh one, as the
//! API's. Without an exporter no span is made (the access line is the request's only line).

use hyper::{Request, Response, header};
use telemetry::{
    REQUEST_SPAN,
    traces::{self, Decision},
};
use tracing::{Span, info_span};

/// The span a request is answered in (`Span::none()` when not exported) and its trace id.
pub struct RequestSpan {
    pub span: Span,
    pub trace_id: String,
    /// Whether the span is exported: a span sampled out is not described.
    recording: bool,
}

impl RequestSpan {
    /// The span of `req`, known as `request_id`.
    pub fn start<B>(req: &Request<B>, request_id: &str) -> Self {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let parent = traces::remote_parent(header("traceparent"), header("tracestate"));
        // Probes come every few seconds and say nothing about users.
        let decision = if req.uri().path() == "/healthz" {
            Decision::untraced(parent)
        } else {
            traces::decide(parent)
        };
        let trace_id = decision.trace_id().to_string();
        // A request sampled out gets no span, only its trace id on its access line.
        if !decision.keep() {
            return Self {
                span: Span::none(),
                trace_id,
                recording: false,
            };
        }
        let (span, recording) = decision.span(|| {
            info_span!(
                REQUEST_SPAN,
                request_id,
                trace_id = trace_id.as_str(),
                otel.kind = "server"
            )
        });
        Self {
            span,
            trace_id,
            recording,
        }
    }

    /// Describes the span once answered: named after what answered (`GET /config.json`),
    /// with the method, path and status.
    pub fn answered<B, R>(&self, req: &Request<B>, res: &Response<R>) {
        if !self.recording {
            return;
        }
        let route = route(req.uri().path(), res);
        let status = res.status();
        traces::describe(&self.span, |span| {
            span.name(format!("{} {route}", req.method()))
                .attribute("http.request.method", req.method().as_str())
                .attribute("url.path", req.uri().path())
                .attribute("http.route", route)
                .attribute("http.response.status_code", i64::from(status.as_u16()));
            if status.is_server_error() {
                span.error(status.to_string());
            }
        });
    }
}

/// A route pattern of few values, so spans group well: the generated config, the dev
/// channel, the page (`index.html` for `/` and every SPA navigation), or a bundle file.
fn route<R>(path: &str, res: &Response<R>) -> &'static str {
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    match path {
        "/config.json" => "/config.json",
        _ if path.starts_with("/_dev/") => "/_dev/{*rest}",
        _ if html => "/{*page}",
        _ => "/{*asset}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(content_type: &str) -> Response<()> {
        let mut res = Response::new(());
        res.headers_mut()
            .insert(header::CONTENT_TYPE, content_type.parse().expect("a value"));
        res
    }

    #[test]
    fn routes_are_few() {
        let html = typed("text/html; charset=utf-8");
        let js = typed("text/javascript");
        assert_eq!(route("/config.json", &js), "/config.json");
        assert_eq!(route("/_dev/boot-id", &js), "/_dev/{*rest}");
        assert_eq!(route("/", &html), "/{*page}");
        assert_eq!(route("/users/jane", &html), "/{*page}");
        assert_eq!(route("/web-1a2b.wasm", &js), "/{*asset}");
    }
}

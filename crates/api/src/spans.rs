//! The spans of a request, one place for their names and attributes: the request itself
//! (always made: its `request_id` and `trace_id` go on every log line written inside it),
//! and, when traces are exported, its children: the pool wait, each statement, the cache
//! sync, the batched insert. Without an exporter the children are `Span::none()`.

use actix_web::{HttpRequest, dev::ServiceRequest, http::StatusCode};
use deadpool_postgres::{Object, Pool};
use telemetry::traces::TraceContextExt;
use telemetry::{
    REQUEST_SPAN,
    traces::{self, OpenTelemetrySpanExt, Status, UNTRACED_TARGET},
};
use tracing::{Instrument, Span, field::Empty, info_span};

use crate::error::ApiError;

/// A statement, as its span names it.
#[derive(Debug, Clone, Copy)]
pub struct Statement {
    /// `randoms.latest`: which of our statements.
    pub name: &'static str,
    /// `SELECT`, `INSERT`.
    pub operation: &'static str,
}

/// The span a request is served in, and the trace id it is logged under.
pub struct RequestSpan {
    pub span: Span,
    pub trace_id: String,
    /// Whether the span is exported: a span sampled out is not described.
    recording: bool,
}

/// The span `req` is served in, continuing the caller's `traceparent` when exported.
pub fn request(req: &ServiceRequest, request_id: &str) -> RequestSpan {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let parent = traces::remote_parent(header("traceparent"), header("tracestate"));
    // Probes and scrapes come every few seconds and say nothing about users: logged
    // under the same ids, never exported.
    let span = if matches!(req.path(), "/healthz" | "/ready" | "/metrics") {
        info_span!(
            target: UNTRACED_TARGET,
            REQUEST_SPAN,
            request_id,
            trace_id = Empty
        )
    } else {
        info_span!(
            REQUEST_SPAN,
            request_id,
            trace_id = Empty,
            otel.kind = "server",
        )
    };
    let adopted = traces::adopt(&span, parent);
    let trace_id = adopted.trace_id.to_string();
    span.record("trace_id", trace_id.as_str());
    if adopted.recording {
        span.set_attribute("http.request.method", req.method().to_string());
        span.set_attribute("url.path", req.path().to_owned());
    }
    RequestSpan {
        span,
        trace_id,
        recording: adopted.recording,
    }
}

impl RequestSpan {
    /// Names the span after the route that answered `routed` (none when the service
    /// failed), with the status.
    pub fn answered(&self, method: &str, status: StatusCode, routed: Option<&HttpRequest>) {
        if !self.recording {
            return;
        }
        let span = &self.span;
        // Named once the router matched: `GET /randoms/{id}`, or the bare method without a
        // route.
        let name = match routed.and_then(HttpRequest::match_pattern) {
            Some(route) => {
                let name = format!("{method} {route}");
                span.set_attribute("http.route", route);
                name
            }
            None => method.to_owned(),
        };
        span.context().span().update_name(name);
        span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
        if status.is_server_error() {
            span.set_status(Status::error(status_text(status)));
        }
    }
}

fn status_text(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("server error")
        .to_owned()
}

/// A connection from the pool, the wait traced.
pub async fn connection(pool: &Pool) -> Result<Object, ApiError> {
    let span = traces::when_exported(|| info_span!("db.pool.wait", otel.name = "pool wait"));
    Ok(pool.get().instrument(span).await?)
}

/// The span of one statement.
pub fn statement(statement: Statement) -> Span {
    traces::when_exported(|| {
        info_span!(
            "db.statement",
            otel.name = statement.name,
            otel.kind = "client",
            db.system = "postgresql",
            db.operation = statement.operation,
            db.statement.name = statement.name,
        )
    })
}

/// The span of a GET waiting for the cache listener's round trip.
pub fn cache_sync() -> Span {
    traces::when_exported(|| info_span!("cache.sync", otel.name = "cache sync"))
}

/// The span of one batched insert of `rows` rows, a child of the first request's span
/// (`first`), linked from the others'.
pub fn insert_batch<'a>(rows: usize, first: &Span, others: impl Iterator<Item = &'a Span>) -> Span {
    traces::when_exported(|| {
        let batch = info_span!(
            parent: first,
            "randoms.insert_batch",
            otel.name = "insert batch",
            batch.rows = rows,
        );
        for other in others {
            batch.follows_from(other);
        }
        batch
    })
}

/// What a request waiting for a batch hands to it: its current span, when exported.
pub fn current() -> Span {
    traces::when_exported(Span::current)
}

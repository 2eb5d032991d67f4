//! The spans of a request, one place for their names and attributes: the request itself
//! (always made: its `request_id` and `trace_id` go on every log line written inside it),
//! and, when traces are exported, its children: the pool wait, each statement and the
//! cache sync as leaves ([`traces::leaf`], timed until dropped), and the batched insert (a
//! `tracing` span: its statements are its children). Without an exporter none is made.

use std::borrow::Cow;

use actix_web::{HttpRequest, dev::ServiceRequest, http::StatusCode};
use deadpool_postgres::{Object, Pool};
use telemetry::{
    REQUEST_SPAN,
    traces::{self, Decision, Kind, Leaf, Value},
};
use tracing::{Span, info_span};

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
    let decision = if matches!(req.path(), "/healthz" | "/ready" | "/metrics") {
        Decision::untraced(parent)
    } else {
        traces::decide(parent)
    };
    let trace_id = decision.trace_id().to_string();
    let trace_id_field = trace_id.as_str();
    // A request sampled out gets a span only for its log lines: OpenTelemetry never sees it.
    let (span, recording) = if decision.keep() {
        decision.span(|| {
            info_span!(
                REQUEST_SPAN,
                request_id,
                trace_id = trace_id_field,
                otel.kind = "server",
            )
        })
    } else {
        let span = info_span!(
            REQUEST_SPAN,
            request_id,
            trace_id = trace_id_field,
            otel.untraced = true,
        );
        (span, false)
    };
    RequestSpan {
        span,
        trace_id,
        recording,
    }
}

impl RequestSpan {
    /// Describes the span once answered: named after the route that answered `routed`
    /// (none when the service failed), with the method, path and status (all at once: each
    /// description costs a lookup).
    pub fn answered(
        &self,
        method: &str,
        path: &str,
        status: StatusCode,
        routed: Option<&HttpRequest>,
    ) {
        if !self.recording {
            return;
        }
        // A route's name is its pattern (see `routes`); one without a name has it rebuilt.
        let route = routed.and_then(|req| {
            req.match_name()
                .map(Cow::Borrowed)
                .or_else(|| req.match_pattern().map(Cow::Owned))
        });
        traces::describe(&self.span, |span| {
            // Named once the router matched: `GET /randoms/{id}`, or the bare method
            // without a route.
            match route.as_deref() {
                Some(route) => span
                    .name([method, route].join(" "))
                    .attribute("http.route", route),
                None => span.name(method.to_owned()),
            };
            span.attribute("http.request.method", method)
                .attribute("url.path", path)
                .attribute("http.response.status_code", i64::from(status.as_u16()));
            if status.is_server_error() {
                span.error(status_text(status));
            }
        });
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
    let _wait = traces::leaf("pool wait", Kind::Internal, &[]);
    Ok(pool.get().await?)
}

/// The span of one statement, until dropped.
pub fn statement(statement: Statement) -> Leaf {
    traces::leaf(
        statement.name,
        Kind::Client,
        &[
            ("db.system", Value::from("postgresql")),
            ("db.operation", Value::from(statement.operation)),
            ("db.statement.name", Value::from(statement.name)),
        ],
    )
}

/// The span of a GET waiting for the cache listener's round trip, until dropped.
pub fn cache_sync() -> Leaf {
    traces::leaf("cache sync", Kind::Internal, &[])
}

/// The span of one batched insert of `rows` rows, for the `requests` in it (what each
/// handed over, see [`current`]): a child of the first exported one, linked from the other
/// exported ones; none when none is exported.
pub fn insert_batch<'a>(rows: usize, requests: impl IntoIterator<Item = &'a Span>) -> Span {
    let mut exported = requests.into_iter().filter(|span| !span.is_none());
    let Some(first) = exported.next() else {
        return Span::none();
    };
    let batch = info_span!(
        parent: first,
        "randoms.insert_batch",
        otel.name = "insert batch",
        batch.rows = rows,
        otel.status_message = tracing::field::Empty,
    );
    for other in exported {
        batch.follows_from(other);
    }
    batch
}

/// Marks a batch's span failed with `error` (its requests log the cause, each in its own).
pub fn batch_failed(batch: &Span, error: &ApiError) {
    batch.record("otel.status_message", error.for_operators().as_str());
}

/// What a request waiting for a batch hands to it: its current span, when exported, else
/// `Span::none()`.
pub fn current() -> Span {
    traces::when_exported(Span::current)
}

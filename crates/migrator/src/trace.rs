//! The migrator's trace, when traces are exported: one span per run (`migrator up`) with
//! the connect, the lock wait and the migrations as children. It continues `TRACEPARENT`
//! when set, the environment's carrier of W3C trace context: a caller with a trace of its
//! own (a CI job, a deploy pipeline) passes it, and the migration is part of that trace;
//! without one the run starts a trace of its own.

use serde::Deserialize;
use settings::Variable;
use telemetry::traces;
use tracing::{Span, info_span};

pub const TRACEPARENT: Variable = Variable {
    name: "TRACEPARENT",
    default: None,
    meaning: "W3C trace context of a caller with a trace of its own (a CI job, a deploy \
              pipeline): the migration's spans join that trace; unset: a trace of its own",
};

/// [`TRACEPARENT`], as loaded by `settings`.
#[derive(Debug, Deserialize)]
pub struct Carrier {
    traceparent: Option<String>,
}

/// The span of the whole run of `command`.
pub fn run(command: &str, carrier: &Carrier) -> Span {
    let parent = traces::remote_parent(carrier.traceparent.as_deref(), None);
    let (span, _) = traces::decide(parent).span(|| {
        info_span!(
            "migrator.run",
            otel.name = format!("migrator {command}"),
            db.system = "postgresql",
        )
    });
    span
}

/// The span of one step of a run: `connect`, `lock`, `apply`, `revert V2__x`.
pub fn step(name: impl Into<String>) -> Span {
    traces::when_exported(|| info_span!("migrator.step", otel.name = name.into()))
}

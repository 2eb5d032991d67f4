//! Traces: spans made with `tracing`, recorded by [`RecordSpans`] and exported over OTLP
//! (HTTP and protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise nothing is made
//! at all ([`enabled`] is false and callers create no spans), which costs one atomic load.
//!
//! Export is off the request path: a finished span goes into a bounded queue that one
//! thread empties in batches (`export`). A collector that is down or slow makes the queue
//! full or a batch fail; either way spans are dropped and counted ([`dropped_spans`]), and no
//! request waits.

mod export;
mod otlp;
mod record;

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use opentelemetry::{
    Context,
    propagation::{Extractor, TextMapPropagator},
    trace::{SpanContext, SpanKind, TraceContextExt, TraceId},
};
use opentelemetry_sdk::{
    propagation::TraceContextPropagator,
    trace::{IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample},
};
use serde::Deserialize;
use settings::Variable;

pub use export::{dropped_spans, exported_spans};
pub use record::{Attributes, Described, Kind, Leaf, RecordSpans, Value};

pub const OTEL_EXPORTER_OTLP_ENDPOINT: Variable = Variable {
    name: "OTEL_EXPORTER_OTLP_ENDPOINT",
    default: None,
    meaning: "OTLP/HTTP collector to send traces to, e.g. `http://otel-collector:4318` \
              (spans go to `/v1/traces`); unset or empty: no traces",
};

pub const OTEL_SERVICE_NAME: Variable = Variable {
    name: "OTEL_SERVICE_NAME",
    default: None,
    meaning: "`service.name` of the spans (default: the binary's name)",
};

pub const OTEL_TRACES_SAMPLER: Variable = Variable {
    name: "OTEL_TRACES_SAMPLER",
    default: Some("parentbased_always_on"),
    meaning: "`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, \
              `parentbased_always_off` or `parentbased_traceidratio`",
};

pub const OTEL_TRACES_SAMPLER_ARG: Variable = Variable {
    name: "OTEL_TRACES_SAMPLER_ARG",
    default: Some("1.0"),
    meaning: "the ratio of traces kept by the `traceidratio` samplers, 0 to 1",
};

/// What tracing reads: the binaries that trace include it.
pub const VARIABLES: &[Variable] = &[
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_SERVICE_NAME,
    OTEL_TRACES_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG,
];

/// [`VARIABLES`], as loaded by `settings`.
#[derive(Debug, Clone, Deserialize)]
pub struct TraceSettings {
    pub otel_exporter_otlp_endpoint: Option<String>,
    pub otel_service_name: Option<String>,
    pub otel_traces_sampler: String,
    pub otel_traces_sampler_arg: String,
}

/// A setting tracing cannot use, naming its variable.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{variable}: {reason}")]
    Invalid {
        variable: &'static str,
        reason: String,
    },
    #[error("starting the span export thread: {0}")]
    Thread(std::io::Error),
}

fn invalid(variable: &Variable, reason: impl Into<String>) -> TraceError {
    TraceError::Invalid {
        variable: variable.name,
        reason: reason.into(),
    }
}

/// The field that marks a span logged but never exported (a probe's, or a request's that
/// was sampled out): `info_span!("request", …, otel.untraced = true)`. A field rather than
/// a target, so that `RUST_LOG` treats such spans as any other of their crate; `otel.*`
/// fields are not shown in log lines.
pub const UNTRACED_FIELD: &str = "otel.untraced";

/// Whether spans of `meta` are never exported ([`UNTRACED_FIELD`]).
pub fn is_untraced(meta: &tracing::Metadata<'_>) -> bool {
    meta.fields().field(UNTRACED_FIELD).is_some()
}

/// Whether spans are being exported (set once, by [`Traces::start`]).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether to make spans at all: false unless this process exports them.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// `make()` inside an exported span, else `Span::none()`: the spans that only traces need
/// (a statement's, a step's) cost nothing and change no log line without an exporter, nor
/// inside a request that was sampled out (they would be exported as traces of their own).
pub fn when_exported(make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    if enabled() && inside_exported_span() {
        make()
    } else {
        tracing::Span::none()
    }
}

/// A span for a leaf of the work (a wait, a statement): a child of the current span when
/// that is exported, timed from now until the [`Leaf`] is dropped; nothing otherwise.
/// Lines logged meanwhile carry the current span's context. It costs a fraction of a
/// `tracing` span, which the log layers and filters each see made, entered and left on
/// every poll.
pub fn leaf(name: &'static str, kind: Kind, attributes: &Attributes<'_>) -> Leaf {
    if enabled() {
        record::leaf(name, kind, attributes)
    } else {
        Leaf::none()
    }
}

/// Whether the current span is one that traces export.
fn inside_exported_span() -> bool {
    tracing::dispatcher::get_default(|dispatch| {
        dispatch
            .current_span()
            .metadata()
            .is_some_and(|meta| !is_untraced(meta))
    })
}

/// The sampler in force once [`Traces::start`] ran (once per process): [`decide`] asks it
/// before a span is made.
static SAMPLER: OnceLock<Sampler> = OnceLock::new();

/// A trace decided before its span is made: a span sampled out is not recorded at all.
#[derive(Debug, Clone)]
pub struct Decision {
    trace_id: TraceId,
    keep: bool,
    parent: Option<SpanContext>,
}

/// Decides whether a span continuing the caller's `parent` (from [`remote_parent`]) is
/// exported, and the trace id its work is logged under: the caller's, else a fresh one.
pub fn decide(parent: Option<SpanContext>) -> Decision {
    let mut decision = Decision::untraced(parent);
    decision.keep = enabled()
        && SAMPLER.get().is_some_and(|sampler| {
            let cx = decision
                .parent
                .as_ref()
                .map(|p| Context::new().with_remote_span_context(p.clone()));
            let asked = sampler.should_sample(
                cx.as_ref(),
                decision.trace_id,
                "",
                &SpanKind::Server,
                &[],
                &[],
            );
            asked.decision == SamplingDecision::RecordAndSample
        });
    decision
}

impl Decision {
    /// Decided not to export, whatever the sampler says (probes).
    pub fn untraced(parent: Option<SpanContext>) -> Self {
        Self {
            trace_id: parent.as_ref().map_or_else(
                || RandomIdGenerator::default().new_trace_id(),
                SpanContext::trace_id,
            ),
            keep: false,
            parent,
        }
    }

    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// Whether the span is to be exported: make it (with an exported target) only then.
    pub fn keep(&self) -> bool {
        self.keep
    }

    /// Makes the decided trace's span with `make`, when the decision is to export it: the
    /// caller's child, or a root with the decided trace id. Returns it and whether it is
    /// exported (not when `RUST_LOG` filters it out); `(Span::none(), false)` when not kept.
    pub fn span(&self, make: impl FnOnce() -> tracing::Span) -> (tracing::Span, bool) {
        if !self.keep {
            return (tracing::Span::none(), false);
        }
        let parent = self.parent.as_ref().map(SpanContext::span_id);
        record::root(self.trace_id, parent, make)
    }
}

/// Describes an exported `span` (names it, adds attributes, marks it failed) once it is
/// made, with what was not known then; a span not exported is left alone.
pub fn describe(span: &tracing::Span, describe: impl FnOnce(&mut Described<'_>)) {
    if enabled() {
        record::describe(span, describe);
    }
}

/// How long the spans still queued at exit may take to leave.
const EXIT_FLUSH: Duration = Duration::from_secs(3);

/// A process's trace export. Keep it until exit: dropping it sends what is still queued,
/// for a bounded time.
#[derive(Debug)]
pub struct Traces {
    export: export::Exporting,
}

/// Tracing off, with the declared defaults.
impl Default for TraceSettings {
    fn default() -> Self {
        let default = |v: Variable| v.default.unwrap_or_default().to_owned();
        Self {
            otel_exporter_otlp_endpoint: None,
            otel_service_name: None,
            otel_traces_sampler: default(OTEL_TRACES_SAMPLER),
            otel_traces_sampler_arg: default(OTEL_TRACES_SAMPLER_ARG),
        }
    }
}

impl TraceSettings {
    /// The checked endpoint's `/v1/traces` URL; None when tracing is off.
    pub fn traces_url(&self) -> Result<Option<String>, TraceError> {
        let Some(endpoint) = self
            .otel_exporter_otlp_endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        else {
            return Ok(None);
        };
        if endpoint.starts_with("https://") {
            return Err(invalid(
                &OTEL_EXPORTER_OTLP_ENDPOINT,
                "https is not supported: send to a collector or node agent over http (OTLP/HTTP \
                 listens on :4318)",
            ));
        }
        let Some(rest) = endpoint.strip_prefix("http://").filter(|r| !r.is_empty()) else {
            return Err(invalid(
                &OTEL_EXPORTER_OTLP_ENDPOINT,
                format!("{endpoint:?} is not a URL like http://otel-collector:4318"),
            ));
        };
        if rest.contains(char::is_whitespace) {
            return Err(invalid(&OTEL_EXPORTER_OTLP_ENDPOINT, "contains a space"));
        }
        Ok(Some(format!(
            "{}/v1/traces",
            endpoint.trim_end_matches('/')
        )))
    }

    /// `OTEL_TRACES_SAMPLER` with its argument, as the OpenTelemetry specification names them.
    pub fn sampler(&self) -> Result<Sampler, TraceError> {
        let ratio = || {
            let arg = self.otel_traces_sampler_arg.trim();
            arg.parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    invalid(
                        &OTEL_TRACES_SAMPLER_ARG,
                        format!("{arg:?} is not a ratio from 0 to 1"),
                    )
                })
        };
        let parent_based = |root| Sampler::ParentBased(Box::new(root));
        Ok(match self.otel_traces_sampler.trim() {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
            "parentbased_always_on" => parent_based(Sampler::AlwaysOn),
            "parentbased_always_off" => parent_based(Sampler::AlwaysOff),
            "parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio()?)),
            other => {
                return Err(invalid(
                    &OTEL_TRACES_SAMPLER,
                    format!("{other:?} is not one of {}", OTEL_TRACES_SAMPLER.meaning),
                ));
            }
        })
    }
}

impl Traces {
    /// Checks the settings and, when an endpoint is set, starts exporting, as `service`
    /// unless `OTEL_SERVICE_NAME` says otherwise. [`Traces::layer`] goes to
    /// [`crate::Logs::start`].
    pub fn start(settings: &TraceSettings, service: &str) -> Result<Option<Self>, TraceError> {
        let sampler = settings.sampler()?;
        let Some(url) = settings.traces_url()? else {
            return Ok(None);
        };
        let name = settings
            .otel_service_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| service.to_owned());
        let export = export::Exporting::start(url, name).map_err(TraceError::Thread)?;
        let _ = SAMPLER.set(sampler);
        ENABLED.store(true, Ordering::Relaxed);
        Ok(Some(Self { export }))
    }

    /// The layer that records the spans this exports.
    pub fn layer(&self) -> RecordSpans {
        RecordSpans {
            export: self.export.shared.clone(),
        }
    }
}

impl Drop for Traces {
    fn drop(&mut self) {
        ENABLED.store(false, Ordering::Relaxed);
        self.export.shutdown(EXIT_FLUSH);
    }
}

/// The caller's span from W3C `traceparent` and `tracestate` headers; None when absent or
/// malformed (a new trace starts).
pub fn remote_parent(traceparent: Option<&str>, tracestate: Option<&str>) -> Option<SpanContext> {
    // Most requests have none: skip the propagator.
    traceparent?;
    struct Headers<'a>([Option<&'a str>; 2]);
    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            match key {
                "traceparent" => self.0[0],
                "tracestate" => self.0[1],
                _ => None,
            }
        }
        fn keys(&self) -> Vec<&str> {
            vec!["traceparent", "tracestate"]
        }
    }
    let cx = TraceContextPropagator::new().extract(&Headers([traceparent, tracestate]));
    let parent = cx.span().span_context().clone();
    parent.is_valid().then_some(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: &[(&str, &str)]) -> TraceSettings {
        settings::load_from(VARIABLES, env).expect("loads")
    }

    #[test]
    fn no_endpoint_means_no_traces() {
        assert_eq!(settings(&[]).traces_url().expect("valid"), None);
        let empty = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]);
        assert_eq!(empty.traces_url().expect("valid"), None);
    }

    #[test]
    fn the_endpoint_is_a_base_url_for_v1_traces() {
        for endpoint in ["http://collector:4318", "http://collector:4318/"] {
            let set = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)]);
            assert_eq!(
                set.traces_url().expect("valid").as_deref(),
                Some("http://collector:4318/v1/traces")
            );
        }
    }

    #[test]
    fn a_bad_setting_names_its_variable() {
        for (variable, value) in [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
        ] {
            let set = settings(&[(variable, value)]);
            let err = set
                .traces_url()
                .and_then(|_| set.sampler())
                .expect_err(value)
                .to_string();
            assert!(err.starts_with(&format!("{variable}: ")), "{err}");
        }
        for arg in ["2", "-0.1", "half"] {
            let set = settings(&[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", arg),
            ]);
            let err = set.sampler().expect_err(arg).to_string();
            assert!(err.starts_with("OTEL_TRACES_SAMPLER_ARG: "), "{err}");
        }
    }

    #[test]
    fn every_sampler_of_the_specification_is_known() {
        for name in [
            "always_on",
            "always_off",
            "traceidratio",
            "parentbased_always_on",
            "parentbased_always_off",
            "parentbased_traceidratio",
        ] {
            let set = settings(&[("OTEL_TRACES_SAMPLER", name)]);
            assert!(set.sampler().is_ok(), "{name}");
        }
    }

    /// What prod relies on: with `traceidratio` the decision is the trace id's alone, so the
    /// static server and the API keep or drop the same user action, whatever the page's
    /// `traceparent` flags say (a parent-based sampler would keep all it marks sampled).
    #[test]
    fn a_trace_id_ratio_decides_by_the_trace_id_alone() {
        use opentelemetry::{
            Context,
            trace::{SpanKind, TraceFlags, TraceState},
        };
        use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};

        let ratio = settings(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ]);
        let (web, api) = (
            ratio.sampler().expect("valid"),
            ratio.sampler().expect("valid"),
        );
        let ids = RandomIdGenerator::default();
        let mut kept = 0;
        for _ in 0..200 {
            let trace_id = ids.new_trace_id();
            let page = SpanContext::new(
                trace_id,
                ids.new_span_id(),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            );
            let parent = Context::new().with_remote_span_context(page);
            let decide = |sampler: &Sampler| {
                sampler
                    .should_sample(Some(&parent), trace_id, "GET", &SpanKind::Server, &[], &[])
                    .decision
            };
            let decision = decide(&web);
            assert_eq!(decision, decide(&api), "{trace_id}");
            kept += usize::from(decision == SamplingDecision::RecordAndSample);
        }
        assert!(
            (40..160).contains(&kept),
            "about half kept, not {kept} of 200"
        );
    }

    #[test]
    fn a_callers_traceparent_is_continued_and_a_bad_one_ignored() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parent = remote_parent(Some(header), None).expect("valid");
        assert_eq!(
            parent.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(parent.is_remote() && parent.is_sampled());
        for bad in [
            "",
            "00-zz-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            assert!(remote_parent(Some(bad), None).is_none(), "{bad}");
        }
    }
}

//! The layer that records exported spans: a [`Recorded`] in the span's extensions from
//! its start to its close, then encoded and queued for the export thread. A span is
//! recorded when it is a decided root ([`super::Decision::span`]) or the child of a
//! recorded span; no other span costs more than a look at its parent. A [`Leaf`] is
//! recorded without a `tracing` span at all, timed from its start to its drop.
//!
//! This replaces `tracing-opentelemetry` and the SDK's span machinery, which cost a traced
//! cached GET a third of its throughput: per span, a builder, an SDK span, `SpanData`, and
//! a conversion of each into OTLP's messages; here a span is one record of what OTLP needs,
//! encoded straight to protobuf as it closes ([`super::otlp`]).

use std::{borrow::Cow, cell::Cell, fmt, sync::Arc, time::SystemTime};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use tracing::{
    Event, Level, Metadata, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{Layer, Registry, layer::Context, registry::LookupSpan};

use super::{export::Shared, is_untraced, otlp};

/// What OTLP calls a span's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

impl Kind {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "internal" => Self::Internal,
            "server" => Self::Server,
            "client" => Self::Client,
            "producer" => Self::Producer,
            "consumer" => Self::Consumer,
            _ => return None,
        })
    }
}

/// An attribute's value, encoded as it is added: a borrowed string is not copied.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(value: &'a str) -> Self {
        Self::Str(value)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(value: &'a String) -> Self {
        Self::Str(value)
    }
}

impl From<i64> for Value<'_> {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<bool> for Value<'_> {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// Attributes for [`super::leaf`].
pub type Attributes<'a> = [(&'static str, Value<'a>)];

/// A log event inside a recorded span, exported as a span event.
#[derive(Debug)]
pub(crate) struct SpanEvent {
    pub time: SystemTime,
    pub name: String,
    /// Its attributes, encoded ([`otlp::event_attribute`]).
    pub attributes: Vec<u8>,
}

/// An exported span, as OTLP describes it.
#[derive(Debug)]
pub(crate) struct Recorded {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The caller's span for a root continuing a `traceparent`; none for a trace's root.
    pub parent: Option<SpanId>,
    pub name: Cow<'static, str>,
    pub kind: Kind,
    pub start: SystemTime,
    pub end: SystemTime,
    /// Its attributes, encoded as they are added ([`Recorded::attribute`]): one buffer,
    /// no copy of each key and value kept until the span closes.
    pub attributes: Vec<u8>,
    pub events: Vec<SpanEvent>,
    /// Spans this one follows from (a batch, from the requests it serves).
    pub links: Vec<(TraceId, SpanId)>,
    /// The error status's message; none when the span did not fail.
    pub error: Option<String>,
}

impl Recorded {
    /// A span of `trace_id` starting now, with a fresh span id.
    pub(crate) fn start(
        trace_id: TraceId,
        parent: Option<SpanId>,
        name: &'static str,
        kind: Kind,
        attributes: Vec<u8>,
    ) -> Self {
        let start = now();
        Self {
            trace_id,
            span_id: RandomIdGenerator::default().new_span_id(),
            parent,
            name: Cow::Borrowed(name),
            kind,
            start,
            end: start,
            attributes,
            events: Vec::new(),
            links: Vec::new(),
            error: None,
        }
    }

    pub(crate) fn attribute(&mut self, key: &str, value: &Value<'_>) {
        otlp::span_attribute(key, value, &mut self.attributes);
    }
}

thread_local! {
    /// The trace the next recorded span on this thread starts, and the caller's span it
    /// continues: set by [`super::Decision::span`] around making its span.
    static DECIDED: Cell<Option<(TraceId, Option<SpanId>)>> = const { Cell::new(None) };
}

/// Makes the span `make` makes a root of trace `trace_id` (the child of the caller's
/// `parent`); returns it and whether it is recorded (not when `RUST_LOG` filters it out).
pub(crate) fn root(
    trace_id: TraceId,
    parent: Option<SpanId>,
    make: impl FnOnce() -> tracing::Span,
) -> (tracing::Span, bool) {
    DECIDED.set(Some((trace_id, parent)));
    let span = make();
    // Still there: no recorded span took it.
    let recorded = DECIDED.take().is_none();
    (span, recorded)
}

/// Describes the recorded `span` with `describe`; does nothing for a span not recorded.
pub(crate) fn describe(span: &tracing::Span, describe: impl FnOnce(&mut Described<'_>)) {
    span.with_subscriber(|(id, dispatch)| {
        let Some(registry) = dispatch.downcast_ref::<Registry>() else {
            return;
        };
        let Some(span) = registry.span(id) else {
            return;
        };
        if let Some(recorded) = span.extensions_mut().get_mut::<Recorded>() {
            describe(&mut Described(recorded));
        }
    });
}

/// A span timed by hand from [`super::leaf`] to its drop, not a `tracing` span: no
/// registry entry, no log state, nothing per poll. Empty when not inside a recorded span.
#[must_use = "the span ends when this is dropped"]
#[derive(Debug)]
pub struct Leaf(Option<Recorded>);

/// `f` of the current dispatcher's recording layer, if it has one.
fn with_layer<T>(f: impl FnOnce(&RecordSpans) -> T) -> Option<T> {
    let mut f = Some(f);
    tracing::dispatcher::get_default(|dispatch| Some(f.take()?(dispatch.downcast_ref()?)))
}

/// A leaf under the current span, when that is recorded.
pub(crate) fn leaf(name: &'static str, kind: Kind, attributes: &Attributes<'_>) -> Leaf {
    let parent = tracing::dispatcher::get_default(|dispatch| {
        let current = dispatch.current_span();
        // A request sampled out says so in its metadata: no lookup.
        if current.metadata().is_none_or(is_untraced) {
            return None;
        }
        let registry = dispatch.downcast_ref::<Registry>()?;
        let span = registry.span(current.id()?)?;
        let extensions = span.extensions();
        let parent = extensions.get::<Recorded>()?;
        Some((parent.trace_id, parent.span_id))
    });
    let Some((trace_id, parent)) = parent else {
        return Leaf(None);
    };
    let room = attributes.len() * ATTRIBUTE;
    let mut recorded =
        Recorded::start(trace_id, Some(parent), name, kind, Vec::with_capacity(room));
    for (key, value) in attributes {
        recorded.attribute(key, value);
    }
    Leaf(Some(recorded))
}

impl Leaf {
    /// No span.
    pub fn none() -> Self {
        Self(None)
    }
}

/// Ends the span and queues it with the recording layer it was made under (found again
/// rather than held: a reference held by every leaf would be one counter that every
/// request thread writes twice per leaf).
impl Drop for Leaf {
    fn drop(&mut self) {
        if let Some(mut recorded) = self.0.take() {
            recorded.end = now();
            if with_layer(|layer| layer.export.push(&recorded)).is_none() {
                super::export::count_dropped(1);
            }
        }
    }
}

/// What a recorded span can be told once made (see [`super::describe`]).
pub struct Described<'a>(&'a mut Recorded);

impl Described<'_> {
    /// Renames the span (`GET /randoms`, once the route is known).
    pub fn name(&mut self, name: impl Into<Cow<'static, str>>) -> &mut Self {
        self.0.name = name.into();
        self
    }

    pub fn attribute<'v>(&mut self, key: &'static str, value: impl Into<Value<'v>>) -> &mut Self {
        self.0.attribute(key, &value.into());
        self
    }

    /// Marks the span failed, with `message`.
    pub fn error(&mut self, message: impl Into<String>) -> &mut Self {
        self.0.error = Some(message.into());
        self
    }
}

/// The layer; see the module's documentation.
#[derive(Debug, Clone)]
pub struct RecordSpans {
    pub(crate) export: Arc<Shared>,
}

/// Spans never recorded: those marked untraced, and the HTTP client's that sends them (it
/// would make spans to send).
fn recordable(meta: &Metadata<'_>) -> bool {
    const EXPORTER: &[&str] = &["ureq", "hyper", "h2"];
    !is_untraced(meta)
        && !EXPORTER
            .iter()
            .any(|crate_| meta.target().starts_with(crate_))
}

/// Bytes an attribute takes, encoded, about: room is made for a span's attributes at once.
const ATTRIBUTE: usize = 48;

/// Room for the encoded attributes of a span of `meta`: its fields but `otel.*`, and what
/// [`describe`] adds to a server or client span (those with an `otel.kind`). A span without
/// attributes, as most are, allocates none.
fn room(meta: &Metadata<'_>) -> usize {
    let mut room = 0;
    for field in meta.fields() {
        room += match field.name() {
            "otel.kind" => 6,
            name if name.starts_with("otel.") => 0,
            _ => 1,
        };
    }
    room * ATTRIBUTE
}

fn now() -> SystemTime {
    SystemTime::now()
}

impl<S> Layer<S> for RecordSpans
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if !recordable(meta) {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let (trace_id, parent) = match DECIDED.take() {
            Some(root) => root,
            None => {
                let Some(parent) = span.parent() else {
                    return;
                };
                let extensions = parent.extensions();
                let Some(parent) = extensions.get::<Recorded>() else {
                    return;
                };
                (parent.trace_id, Some(parent.span_id))
            }
        };
        let mut recorded = Recorded::start(
            trace_id,
            parent,
            meta.name(),
            Kind::Internal,
            Vec::with_capacity(room(meta)),
        );
        attrs.record(&mut Values(|field: &Field, value: Value<'_>| {
            span_field(&mut recorded, field, value);
        }));
        span.extensions_mut().insert(recorded);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(recorded) = span.extensions_mut().get_mut::<Recorded>()
        {
            values.record(&mut Values(|field: &Field, value: Value<'_>| {
                span_field(recorded, field, value);
            }));
        }
    }

    fn on_follows_from(&self, id: &span::Id, follows: &span::Id, ctx: Context<'_, S>) {
        let Some(follows) = ctx.span(follows) else {
            return;
        };
        let Some(link) = follows
            .extensions()
            .get::<Recorded>()
            .map(|f| (f.trace_id, f.span_id))
        else {
            return;
        };
        if let Some(span) = ctx.span(id)
            && let Some(recorded) = span.extensions_mut().get_mut::<Recorded>()
        {
            recorded.links.push(link);
        }
    }

    /// A log line written inside a recorded span becomes one of its events; an error
    /// marks the span failed.
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        let Some(recorded) = extensions.get_mut::<Recorded>() else {
            return;
        };
        let fields = EventFields::of(event);
        if *event.metadata().level() == Level::ERROR && recorded.error.is_none() {
            recorded.error = Some(fields.message.clone());
        }
        recorded.events.push(SpanEvent {
            time: now(),
            name: fields.message,
            attributes: fields.attributes,
        });
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        // Encoded where it is: the registry drops it as it frees the span.
        if let Some(recorded) = span.extensions_mut().get_mut::<Recorded>() {
            recorded.end = now();
            self.export.push(recorded);
        }
    }
}

/// Each field as a [`Value`], to `F`.
struct Values<F>(F);

impl<F: FnMut(&Field, Value<'_>)> Visit for Values<F> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0(field, Value::Str(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0(field, Value::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.0(field, Value::Int(value)),
            Err(_) => self.0(field, Value::Str(&value.to_string())),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0(field, Value::Float(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0(field, Value::Bool(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0(field, Value::Str(&format!("{value:?}")));
    }
}

/// A span's field: `otel.name`, `otel.kind` and `otel.status_message` say what OTLP calls
/// them; the others are attributes, but `trace_id` (the span's own) and the other `otel.*`
/// fields.
fn span_field(span: &mut Recorded, field: &Field, value: Value<'_>) {
    match (field.name(), value) {
        ("otel.name", Value::Str(name)) => span.name = Cow::Owned(name.to_owned()),
        ("otel.kind", Value::Str(kind)) => span.kind = Kind::named(kind).unwrap_or(span.kind),
        ("otel.status_message", Value::Str(message)) => span.error = Some(message.to_owned()),
        ("trace_id", _) => {}
        (name, _) if name.starts_with("otel.") => {}
        (name, value) => span.attribute(name, &value),
    }
}

/// An event's message and other fields (encoded).
#[derive(Default)]
struct EventFields {
    message: String,
    attributes: Vec<u8>,
}

impl EventFields {
    fn of(event: &Event<'_>) -> Self {
        let mut fields = Self::default();
        event.record(&mut Values(|field: &Field, value: Value<'_>| {
            match (field.name(), value) {
                ("message", Value::Str(message)) => message.clone_into(&mut fields.message),
                (name, value) => otlp::event_attribute(name, &value, &mut fields.attributes),
            }
        }));
        fields
    }
}

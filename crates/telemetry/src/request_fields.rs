//! Every line logged while a request is served says which request and which trace: the
//! servers run each request in a [`REQUEST_SPAN`] with `request_id` and `trace_id` fields.
//! Text lines show them as the span's context (`request{request_id=… trace_id=…}:`), minus
//! the `otel.*` fields that only name the span for OpenTelemetry; JSON lines get them as
//! top-level keys ([`WithRequest`]).

use std::fmt;

use tracing::{Event, Subscriber, field::Field};
use tracing_subscriber::{
    field::{MakeVisitor, Visit, VisitFmt, VisitOutput},
    fmt::{
        FmtContext, FormatEvent, FormatFields, FormattedFields,
        format::{DefaultFields, Writer},
    },
    registry::LookupSpan,
};

/// The name of the span a server serves each request in.
pub const REQUEST_SPAN: &str = "request";

/// The fields of the request span that JSON lines repeat.
const REPEATED: &[&str] = &["request_id", "trace_id"];

/// Text fields as tracing-subscriber writes them, without `otel.*`.
pub(crate) fn text_fields() -> WithoutOtel {
    WithoutOtel(DefaultFields::new())
}

pub(crate) struct WithoutOtel(DefaultFields);

impl<'a> MakeVisitor<Writer<'a>> for WithoutOtel {
    type Visitor = SkipOtel<<DefaultFields as MakeVisitor<Writer<'a>>>::Visitor>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        SkipOtel(self.0.make_visitor(target))
    }
}

pub(crate) struct SkipOtel<V>(V);

fn shown(field: &Field) -> bool {
    !field.name().starts_with("otel.")
}

impl<V: Visit> Visit for SkipOtel<V> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if shown(field) {
            self.0.record_debug(field, value);
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if shown(field) {
            self.0.record_str(field, value);
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if shown(field) {
            self.0.record_error(field, value);
        }
    }
}

impl<V: VisitFmt> VisitFmt for SkipOtel<V> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        self.0.writer()
    }
}

impl<V: VisitOutput<fmt::Result>> VisitOutput<fmt::Result> for SkipOtel<V> {
    fn finish(self) -> fmt::Result {
        self.0.finish()
    }
}

/// A JSON event formatter that adds the request span's ids to each line inside one.
pub(crate) struct WithRequest<F> {
    inner: F,
}

impl<F> WithRequest<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithRequest<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(ids) = request_ids::<S, N>(ctx) else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        // `{…}\n` becomes `{…,"request_id":…,"trace_id":…}\n`.
        match line.trim_end().strip_suffix('}') {
            Some(object) => {
                writer.write_str(object)?;
                writer.write_str(&ids)?;
                writer.write_str("}\n")
            }
            None => writer.write_str(&line),
        }
    }
}

/// `,"request_id":…,"trace_id":…` from the request span around the event, if any: its
/// fields as the JSON formatter stored them.
fn request_ids<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let scope = ctx.event_scope()?;
    let span = scope.from_root().find(|span| span.name() == REQUEST_SPAN)?;
    let extensions = span.extensions();
    let fields = extensions.get::<FormattedFields<N>>()?;
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(fields.as_str()).ok()?;
    let mut ids = String::new();
    for (key, value) in REPEATED
        .iter()
        .filter_map(|&key| Some((key, fields.get(key)?)))
    {
        ids.push_str(&format!(",{key:?}:{value}"));
    }
    (!ids.is_empty()).then_some(ids)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, atomic::AtomicBool};

    use tracing_subscriber::EnvFilter;

    use crate::{LogFormat, logs::subscriber, sink::Shared};

    use super::REQUEST_SPAN;

    fn lines(format: LogFormat) -> String {
        let out = Shared::default();
        let shown = Arc::new(AtomicBool::new(false));
        let writer = out.clone();
        let subscriber = subscriber(
            format,
            EnvFilter::new("info"),
            move || writer.clone(),
            false,
            shown,
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                REQUEST_SPAN,
                request_id = "r-1",
                trace_id = tracing::field::Empty,
                otel.name = "GET /x"
            );
            span.record("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
            let _in = span.enter();
            let statement = tracing::info_span!("db", otel.name = "SELECT");
            let _in = statement.enter();
            tracing::warn!(reason = "slow", "a warning");
        });
        out.text()
    }

    #[test]
    fn a_json_line_inside_a_request_carries_its_ids() {
        let text = lines(LogFormat::Json);
        let line: serde_json::Value = serde_json::from_str(text.trim()).expect(&text);
        assert_eq!(line["request_id"], "r-1", "{text}");
        assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(line["reason"], "slow");
        assert_eq!(line["message"], "a warning");
    }

    #[test]
    fn a_text_line_inside_a_request_names_it_without_the_otel_fields() {
        let text = lines(LogFormat::Text);
        assert!(
            text.contains(
                "request{request_id=\"r-1\" trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"}:db:"
            ),
            "{text}"
        );
        assert!(!text.contains("otel."), "{text}");
    }
}

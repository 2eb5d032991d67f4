//! Every line logged while a request is served says which request and which trace: the
//! servers run each request in a [`REQUEST_SPAN`] with `request_id` and `trace_id` fields.
//! Text lines show them as the span's context (`request{request_id=… trace_id=…}:`), minus
//! the `otel.*` fields that only name the span for OpenTelemetry; JSON lines get them as
//! top-level keys ([`JsonIds`]).

use std::fmt;

use tracing::{Subscriber, field::Field, span};
use tracing_subscriber::{
    field::{MakeVisitor, RecordFields, Visit, VisitFmt, VisitOutput},
    fmt::{
        FmtContext, FormatFields, FormattedFields,
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

/// JSON lines' span fields: only the request span's ids, kept as the JSON fragment
/// `,"request_id":"…","trace_id":"…"` that [`crate::lines::Lines`] appends to each line
/// inside the span. JSON lines show no other span field, so nothing else is formatted, and
/// nothing is parsed back.
pub(crate) struct JsonIds;

impl<'w> FormatFields<'w> for JsonIds {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut ids = Ids {
            writer: &mut writer,
            result: Ok(()),
        };
        fields.record(&mut ids);
        ids.result
    }

    /// Appended as they are recorded: a field given later, with `Span::record`.
    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &span::Record<'_>,
    ) -> fmt::Result {
        self.format_fields(current.as_writer(), fields)
    }
}

struct Ids<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl Visit for Ids<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_ok() && REPEATED.contains(&field.name()) {
            self.result = serde_json::to_string(value)
                .map_err(|_| fmt::Error)
                .and_then(|value| write!(self.writer, ",\"{}\":{value}", field.name()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if REPEATED.contains(&field.name()) {
            self.record_str(field, &format!("{value:?}"));
        }
    }
}

/// `,"request_id":…,"trace_id":…` of the request span around the event, if any.
pub(crate) fn request_ids<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let scope = ctx.event_scope()?;
    let span = scope.from_root().find(|span| span.name() == REQUEST_SPAN)?;
    let extensions = span.extensions();
    let ids = extensions.get::<FormattedFields<JsonIds>>()?;
    (!ids.is_empty()).then(|| ids.as_str().to_owned())
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

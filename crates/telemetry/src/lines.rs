//! The one event formatter of the project's subscriber, around tracing-subscriber's own:
//! a client's error becomes a DEBUG line or none ([`client_errors`]), and a JSON line
//! written inside a request gets the request's ids as top-level keys ([`request_fields`]).

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tracing::{Event, Subscriber};
use tracing_subscriber::{
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    registry::LookupSpan,
};

use crate::{LogFormat, client_errors, request_fields};

pub(crate) struct Lines<F> {
    inner: F,
    format: LogFormat,
    /// Whether `RUST_LOG` enables the demoted lines; decided once the subscriber is set.
    shown: Arc<AtomicBool>,
}

impl<F> Lines<F> {
    pub(crate) fn new(inner: F, format: LogFormat, shown: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            format,
            shown,
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for Lines<F>
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
        if let Some(message) = client_errors::client_error(event) {
            if !self.shown.load(Ordering::Relaxed) {
                // Nothing written: the subscriber writes no line.
                return Ok(());
            }
            return writer.write_str(&client_errors::demoted_line(self.format, &message));
        }
        // Only JSON lines' request spans hold their ids as a fragment (text lines show them
        // as the span's context).
        let Some(ids) = request_fields::request_ids(ctx) else {
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

//! Errors that are a client's fault, logged by libraries at ERROR, written at DEBUG under
//! [`CLIENT_ERROR_TARGET`] instead: actix-http logs every malformed request, timed-out head
//! or reset connection as `ERROR actix_http::h1::dispatcher: stream error: …`, so any
//! client could fill the log with errors that say nothing about the server.
//!
//! Done in the event formatter ([`crate::lines::Lines`]), so no event is dispatched from
//! inside the subscriber and per-layer filtering stays out of it: such an event is written as a DEBUG line when
//! `RUST_LOG` enables DEBUG for [`CLIENT_ERROR_TARGET`], else not at all. The dispatcher's
//! other errors (a response body of ours that failed, say) stay ERROR.

use std::{
    fmt,
    sync::atomic::{AtomicBool, Ordering},
};

use tracing::{Event, Level, field::Field};
use tracing_subscriber::field::Visit;

use crate::{LogFormat, access};

/// The target of the demoted lines: `RUST_LOG=info,client_error=debug` shows them.
pub const CLIENT_ERROR_TARGET: &str = "client_error";

/// (target, message prefix) of the events that are a client's fault.
const DEMOTED: &[(&str, &str)] = &[("actix_http::h1::dispatcher", "stream error: ")];

/// Run with the subscriber that holds `shown` as the current one.
pub(crate) fn decide(shown: &AtomicBool) {
    let enabled = tracing::enabled!(target: CLIENT_ERROR_TARGET, Level::DEBUG);
    shown.store(enabled, Ordering::Relaxed);
}

/// The DEBUG line that stands for a demoted `message`.
pub(crate) fn demoted_line(format: LogFormat, message: &str) -> String {
    let mut line = String::new();
    access::format_message(
        format,
        access::Level::Debug,
        CLIENT_ERROR_TARGET,
        message,
        &mut line,
    );
    line
}

/// The message of an event that is a client's fault.
pub(crate) fn client_error(event: &Event<'_>) -> Option<String> {
    let meta = event.metadata();
    if *meta.level() != Level::ERROR {
        return None;
    }
    let &(_, prefix) = DEMOTED.iter().find(|(t, _)| *t == meta.target())?;
    let mut message = Message(None);
    event.record(&mut message);
    message.0.filter(|m| m.starts_with(prefix))
}

struct Message(Option<String>);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::sink::Shared;

    /// What [`crate::logs::subscriber`] writes, with `filter`, for the events
    /// `emit` sends.
    fn written(format: LogFormat, filter: &str, emit: impl FnOnce()) -> String {
        let out = Shared::default();
        let shown = Arc::new(AtomicBool::new(false));
        let writer = out.clone();
        let subscriber = crate::logs::subscriber(
            format,
            tracing_subscriber::EnvFilter::new(filter),
            move || writer.clone(),
            false,
            shown.clone(),
        );
        tracing::subscriber::with_default(subscriber, || {
            decide(&shown);
            emit();
        });
        out.text()
    }

    fn actix_events() {
        let err = "Request parse error: Invalid Header provided";
        tracing::error!(target: "actix_http::h1::dispatcher", "stream error: {}", err);
        tracing::error!(target: "actix_http::h1::dispatcher", "Response payload stream error: boom");
        tracing::error!(target: "elsewhere", "stream error: ours");
    }

    #[test]
    fn stream_errors_are_hidden_unless_debug_is_enabled_for_them() {
        for filter in ["warn", "info", "debug,client_error=info"] {
            let out = written(LogFormat::Json, filter, actix_events);
            assert!(!out.contains("Invalid Header"), "{filter}: {out}");
            assert!(
                out.contains("Response payload stream error"),
                "{filter}: {out}"
            );
            assert!(out.contains("stream error: ours"), "{filter}: {out}");
            assert_eq!(out.lines().count(), 2, "{filter}: {out}");
        }
    }

    #[test]
    fn with_debug_they_are_debug_lines_under_our_target() {
        for filter in ["debug", "info,client_error=debug"] {
            let out = written(LogFormat::Json, filter, actix_events);
            let demoted: serde_json::Value = out
                .lines()
                .find(|l| l.contains("Invalid Header"))
                .and_then(|l| serde_json::from_str(l).ok())
                .unwrap_or_else(|| panic!("{filter}: no demoted JSON line in {out}"));
            assert_eq!(demoted["level"], "DEBUG");
            assert_eq!(demoted["target"], CLIENT_ERROR_TARGET);
            assert_eq!(
                demoted["message"],
                "stream error: Request parse error: Invalid Header provided"
            );
        }
        let text = written(LogFormat::Text, "info,client_error=debug", actix_events);
        assert!(
            text.contains(
                " DEBUG client_error: stream error: Request parse error: Invalid Header provided\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("ERROR actix_http::h1::dispatcher: Response payload stream error"),
            "{text}"
        );
    }
}

//! Logging for every binary of the project, configured the same way: `LOG_FORMAT` picks
//! human-readable text or one JSON object per line (for log collectors), `RUST_LOG` filters.
//!
//! The servers log with [`Logs::to_stdout`]: tracing's lines and the access log's go
//! through one writer thread (`sink`) that never makes a request wait and never fails one;
//! [`dropped_lines`] counts what it could not deliver. Errors that are a client's fault
//! are demoted to DEBUG ([`CLIENT_ERROR_TARGET`]).

pub mod access;
mod client_errors;
mod sink;

use std::{
    io::IsTerminal,
    sync::{Arc, OnceLock, atomic::AtomicBool},
};

use serde::Deserialize;
use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::{self, MakeWriter},
    layer::SubscriberExt,
    util::SubscriberInitExt,
};

pub use client_errors::CLIENT_ERROR_TARGET;

use crate::{access::AccessLog, client_errors::Demoting, sink::Sink};

/// `LOG_FORMAT`: `text` (default) or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!("expected text or json, got {value:?}")),
        }
    }
}

/// Why logging could not start; each is one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("RUST_LOG: {0}")]
    RustLog(tracing_subscriber::filter::ParseError),
    #[error("the default log filter {filter:?}: {reason}")]
    DefaultFilter {
        filter: String,
        reason: tracing_subscriber::filter::ParseError,
    },
    #[error("starting the log writer thread: {0}")]
    Thread(std::io::Error),
    #[error("logging was already set up in this process")]
    AlreadySet,
}

/// `RUST_LOG` when set, else `default`; a malformed filter is an error naming `RUST_LOG`
/// rather than silently logging something else.
pub fn filter(default: &str) -> Result<EnvFilter, Error> {
    match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => EnvFilter::try_new(&value).map_err(Error::RustLog),
        _ => EnvFilter::try_new(default).map_err(|reason| Error::DefaultFilter {
            filter: default.to_owned(),
            reason,
        }),
    }
}

/// Installs the global subscriber, writing to `writer` (the migrator: stderr); text is
/// coloured when `ansi`. A second call in the same process keeps the first.
pub fn init<W>(format: LogFormat, filter: EnvFilter, writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let _ = install(format, filter, writer, ansi);
}

/// The stdout of the process that installed [`Logs::to_stdout`].
static STDOUT: OnceLock<Arc<Sink>> = OnceLock::new();

/// Log lines that never reached stdout since [`Logs::to_stdout`]: dropped while stdout was
/// not keeping up, or lost to a broken stdout. 0 before (or without) it.
pub fn dropped_lines() -> u64 {
    STDOUT.get().map_or(0, |sink| sink.lost())
}

/// A server's logging: tracing and access lines to stdout through one lossy writer.
/// Keep it until exit: dropping it writes what is still queued, for a bounded time.
#[derive(Debug)]
pub struct Logs {
    format: LogFormat,
    sink: Arc<Sink>,
    _flush: sink::FlushGuard,
}

impl Logs {
    /// Installs the global subscriber (`RUST_LOG`, else `default_filter`) writing to stdout,
    /// coloured on a terminal, and a panic hook that logs panics through it (ERROR, target
    /// `panic`) instead of writing to stderr, so that no log write can block or fail a
    /// thread. Once per process.
    pub fn to_stdout(format: LogFormat, default_filter: &str) -> Result<Self, Error> {
        let filter = filter(default_filter)?;
        if STDOUT.get().is_some() {
            return Err(Error::AlreadySet);
        }
        let (sink, flush) =
            sink::spawn(std::io::stdout(), sink::EXIT_FLUSH).map_err(Error::Thread)?;
        let ansi = std::io::stdout().is_terminal();
        if !install(format, filter, sink.clone(), ansi) {
            return Err(Error::AlreadySet);
        }
        let _ = STDOUT.set(sink.clone());
        std::panic::set_hook(Box::new(log_panic));
        Ok(Self {
            format,
            sink,
            _flush: flush,
        })
    }

    /// The access log, writing in the same format through the same writer. Whether
    /// `RUST_LOG` lets its lines through is for the caller to check, with
    /// `tracing::enabled!(target: TARGET, Level::INFO)`.
    pub fn access_log(&self, target: &'static str) -> AccessLog {
        AccessLog::new(self.format, target, self.sink.clone())
    }
}

/// The default hook writes to stderr, which may be as stalled as stdout.
fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)");
    let location = info.location().map(ToString::to_string).unwrap_or_default();
    let thread = std::thread::current();
    let thread = thread.name().unwrap_or("unnamed");
    tracing::error!(target: "panic", thread, location = %location, "panicked: {message}");
}

/// Installs the subscriber; false if one was already set.
fn install<W>(format: LogFormat, filter: EnvFilter, writer: W, ansi: bool) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let shown = Arc::new(AtomicBool::new(false));
    let installed = subscriber(format, filter, writer, ansi, shown.clone())
        .try_init()
        .is_ok();
    if installed {
        client_errors::decide(&shown);
    }
    installed
}

/// The one subscriber of the project: `filter`, then the lines in `format`. It never
/// reports a failed write (tracing-subscriber would `eprintln!`, which panics on a broken
/// stderr): a log line is not worth a thread.
fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
    shown: Arc<AtomicBool>,
) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = fmt::layer().with_writer(writer).log_internal_errors(false);
    let layer = match format {
        LogFormat::Json => layer
            .json()
            .with_ansi(false)
            .event_format(Demoting::new(
                fmt::format()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false),
                format,
                shown,
            ))
            .boxed(),
        LogFormat::Text => layer
            .with_ansi(ansi)
            .event_format(Demoting::new(fmt::format(), format, shown))
            .boxed(),
    };
    tracing_subscriber::registry().with(filter).with(layer)
}

#[cfg(test)]
mod tests {
    use tracing::level_filters::LevelFilter;

    use super::*;

    #[test]
    fn log_format_values() {
        assert_eq!(LogFormat::try_from("json".to_owned()), Ok(LogFormat::Json));
        assert_eq!(LogFormat::try_from("text".to_owned()), Ok(LogFormat::Text));
        assert_eq!(
            LogFormat::try_from("xml".to_owned()),
            Err("expected text or json, got \"xml\"".to_owned())
        );
    }

    /// The level hint is what lets `debug!` cost nothing at `info`, and what the `log`
    /// crate's records are cut at.
    #[test]
    fn the_subscriber_says_which_levels_it_wants() {
        let shown = Arc::new(AtomicBool::new(false));
        for (filter, level) in [
            ("info", LevelFilter::INFO),
            ("warn,api=debug", LevelFilter::DEBUG),
        ] {
            let subscriber = subscriber(
                LogFormat::Json,
                EnvFilter::new(filter),
                std::io::sink,
                false,
                shown.clone(),
            );
            assert_eq!(subscriber.max_level_hint(), Some(level), "{filter}");
        }
    }

    #[test]
    fn nothing_is_dropped_before_logging_starts() {
        assert_eq!(dropped_lines(), 0);
    }
}

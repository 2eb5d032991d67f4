//! [`Logs::start`], the one way a binary starts logging, and the subscriber it installs.

use std::{
    io::IsTerminal,
    sync::{Arc, OnceLock, atomic::AtomicBool},
};

use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::{self, MakeWriter},
    layer::SubscriberExt,
    registry::LookupSpan,
    util::SubscriberInitExt,
};

use crate::{
    Error, LogFormat, RUST_LOG,
    access::AccessLog,
    client_errors,
    lines::Lines,
    request_fields::{self, JsonIds},
    sink::{self, Sink},
    traces::RecordSpans,
};

/// Where a binary's log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The servers: through one batching writer thread that drops (and counts) rather than
    /// blocks, shared with the access log; panics are logged through it too.
    Stdout,
    /// The migrator, whose stdout is for `status`'s table: written as they come.
    Stderr,
}

/// The stdout of the process that started [`Output::Stdout`] logging.
static STDOUT: OnceLock<Arc<Sink>> = OnceLock::new();

/// Log lines that never reached stdout since [`Output::Stdout`] logging started: dropped
/// while stdout was not keeping up, or lost to a broken stdout. 0 before (or without) it.
pub fn dropped_lines() -> u64 {
    STDOUT.get().map_or(0, |sink| sink.lost())
}

/// A binary's logging. Keep it until exit: dropping it writes what is still queued, for a
/// bounded time.
#[derive(Debug)]
pub struct Logs {
    format: LogFormat,
    /// The stdout writer; none on stderr.
    sink: Option<Arc<Sink>>,
    _flush: Option<sink::FlushGuard>,
}

impl Logs {
    /// Installs the global subscriber: lines in `format` to `output`, coloured on a
    /// terminal, filtered by `RUST_LOG` or else its declared default followed by `quiet`
    /// (directives such as `refinery_core=warn`). On stdout, also a panic hook that logs
    /// panics (ERROR, target `panic`) instead of writing to stderr, so that no log write can
    /// block or fail a thread. With `traces` (from [`crate::traces::Traces::layer`]),
    /// spans are exported too. Once per process.
    pub fn start(
        format: LogFormat,
        output: Output,
        quiet: &[&str],
        traces: Option<RecordSpans>,
    ) -> Result<Self, Error> {
        let filter = filter(quiet)?;
        match output {
            Output::Stderr => {
                let ansi = std::io::stderr().is_terminal();
                if !install(format, filter, std::io::stderr, ansi, traces) {
                    return Err(Error::AlreadySet);
                }
                Ok(Self {
                    format,
                    sink: None,
                    _flush: None,
                })
            }
            Output::Stdout => {
                if STDOUT.get().is_some() {
                    return Err(Error::AlreadySet);
                }
                let (sink, flush) =
                    sink::spawn(std::io::stdout(), sink::EXIT_FLUSH).map_err(Error::Thread)?;
                let ansi = std::io::stdout().is_terminal();
                if !install(format, filter, sink.clone(), ansi, traces) {
                    return Err(Error::AlreadySet);
                }
                let _ = STDOUT.set(sink.clone());
                std::panic::set_hook(Box::new(log_panic));
                Ok(Self {
                    format,
                    sink: Some(sink),
                    _flush: Some(flush),
                })
            }
        }
    }

    /// The access log, writing in the same format through the same writer (`None` on
    /// stderr). Whether `RUST_LOG` lets its lines through is for the caller to check, with
    /// `tracing::enabled!(target: TARGET, Level::INFO)`: the macro needs a constant target.
    pub fn access_log(&self, target: &'static str) -> Option<AccessLog> {
        let sink = self.sink.as_ref()?;
        Some(AccessLog::new(self.format, target, sink.clone()))
    }
}

/// `RUST_LOG` when set, else its declared default and `quiet`; a malformed filter is an
/// error naming `RUST_LOG` rather than silently logging something else.
fn filter(quiet: &[&str]) -> Result<EnvFilter, Error> {
    match std::env::var(RUST_LOG.name) {
        Ok(value) if !value.is_empty() => EnvFilter::try_new(&value).map_err(Error::RustLog),
        _ => {
            let default = default_filter(quiet);
            EnvFilter::try_new(&default).map_err(|reason| Error::DefaultFilter {
                filter: default,
                reason,
            })
        }
    }
}

fn default_filter(quiet: &[&str]) -> String {
    RUST_LOG
        .default
        .into_iter()
        .chain(quiet.iter().copied())
        .collect::<Vec<_>>()
        .join(",")
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
fn install<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
    traces: Option<RecordSpans>,
) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let shown = Arc::new(AtomicBool::new(false));
    let installed = subscriber(format, filter, writer, ansi, shown.clone())
        .with(traces)
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
pub(crate) fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
    shown: Arc<AtomicBool>,
) -> impl Subscriber + for<'a> LookupSpan<'a> + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = fmt::layer().with_writer(writer).log_internal_errors(false);
    let layer = match format {
        LogFormat::Json => layer
            .json()
            .with_ansi(false)
            // JSON lines show no span's fields but the request's ids, which Lines adds.
            .fmt_fields(JsonIds)
            .event_format(Lines::new(
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
            .fmt_fields(request_fields::text_fields())
            .event_format(Lines::new(fmt::format(), format, shown))
            .boxed(),
    };
    tracing_subscriber::registry().with(filter).with(layer)
}

#[cfg(test)]
mod tests {
    use tracing::level_filters::LevelFilter;

    use super::*;

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

    #[test]
    fn the_default_filter_is_the_declared_one_then_the_quieter_directives() {
        assert_eq!(default_filter(&[]), "info");
        assert_eq!(
            default_filter(&["refinery_core=warn", "tokio_postgres=warn"]),
            "info,refinery_core=warn,tokio_postgres=warn"
        );
    }
}

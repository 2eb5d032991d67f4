//! Logging: human-readable by default, one JSON object per line with `LOG_FORMAT=json`.
//!
//! Lines are formatted on the request's thread but written by a background thread through
//! a buffer, so the access log costs no syscall per request and a slow reader of stdout
//! cannot stall serving (past 128k queued lines, lines are dropped rather than waited for).

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// Installs the global subscriber; `RUST_LOG` filters (default `info`;
/// `RUST_LOG=info,web_server::access=off` silences the access log). Keep the guard until
/// exit: dropping it flushes what is queued.
pub fn init(format: LogFormat) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stdout().is_terminal();
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .finish(BufWriter::new(std::io::stdout()));
    let builder = fmt().with_env_filter(filter).with_writer(writer);
    // A second init (several servers in one process) keeps the first.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.with_ansi(ansi).try_init(),
    };
    guard
}

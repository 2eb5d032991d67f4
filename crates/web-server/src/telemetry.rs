//! Logging: human-readable by default, one JSON object per line with `LOG_FORMAT=json`.
//!
//! Lines are formatted on the request's thread but written by a background thread through
//! a buffer, so the access log costs no syscall per request and a slow reader of stdout
//! cannot stall serving (past 128k queued lines, lines are dropped rather than waited for).

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

use crate::config::LogFormat;

/// Installs the global subscriber; `RUST_LOG` filters (default `info`;
/// `RUST_LOG=info,web_server::access=off` silences the access log). Keep the guard until
/// exit: dropping it flushes what is queued. The error names `RUST_LOG` when it is malformed.
pub fn init(format: LogFormat) -> Result<WorkerGuard, String> {
    let filter = telemetry::filter("info")?;
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .finish(BufWriter::new(std::io::stdout()));
    telemetry::init(format, filter, writer, std::io::stdout().is_terminal());
    Ok(guard)
}

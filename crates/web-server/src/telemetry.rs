//! Logging: human-readable by default, one JSON object per line with `LOG_FORMAT=json`.
//!
//! Lines are formatted on the request's thread but written by a background thread through
//! a buffer, so the access log costs no syscall per request and a slow reader of stdout
//! cannot stall serving (past 128k queued lines, lines are dropped rather than waited for).

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

use telemetry::access::{AccessLog, FlushGuard};

use crate::config::LogFormat;

/// The `target` of access lines, as `RUST_LOG` names it (`web_server::access=off`).
pub const ACCESS_TARGET: &str = "web_server::access";

/// The installed logging: hold it until exit, since dropping it flushes what is queued.
pub struct Logs {
    /// None when `RUST_LOG` turns the access log off.
    pub access: Option<AccessLog>,
    // Dropped in this order: the access log's warnings still reach the other writer.
    _access_guard: Option<FlushGuard>,
    _guard: WorkerGuard,
}

/// Installs the global subscriber; `RUST_LOG` filters (default `info`;
/// `RUST_LOG=info,web_server::access=off` silences the access log). The error names
/// `RUST_LOG` when it is malformed.
pub fn init(format: LogFormat) -> Result<Logs, String> {
    let filter = telemetry::filter("info")?;
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .finish(BufWriter::new(std::io::stdout()));
    telemetry::init(format, filter, writer, std::io::stdout().is_terminal());
    // The filter is fixed from here on, so whether access lines pass it is decided once.
    let (access, access_guard) = if tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO) {
        let (log, guard) = AccessLog::to_stdout(format, ACCESS_TARGET)
            .map_err(|e| format!("starting the access-log thread: {e}"))?;
        (Some(log), Some(guard))
    } else {
        (None, None)
    };
    Ok(Logs {
        access,
        _access_guard: access_guard,
        _guard: guard,
    })
}

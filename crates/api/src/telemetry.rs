//! Logging to stdout, as configured by `LOG_FORMAT` and `RUST_LOG` (default `info`). The
//! per-request lines go through `telemetry::access` (batched, formatted without tracing: it
//! cost 30% of the cached GETs' throughput), the rest through tracing.

use std::{io::IsTerminal, sync::OnceLock};

use telemetry::{
    LogFormat,
    access::{AccessLog, FlushGuard},
};

/// The `target` of request lines, as `RUST_LOG` names it (`api::request=off`).
pub const ACCESS_TARGET: &str = "api::request";

static ACCESS: OnceLock<AccessLog> = OnceLock::new();

/// The request log, once [`init`] started it (not in tests that build the app in-process,
/// nor with `RUST_LOG` turning `api::request` off).
pub fn access_log() -> Option<&'static AccessLog> {
    ACCESS.get()
}

/// Keep it until exit: dropping it writes the request lines still queued.
pub struct Logs {
    _access: Option<FlushGuard>,
}

/// Installs the global subscriber and the request log; the error names `RUST_LOG` when it
/// is malformed.
pub fn init(format: LogFormat) -> Result<Logs, String> {
    let filter = telemetry::filter("info")?;
    // Colours only on a terminal: `cargo xtask dev` and log collectors read plain text.
    telemetry::init(
        format,
        filter,
        std::io::stdout,
        std::io::stdout().is_terminal(),
    );
    // The filter is fixed from here on, so whether request lines pass it is decided once.
    if !tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO) {
        return Ok(Logs { _access: None });
    }
    let (log, guard) = AccessLog::to_stdout(format, ACCESS_TARGET)
        .map_err(|e| format!("starting the request-log thread: {e}"))?;
    // A second init in one process keeps the first log, as tracing keeps the first subscriber.
    let _ = ACCESS.set(log);
    Ok(Logs {
        _access: Some(guard),
    })
}

//! Logging: human-readable by default, one JSON object per line with `LOG_FORMAT=json`.
//!
//! Through the `telemetry` crate's one stdout writer, shared with the API: lines are
//! formatted on the request's thread and written by a background thread, so the access log
//! costs no syscall per request, and a slow or broken stdout cannot stall or fail serving
//! (past 8 MiB queued, lines are dropped and counted rather than waited for).

use telemetry::access::AccessLog;

use crate::config::LogFormat;

/// The `target` of access lines, as `RUST_LOG` names it (`web_server::access=off`).
pub const ACCESS_TARGET: &str = "web_server::access";

/// The installed logging: hold it until exit, since dropping it writes what is queued.
pub struct Logs {
    /// None when `RUST_LOG` turns the access log off.
    pub access: Option<AccessLog>,
    _logs: telemetry::Logs,
}

/// Installs the global subscriber; `RUST_LOG` filters (default `info`;
/// `RUST_LOG=info,web_server::access=off` silences the access log). The error names
/// `RUST_LOG` when it is malformed.
pub fn init(format: LogFormat) -> Result<Logs, telemetry::Error> {
    let logs = telemetry::Logs::to_stdout(format, "info")?;
    // The filter is fixed from here on, so whether access lines pass it is decided once.
    let access = tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO)
        .then(|| logs.access_log(ACCESS_TARGET));
    Ok(Logs {
        access,
        _logs: logs,
    })
}

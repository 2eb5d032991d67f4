//! Starting the logs: human-readable by default, one JSON object per line with
//! `LOG_FORMAT=json`, and the access log among them.
//!
//! Through the `telemetry` crate's one stdout writer, shared with the API: lines are
//! formatted on the request's thread and written by a background thread, so the access log
//! costs no syscall per request, and a slow or broken stdout cannot stall or fail serving
//! (past 8 MiB queued, lines are dropped and counted rather than waited for).

use telemetry::{Logs, Output, access::AccessLog, traces::RecordSpans};

use crate::config::LogFormat;

/// The `target` of access lines, as `RUST_LOG` names it (`web_server::access=off`).
pub const ACCESS_TARGET: &str = "web_server::access";

/// Installs the global subscriber; `RUST_LOG` filters (default `info`;
/// `RUST_LOG=info,web_server::access=off` silences the access log). The error names
/// `RUST_LOG` when it is malformed. Hold the [`Logs`] until exit, since dropping them writes
/// what is queued; the access log is `None` when `RUST_LOG` turns it off. With `traces`,
/// spans are exported too.
pub fn start(
    format: LogFormat,
    traces: Option<RecordSpans>,
) -> Result<(Logs, Option<AccessLog>), telemetry::Error> {
    let logs = Logs::start(format, Output::Stdout, &[], traces)?;
    // The filter is fixed from here on, so whether access lines pass it is decided once.
    let enabled = tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO);
    let access = logs.access_log(ACCESS_TARGET).filter(|_| enabled);
    Ok((logs, access))
}

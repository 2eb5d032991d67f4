//! The request log, and starting the logging it belongs to: to stdout, as configured by
//! `LOG_FORMAT` and `RUST_LOG` (default `info`), through the `telemetry` crate's one writer,
//! so a stalled or broken stdout drops lines (counted by [`telemetry::dropped_lines`])
//! rather than stalling or failing a worker. The per-request lines go through
//! `telemetry::access` (formatted without tracing: it cost 30% of the cached GETs'
//! throughput). Malformed requests are a client's fault: actix-http's `stream error` lines
//! are DEBUG (`RUST_LOG=info,client_error=debug`), not ERROR.

use std::sync::OnceLock;

use telemetry::{LogFormat, Logs, Output, access::AccessLog, traces::RecordSpans};

/// The `target` of request lines, as `RUST_LOG` names it (`api::request=off`).
pub const ACCESS_TARGET: &str = "api::request";

static ACCESS: OnceLock<AccessLog> = OnceLock::new();

/// The request log, once [`start`] started it (not in tests that build the app in-process,
/// nor with `RUST_LOG` turning `api::request` off).
pub fn get() -> Option<&'static AccessLog> {
    ACCESS.get()
}

/// Installs the global subscriber and the request log. Keep the result until exit:
/// dropping it writes the lines still queued.
/// With `traces`, the request spans are exported too.
pub fn start(format: LogFormat, traces: Option<RecordSpans>) -> Result<Logs, telemetry::Error> {
    let logs = Logs::start(format, Output::Stdout, &[], traces)?;
    // The filter is fixed from here on, so whether request lines pass it is decided once.
    let enabled = tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO);
    if let Some(access) = logs.access_log(ACCESS_TARGET).filter(|_| enabled) {
        let _ = ACCESS.set(access);
    }
    Ok(logs)
}

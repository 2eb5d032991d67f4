use std::{fmt::Display, io::Write, process::ExitCode};

use telemetry::traces::{TraceSettings, Traces};
use web_server::{access_log, config, config::Settings, server};

// Signals and shutdown only: requests are served by `workers`, a runtime per core.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => return refuse(e),
    };
    let traces = settings::load::<TraceSettings>(config::VARIABLES)
        .map_err(anyhow::Error::from)
        .and_then(|t| Ok(Traces::start(&t, "web-server")?));
    // Held to the end: dropping them flushes the queued log lines and spans.
    let traces = match traces {
        Ok(traces) => traces,
        Err(e) => return refuse(e),
    };
    let (_logs, access) =
        match access_log::start(settings.log_format, traces.as_ref().map(Traces::layer)) {
            Ok(logs) => logs,
            Err(e) => return refuse(e),
        };
    // The library's errors already lead with the variable to fix; anyhow's `{:#}` adds
    // their causes on the same line.
    match server::run(settings, access)
        .await
        .map_err(anyhow::Error::from)
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            refuse(format_args!("{e:#}"))
        }
    }
}

/// One line on stderr, then exit 1. A closed stderr is ignored: `eprintln!` would panic.
fn refuse(e: impl Display) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "web-server: {e}");
    ExitCode::FAILURE
}

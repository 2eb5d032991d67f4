use std::{fmt::Display, io::Write, process::ExitCode};

use api::{access_log, configuration::Settings, startup::Application};
use telemetry::traces::Traces;

#[actix_web::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => return refuse(e),
    };
    // Held to the end: dropping them sends the spans and writes the lines still queued.
    let traces = match Traces::start(&settings.traces, "api") {
        Ok(started) => started,
        Err(e) => return refuse(e),
    };
    let _logs = match access_log::start(
        settings.server.log_format,
        traces.as_ref().map(Traces::layer),
    ) {
        Ok(logs) => logs,
        Err(e) => return refuse(e),
    };
    let result = match Application::build(settings) {
        Ok(app) => app.run_until_stopped().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            refuse(format_args!("{e:#}"))
        }
    }
}

/// One line on stderr, then exit 1. A closed stderr is ignored: `eprintln!` would panic.
fn refuse(e: impl Display) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "api: {e}");
    ExitCode::FAILURE
}

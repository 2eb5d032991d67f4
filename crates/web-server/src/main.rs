use std::{fmt::Display, io::Write, process::ExitCode};

#[cfg(debug_assertions)]
use web_server::config::DevSettings;
use web_server::config::Settings;
use web_server::{server, telemetry};

// Signals and shutdown only: requests are served by `workers`, a runtime per core.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => return refuse(e),
    };
    // Debug builds only (`cargo xtask dev`): a release build neither has nor reads them.
    #[cfg(debug_assertions)]
    let dev = match DevSettings::load() {
        Ok(dev) => dev,
        Err(e) => return refuse(e),
    };
    // Held to the end: dropping it flushes the queued log lines.
    let logs = match telemetry::init(settings.log_format) {
        Ok(logs) => logs,
        Err(e) => return refuse(e),
    };
    #[cfg(debug_assertions)]
    let served = server::run(settings, logs.access.clone(), dev).await;
    #[cfg(not(debug_assertions))]
    let served = server::run(settings, logs.access.clone()).await;
    // The library's errors already lead with the variable to fix; anyhow's `{:#}` adds
    // their causes on the same line.
    match served.map_err(anyhow::Error::from) {
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

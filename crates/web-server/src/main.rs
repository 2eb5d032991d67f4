use std::process::ExitCode;

use web_server::{config::Settings, server, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("web-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Held to the end: dropping it flushes the queued log lines.
    let _logs = telemetry::init(settings.log_format);
    match run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("web-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    // The library's errors already lead with the variable to fix.
    server::run(settings).await?;
    Ok(())
}

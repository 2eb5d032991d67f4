use std::process::ExitCode;

use api::{configuration::Settings, startup::Application, telemetry};

#[actix_web::main]
async fn main() -> ExitCode {
    // `_logs` is held to the end: dropping it writes the request lines still queued.
    let (settings, _logs) =
        match Settings::load().and_then(|s| telemetry::init(s.server.log_format).map(|l| (s, l))) {
            Ok(started) => started,
            Err(e) => {
                eprintln!("api: {e}");
                return ExitCode::FAILURE;
            }
        };
    let result = match Application::build(settings) {
        Ok(app) => app.run_until_stopped().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("api: {e:#}");
            ExitCode::FAILURE
        }
    }
}

use std::process::ExitCode;

use api::{configuration::Settings, startup::Application, telemetry};

#[actix_web::main]
async fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("api: {e}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(settings.server.log_format);
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

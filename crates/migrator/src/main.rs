use std::process::ExitCode;

use clap::Parser;
use migrator::cli::{self, Cli};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Cli::parse();
    match cli::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line whatever the cause: server errors carry DETAIL/HINT on lines of their own.
            eprintln!("migrator: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

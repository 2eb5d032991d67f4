//! The `migrator` command line: arguments, settings, logging, and what each command prints.
//! Application glue, so errors are `anyhow` here; the binary prints them on one line.

use std::{io::IsTerminal, time::Duration};

use anyhow::anyhow;
use clap::{Parser, Subcommand};
use db::DbSettings;
use serde::Deserialize;
use telemetry::LogFormat;
use tracing::info;

/// Applies, reverts and reports the database schema. Configured like the API: DATABASE_URL
/// (or DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASS, DB_SSL_MODE), MIGRATE_WAIT_SECS,
/// LOG_FORMAT, RUST_LOG, and an optional TOML file named by CONFIG_FILE.
#[derive(Debug, Parser)]
#[command(name = "migrator", version)]
pub struct Cli {
    /// Default: `up`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Apply pending migrations (all, or up to --target).
    Up {
        /// Stop after this version.
        #[arg(long, value_name = "VERSION")]
        target: Option<i32>,
    },
    /// Revert the latest applied migration, or all above --target (0: everything).
    Down {
        /// Revert until this is the latest applied version.
        #[arg(long, value_name = "VERSION")]
        target: Option<i32>,
    },
    /// Show each migration, applied or pending.
    Status,
}

/// The migrator's own settings; the database's are [`DbSettings`].
#[derive(Debug, Deserialize)]
struct Settings {
    /// How long to wait for the database to accept connections.
    #[serde(default = "default_wait_secs")]
    migrate_wait_secs: u64,
    /// `LOG_FORMAT`: `text` or `json`.
    #[serde(default)]
    log_format: LogFormat,
}

fn default_wait_secs() -> u64 {
    60
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings: Settings = db::layered::load().map_err(|e| anyhow!(e))?;
    let db: DbSettings = db::layered::load().map_err(|e| anyhow!(e))?;
    // Logs go to stderr: stdout is for `status`'s table. The default leaves out refinery's
    // duplicates of our lines and the server's notices (`relation ... already exists`).
    let filter =
        telemetry::filter("info,refinery_core=warn,tokio_postgres=warn").map_err(|e| anyhow!(e))?;
    telemetry::init(
        settings.log_format,
        filter,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    );
    // A malformed DATABASE_URL is reported as such, not as a connection failure.
    db.pg_config(Duration::from_secs(1))?;

    info!(database = %db, "connecting");
    let wait = Duration::from_secs(settings.migrate_wait_secs);
    let mut client = crate::connect(&db, wait).await?;
    match cli.command.unwrap_or(Command::Up { target: None }) {
        Command::Up { target } => {
            let report = crate::up(&mut client, target).await?;
            let version = report.version.unwrap_or(0);
            match report.applied.len() {
                0 => info!("nothing to apply, schema at version {version}"),
                n => info!(applied = n, "schema at version {version}"),
            }
        }
        Command::Down { target } => {
            let report = crate::down(&mut client, target).await?;
            let version = report.version.unwrap_or(0);
            match report.reverted.len() {
                0 => info!("nothing to revert, schema at version {version}"),
                n => info!(reverted = n, "schema at version {version}"),
            }
        }
        Command::Status => print!("{}", crate::status(&client).await?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Option<Command> {
        Cli::try_parse_from(args).expect("valid arguments").command
    }

    #[test]
    fn commands_and_targets_parse() {
        assert_eq!(parse(&["migrator"]), None);
        assert_eq!(
            parse(&["migrator", "up"]),
            Some(Command::Up { target: None })
        );
        assert_eq!(
            parse(&["migrator", "up", "--target", "1"]),
            Some(Command::Up { target: Some(1) })
        );
        assert_eq!(
            parse(&["migrator", "down", "--target", "0"]),
            Some(Command::Down { target: Some(0) })
        );
        assert_eq!(parse(&["migrator", "status"]), Some(Command::Status));
        assert!(Cli::try_parse_from(["migrator", "status", "--target", "1"]).is_err());
        assert!(Cli::try_parse_from(["migrator", "up", "--target", "x"]).is_err());
    }
}

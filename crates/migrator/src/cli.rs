//! The `migrator` command line: arguments, settings, logging, and what each command prints.
//! Application glue, so errors are `anyhow` here; the binary prints them on one line.

use std::time::Duration;

use clap::{Parser, Subcommand};
use db::DbSettings;
use serde::Deserialize;
use settings::Variable;
use telemetry::{
    LogFormat, Logs, Output,
    traces::{TraceSettings, Traces},
};
use tracing::{Instrument, info};

use schema_compat::Compatibility;

use crate::trace;

/// Every variable the migrator reads, and all that it reads: [`run`] loads its settings
/// from this list, and `--help` lists it.
pub const VARIABLES: &[Variable] = settings::variables![
    db::VARIABLES,
    &[Variable {
        name: "MIGRATE_WAIT_SECS",
        default: Some("60"),
        meaning: "how long the migrator waits for the database to come up, with backoff",
    }],
    &[crate::trace::TRACEPARENT],
    telemetry::VARIABLES,
    telemetry::traces::VARIABLES,
    settings::VARIABLES,
];

/// Applies, reverts and reports the database schema. Configured like the API, by
/// environment variables (listed by --help) or an optional TOML file named by CONFIG_FILE.
#[derive(Debug, Parser)]
#[command(name = "migrator", version, after_long_help = variables_help())]
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
    /// Check the embedded migrations' compatibility declarations (no database needed):
    /// one declared expand must not drop, rename or tighten what the release before uses.
    Check,
}

impl Command {
    /// As typed: `up`, `down`, `status`, `check`.
    fn name(self) -> &'static str {
        match self {
            Self::Up { .. } => "up",
            Self::Down { .. } => "down",
            Self::Status => "status",
            Self::Check => "check",
        }
    }
}

/// `--help`'s list of [`VARIABLES`], from their declarations.
fn variables_help() -> String {
    let mut help = String::from("Environment (or CONFIG_FILE, keys in lower case):\n");
    for variable in VARIABLES {
        let default = variable
            .default
            .map_or_else(String::new, |d| format!(" [default: {d}]"));
        help.push_str(&format!(
            "  {}{default}\n      {}\n",
            variable.name,
            variable.meaning.replace('`', "")
        ));
    }
    help
}

/// The migrator's own settings; the database's are [`DbSettings`].
#[derive(Debug, Deserialize)]
struct Settings {
    /// How long to wait for the database to accept connections.
    migrate_wait_secs: u64,
    log_format: LogFormat,
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.command == Some(Command::Check) {
        return check();
    }
    let settings: Settings = settings::load(VARIABLES)?;
    let db: DbSettings = settings::load(VARIABLES)?;
    let carrier: trace::Carrier = settings::load(VARIABLES)?;
    // Held to the end: dropping it sends the run's spans (declared first, so dropped last).
    let traces = Traces::start(&settings::load::<TraceSettings>(VARIABLES)?, "migrator")?;
    // Logs go to stderr: stdout is for `status`'s table. The default leaves out refinery's
    // duplicates of our lines and the server's notices (`relation ... already exists`).
    let _logs = Logs::start(
        settings.log_format,
        Output::Stderr,
        &["refinery_core=warn", "tokio_postgres=warn"],
        traces.as_ref().map(Traces::layer),
    )?;
    // A malformed DATABASE_URL is reported as such, not as a connection failure.
    db.pg_config(Duration::from_secs(1))?;
    let command = cli.command.unwrap_or(Command::Up { target: None });
    let span = trace::run(command.name(), &carrier);
    execute(command, &settings, &db).instrument(span).await
}

/// Connects and runs `command`.
async fn execute(command: Command, settings: &Settings, db: &DbSettings) -> anyhow::Result<()> {
    info!(database = %db, "connecting");
    let wait = Duration::from_secs(settings.migrate_wait_secs);
    let mut client = crate::connect(db, wait)
        .instrument(trace::step("connect"))
        .await?;
    match command {
        Command::Up { target } => {
            let report = crate::up(&mut client, target).await?;
            let version = report.version.unwrap_or(0);
            let latest = crate::latest_version();
            match report.applied.len() {
                0 if version > latest => info!(
                    "nothing to apply: the database is ahead of this build, at version {version} (this build's migrations, up to {latest}, are all applied)"
                ),
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
        // Answered before connecting, and needs no database if it were not.
        Command::Check => check()?,
    }
    Ok(())
}

/// `migrator check`: each migration and its compatibility on stdout, or what is wrong.
fn check() -> anyhow::Result<()> {
    let problems = crate::compat::check();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::bail!("{}", list.join("; "));
    }
    for m in schema_compat::MIGRATIONS {
        let step = format!("V{}__{}", m.version, m.name);
        match m.compatibility {
            Compatibility::Expand => println!("{step}  expand"),
            Compatibility::Breaking(why) => println!("{step}  breaking: {why}"),
        }
    }
    println!(
        "schema {}: releases built for schema {} or later run on it",
        crate::latest_version(),
        schema_compat::oldest_compatible()
    );
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

    #[test]
    fn help_lists_every_variable_with_its_default() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for variable in VARIABLES {
            assert!(help.contains(variable.name), "{} in {help}", variable.name);
            if let Some(default) = variable.default {
                assert!(help.contains(&format!("[default: {default}]")), "{help}");
            }
        }
    }

    #[test]
    fn the_declared_defaults_load() {
        settings::load_from::<Settings>(VARIABLES, &[]).expect("the defaults");
        settings::load_from::<DbSettings>(VARIABLES, &[]).expect("the database's defaults");
    }
}

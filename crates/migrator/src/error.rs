use std::error::Error as _;

/// Everything a migrator command can fail with. Messages are short and carry their cause
/// as `source()`, so `{:#}` (anyhow) prints the whole chain on one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] db::SettingsError),

    #[error("database not reachable within {waited_secs} s ({attempts} attempts)")]
    Unreachable {
        waited_secs: u64,
        attempts: u32,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A connection error that waiting cannot fix (bad password, unknown database, ...).
    #[error("cannot connect to the database")]
    Connect(#[source] tokio_postgres::Error),

    #[error(transparent)]
    Sql(#[from] tokio_postgres::Error),

    /// Refinery's errors repeat their cause in their own message; this keeps one copy.
    #[error("{0}")]
    Apply(String),

    #[error("no embedded migration has version {target} (embedded: {embedded})")]
    UnknownTarget { target: i32, embedded: String },

    #[error(
        "V{version}__{name} is applied but not embedded in this migrator, so it cannot be reverted"
    )]
    NotEmbedded { version: i32, name: String },

    #[error(
        "V{version}__{name} was applied from a different script than the embedded one; refusing to revert it"
    )]
    Divergent { version: i32, name: String },

    #[error(
        "the database is at version {at}, ahead of this build, but V{version}__{name} of this build was never applied to it"
    )]
    Skipped { version: i32, name: String, at: i32 },

    #[error(
        "V{version}__{name} was applied from a different script than the one this build embeds"
    )]
    Changed { version: i32, name: String },

    #[error("V{version}__{name} has no down script")]
    NoDownScript { version: i32, name: String },

    #[error("reverting V{version}__{name} failed")]
    Revert {
        version: i32,
        name: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

impl From<refinery::Error> for Error {
    fn from(err: refinery::Error) -> Self {
        // `Connection(msg, cause)` displays as "`msg`, `cause`" and returns `cause` as its
        // source too: keep the message and render the cause once.
        let message = match err.kind() {
            refinery::error::Kind::Connection(msg, _) => msg.clone(),
            other => other.to_string(),
        };
        Error::Apply(match err.source() {
            Some(cause) => format!("{message}: {}", one_line(cause)),
            None => message,
        })
    }
}

/// An error and its causes on one line, as anyhow's `{:#}` would print them; server errors
/// put DETAIL and HINT on lines of their own.
pub(crate) fn one_line(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text.replace('\n', " ")
}

//! Logging for every binary of the project, configured the same way: `LOG_FORMAT` picks
//! human-readable text or one JSON object per line (for log collectors), `RUST_LOG` filters
//! (both declared in [`VARIABLES`]); and the signal that starts a server's shutdown
//! ([`shutdown`]).
//!
//! Every binary starts logging with [`Logs::start`]. The servers log to stdout: tracing's
//! lines and the access log's go through one writer thread (`sink`) that never makes a
//! request wait and never fails one; [`dropped_lines`] counts what it could not deliver.
//! Errors that are a client's fault are demoted to DEBUG ([`CLIENT_ERROR_TARGET`]).

pub mod access;
mod client_errors;
mod lines;
mod logs;
mod request_fields;
pub mod request_id;
pub mod shutdown;
mod sink;
pub mod traces;

use serde::Deserialize;
use settings::Variable;

pub use client_errors::CLIENT_ERROR_TARGET;
pub use logs::{Logs, Output, dropped_lines};
pub use request_fields::REQUEST_SPAN;

/// `LOG_FORMAT`; the default is its declaration's.
pub const LOG_FORMAT: Variable = Variable {
    name: "LOG_FORMAT",
    default: Some("text"),
    meaning: "`text` or `json`",
};

/// `RUST_LOG`, read by [`Logs::start`] straight from the environment (not `CONFIG_FILE`).
pub const RUST_LOG: Variable = Variable {
    name: "RUST_LOG",
    default: Some("info"),
    meaning: "log filter, from the environment only, e.g. `info,api=debug` (or \
              `info,api::request=off`, `info,web_server::access=off`: no access log); a \
              malformed one stops the process with one line (the migrator's default adds \
              `refinery_core=warn,tokio_postgres=warn`)",
};

/// What logging reads: every binary includes it.
pub const VARIABLES: &[Variable] = &[LOG_FORMAT, RUST_LOG];

/// `LOG_FORMAT`: `text` or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum LogFormat {
    Text,
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!("expected text or json, got {value:?}")),
        }
    }
}

/// Why logging could not start; each is one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("RUST_LOG: {0}")]
    RustLog(tracing_subscriber::filter::ParseError),
    #[error("the default log filter {filter:?}: {reason}")]
    DefaultFilter {
        filter: String,
        reason: tracing_subscriber::filter::ParseError,
    },
    #[error("starting the log writer thread: {0}")]
    Thread(std::io::Error),
    #[error("logging was already set up in this process")]
    AlreadySet,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_values() {
        assert_eq!(LogFormat::try_from("json".to_owned()), Ok(LogFormat::Json));
        assert_eq!(LogFormat::try_from("text".to_owned()), Ok(LogFormat::Text));
        assert_eq!(
            LogFormat::try_from("xml".to_owned()),
            Err("expected text or json, got \"xml\"".to_owned())
        );
    }

    #[derive(Debug, Deserialize)]
    struct Format {
        log_format: LogFormat,
    }

    #[test]
    fn the_declared_default_is_text() {
        let loaded: Format = settings::load_from(VARIABLES, &[]).expect("the default parses");
        assert_eq!(loaded.log_format, LogFormat::Text);
    }
}

//! Logging for every binary of the project, configured the same way: `LOG_FORMAT` picks
//! human-readable text or one JSON object per line (for log collectors), `RUST_LOG` filters.

pub mod access;

use serde::Deserialize;
use tracing_subscriber::{EnvFilter, fmt, fmt::MakeWriter};

/// `LOG_FORMAT`: `text` (default) or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum LogFormat {
    #[default]
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

/// `RUST_LOG` when set, else `default`; a malformed filter is an error naming `RUST_LOG`
/// rather than silently logging something else.
pub fn filter(default: &str) -> Result<EnvFilter, String> {
    match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => {
            EnvFilter::try_new(&value).map_err(|e| format!("RUST_LOG: {e}"))
        }
        _ => EnvFilter::try_new(default)
            .map_err(|e| format!("the default log filter {default:?}: {e}")),
    }
}

/// Installs the global subscriber, writing to `writer`; text is coloured when `ansi`.
/// A second call in the same process (tests running several servers) keeps the first.
pub fn init<W>(format: LogFormat, filter: EnvFilter, writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = fmt().with_env_filter(filter).with_writer(writer);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.with_ansi(ansi).try_init(),
    };
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
}

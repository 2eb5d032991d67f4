//! Logging to stdout, as configured by `LOG_FORMAT` and `RUST_LOG` (default `info`).

use std::io::IsTerminal;

use telemetry::LogFormat;

/// Installs the global subscriber; the error names `RUST_LOG` when it is malformed.
pub fn init(format: LogFormat) -> Result<(), String> {
    let filter = telemetry::filter("info")?;
    // Colours only on a terminal: `cargo xtask dev` and log collectors read plain text.
    telemetry::init(
        format,
        filter,
        std::io::stdout,
        std::io::stdout().is_terminal(),
    );
    Ok(())
}

//! The signal that stops a server, the same for every binary: SIGTERM (Kubernetes, a
//! rolling restart) or SIGINT (Ctrl-C, `cargo xtask dev`).

use std::{future::Future, io};

use tokio::signal::unix::{SignalKind, signal};

/// A signal handler that could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("installing the {signal} handler")]
pub struct SignalError {
    signal: &'static str,
    #[source]
    source: io::Error,
}

/// Resolves at the first SIGTERM or SIGINT with its name, once it has logged
/// `shutting down: draining {draining}` (INFO, with the signal's name) — the caller says
/// what it lets finish, e.g. `"connections"`. The handlers are installed now, not at the
/// first poll, so a signal that arrives early is not lost. Needs a tokio runtime with I/O.
pub fn shutdown_signal(
    draining: &'static str,
) -> Result<impl Future<Output = &'static str> + Send + 'static, SignalError> {
    let install = |kind: SignalKind, name| {
        signal(kind).map_err(|source| SignalError {
            signal: name,
            source,
        })
    };
    let mut term = install(SignalKind::terminate(), "SIGTERM")?;
    let mut int = install(SignalKind::interrupt(), "SIGINT")?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down: draining {draining}");
        name
    })
}

#[cfg(test)]
mod tests {
    use nix::sys::signal::{Signal, raise};

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn the_first_signal_is_named() {
        let stop = shutdown_signal("tests").expect("handlers");
        // Handled from now on, so it does not stop the test process.
        raise(Signal::SIGINT).expect("raise SIGINT");
        let name = tokio::time::timeout(std::time::Duration::from_secs(10), stop)
            .await
            .expect("the signal arrives");
        assert_eq!(name, "SIGINT");
    }
}

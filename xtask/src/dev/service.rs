//! A long-running child (the API, the static server) whose output is streamed with a
//! prefix, and which never outlives us.

use std::{
    process::{Command, ExitStatus, Stdio},
    time::Duration,
};

use anyhow::Context;
use processes::{Process, Signal, Stop};

use super::output::Output;

/// SIGTERM, then at most this long to drain before it is killed.
const STOP: Stop = Stop::leader(Signal::SIGTERM, Duration::from_secs(10));

pub struct Service {
    pub name: &'static str,
    child: Option<Process>,
    reported_exit: bool,
}

impl Service {
    pub fn spawn(name: &'static str, mut cmd: Command, out: &Output) -> anyhow::Result<Self> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group: Ctrl-C reaches us, and we stop services in order.
        let mut child =
            Process::spawn(&mut cmd, STOP).with_context(|| format!("starting {name}"))?;
        if let Some(stdout) = child.take_stdout() {
            out.stream(name, stdout);
        }
        if let Some(stderr) = child.take_stderr() {
            out.stream(name, stderr);
        }
        Ok(Self {
            name,
            child: Some(child),
            reported_exit: false,
        })
    }

    /// The exit status the first time we notice the service has stopped by itself.
    pub fn newly_exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        if self.reported_exit {
            return None;
        }
        self.reported_exit = true;
        Some(status)
    }

    /// SIGTERM, a bounded wait for the graceful exit, then SIGKILL.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.stop();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `url` answers 200 within 2 s: a service's readiness, as dev waits for it.
pub fn answers_ok(url: &str) -> bool {
    ureq::get(url)
        .config()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .call()
        .is_ok_and(|r| r.status() == 200)
}

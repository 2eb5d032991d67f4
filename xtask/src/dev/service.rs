//! A long-running child (the API, the static server) whose output is streamed with a
//! prefix, and which never outlives us.

use std::{
    os::unix::process::CommandExt,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use super::output::Output;

/// How long a service may drain after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(10);

pub struct Service {
    pub name: &'static str,
    child: Option<Child>,
    reported_exit: bool,
}

impl Service {
    pub fn spawn(name: &'static str, mut cmd: Command, out: &Output) -> anyhow::Result<Self> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Not in our process group: Ctrl-C reaches us, and we stop services in order.
            .process_group(0);
        // SAFETY: prctl is async-signal-safe. If we die without cleaning up (SIGKILL), the
        // kernel sends the child SIGTERM, so nothing is left behind.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
            });
        }
        let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        if let Some(stdout) = child.stdout.take() {
            out.stream(name, stdout);
        }
        if let Some(stderr) = child.stderr.take() {
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
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

use std::{
    io,
    os::unix::process::CommandExt,
    process::{Child, ChildStderr, ChildStdout, Command, ExitStatus},
    thread,
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{Signal, kill, killpg},
    unistd::Pid,
};

use crate::owner::{self, Ticket};

/// How often a stopping child is checked on.
const POLL: Duration = Duration::from_millis(20);

/// How a child is asked to stop: `signal` (to the child, or to its whole group), then
/// `grace` to exit, then SIGKILL to the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    pub signal: Signal,
    pub grace: Duration,
    /// Signal every process of the group, for programs that do not stop their own
    /// children (chromedriver leaves Chromium running).
    pub group: bool,
}

impl Stop {
    /// `signal` to the child alone: for servers that stop their own workers in order
    /// (PostgreSQL, nginx, ours).
    pub const fn leader(signal: Signal, grace: Duration) -> Self {
        Self {
            signal,
            grace,
            group: false,
        }
    }

    /// `signal` to every process in the child's group.
    pub const fn group(signal: Signal, grace: Duration) -> Self {
        Self {
            signal,
            grace,
            group: true,
        }
    }

    pub(crate) fn send(&self, pid: Pid) -> nix::Result<()> {
        if self.group {
            killpg(pid, self.signal)
        } else {
            kill(pid, self.signal)
        }
    }
}

/// How a child ended when we stopped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It exited by itself or on the stop signal, within the grace period.
    Exited(ExitStatus),
    /// It ignored the stop signal for the whole grace period; its group was killed.
    Killed,
}

/// A child in its own process group that never outlives us: stopped when dropped, and
/// when we die without dropping it ([`crate::owner`]).
#[derive(Debug)]
pub struct Process {
    child: Child,
    stop: Stop,
    ended: Option<Stopped>,
    _ticket: Ticket,
}

impl Process {
    /// Starts `cmd` in a new process group, tied to our life.
    pub fn spawn(cmd: &mut Command, stop: Stop) -> io::Result<Self> {
        owner::sweep();
        cmd.process_group(0);
        tie_to_spawning_thread(cmd, stop.signal);
        let mut child = cmd.spawn()?;
        let ticket = match Ticket::issue(child.id(), &stop) {
            Ok(ticket) => ticket,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(Self {
            child,
            stop,
            ended: None,
            _ticket: ticket,
        })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    fn pid(&self) -> Pid {
        // A pid is a positive i32 on every Unix; std hands it out as u32.
        Pid::from_raw(self.child.id() as i32)
    }

    /// The child's stdout, when it was piped (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's stderr, when it was piped (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// The exit status, once the child has exited.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(Stopped::Exited(status)) = self.ended {
            return Ok(Some(status));
        }
        self.child.try_wait()
    }

    pub fn is_running(&mut self) -> bool {
        self.ended.is_none() && matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` to the child alone.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        kill(self.pid(), signal).map_err(io::Error::from)
    }

    /// Waits at most `limit` for the child to exit by itself.
    pub fn wait_timeout(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(POLL);
        }
    }

    /// The stop signal, up to the grace period to exit, then SIGKILL to the group.
    /// Calling it again returns the first answer.
    pub fn stop(&mut self) -> io::Result<Stopped> {
        if let Some(ended) = self.ended {
            return Ok(ended);
        }
        if let Some(status) = self.child.try_wait()? {
            return Ok(*self.ended.insert(Stopped::Exited(status)));
        }
        // Gone already (ESRCH) or not ours to signal: the wait below tells.
        let _ = self.stop.send(self.pid());
        let ended = match self.wait_timeout(self.stop.grace)? {
            Some(status) => Stopped::Exited(status),
            None => {
                // Not reaped yet, so its group id cannot have been reused.
                let _ = killpg(self.pid(), Signal::SIGKILL);
                self.child.wait()?;
                Stopped::Killed
            }
        };
        Ok(*self.ended.insert(ended))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.stop().is_err() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Linux: the kernel sends the child `signal` when the thread that started it dies, even
/// by SIGKILL. It is set in the child after any uid switch (which would clear it).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn tie_to_spawning_thread(cmd: &mut Command, signal: Signal) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(move || nix::sys::prctl::set_pdeathsig(signal).map_err(io::Error::from));
    }
}

/// Elsewhere (macOS) there is no parent-death signal: the owner tickets do the job.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn tie_to_spawning_thread(_cmd: &mut Command, _signal: Signal) {}

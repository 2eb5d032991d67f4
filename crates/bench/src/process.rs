//! The servers and files a benchmark makes, taken away again on drop (on error too), and
//! what the kernel says about a server's memory.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};
use processes::{Process, Signal, Stop, memory};

/// SIGTERM to the whole group (nginx's workers too), then at most this long to exit.
const STOP: Stop = Stop::group(Signal::SIGTERM, Duration::from_secs(10));

pub use processes::free_port;

/// A directory under the system's temp dir, removed with everything in it on drop.
pub fn temp_dir(prefix: &str) -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-"))
        .tempdir()
        .with_context(|| format!("creating a {prefix} directory under the temp dir"))
}

/// A server under test: its own process group (nginx forks workers), output to a log file,
/// stopped on drop.
pub struct Server {
    pub name: &'static str,
    log: PathBuf,
    process: Process,
}

impl Server {
    pub fn spawn(name: &'static str, mut cmd: Command, log: &Path) -> anyhow::Result<Self> {
        let out = fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone().context("duplicating the log file handle")?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let process = Process::spawn(&mut cmd, STOP).with_context(|| format!("starting {name}"))?;
        Ok(Self {
            name,
            log: log.to_path_buf(),
            process,
        })
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Fails, with the end of its log, when the server has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.process.try_wait().context("checking on the server")? {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!("{} exited ({status}):\n{}", self.name, tail.join("\n"));
        }
        Ok(())
    }

    /// Sum of the peak resident set sizes of the server and every process it forked, in
    /// bytes. Pages shared between them (nginx's binary) are counted in each.
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        self.total(memory::peak_rss)
    }

    /// Sum of the proportional set sizes now, in bytes: shared pages divided between the
    /// processes sharing them, so forked workers are not counted twice.
    pub fn pss(&self) -> anyhow::Result<u64> {
        self.total(memory::pss)
    }

    fn total(&self, read: impl Fn(u32) -> std::io::Result<Option<u64>>) -> anyhow::Result<u64> {
        memory::tree_total(self.pid(), read)
            .with_context(|| format!("reading the memory of {}", self.name))?
            .with_context(|| format!("{} is gone", self.name))
    }

    /// The stop signal to the group, a bounded wait, then SIGKILL to the group.
    pub fn stop(&mut self) {
        if let Ok(processes::Stopped::Killed) = self.process.stop() {
            eprintln!("bench: {} ignored SIGTERM and was killed", self.name);
        }
    }
}

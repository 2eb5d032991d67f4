//! The real `web-server` binary under test, and what `/proc` says about it.

use std::{
    net::SocketAddr,
    process::{Command, ExitStatus},
    time::Duration,
};

use test_support::Running;

/// The `web-server` binary, running until dropped.
pub struct TestBinary {
    process: Running,
    pub addr: SocketAddr,
}

impl TestBinary {
    /// Starts the binary on a free port with `env` on top of [`command`]'s and waits
    /// until it listens.
    pub fn spawn(env: &[(&str, &str)]) -> Self {
        let (process, addr) = Running::spawn_server(command(env));
        Self { process, addr }
    }
}

/// Everything [`Running`] offers (pid, signal, wait_exit, logs, log_events).
impl std::ops::Deref for TestBinary {
    type Target = Running;
    fn deref(&self) -> &Running {
        &self.process
    }
}

impl std::ops::DerefMut for TestBinary {
    fn deref_mut(&mut self) -> &mut Running {
        &mut self.process
    }
}

/// The binary with a clean, JSON-logging configuration on a free loopback port.
pub fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_web-server"));
    for var in web_server::config::VARIABLES {
        cmd.env_remove(var.name);
    }
    cmd.env("WEB_HOST", "127.0.0.1")
        .env("WEB_PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied());
    cmd
}

/// Runs the binary to completion, for configuration errors: (status, stderr).
pub fn run_to_exit(env: &[(&str, &str)]) -> (ExitStatus, String) {
    test_support::run_to_exit(command(env), Duration::from_secs(20))
}

/// The resident size of `pid` now, in KiB; `None` once it has exited.
pub fn rss_kib(pid: u32) -> Option<u64> {
    processes::memory::rss(pid).ok().flatten().map(|b| b / 1024)
}

/// The peak resident size of `pid` (what a memory limit meets), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    processes::memory::peak_rss(pid)
        .ok()
        .flatten()
        .map(|b| b / 1024)
}

/// How many sockets `pid` has open, listening ones included.
pub fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read the binary's descriptors")
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

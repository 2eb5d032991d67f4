//! A binary under test: started with its output captured line by line, found on the port
//! it announces, signalled, waited for, and killed when dropped.
//!
//! The project's servers log `{"message": "listening", "addr": "<ip:port>"}` with
//! `LOG_FORMAT=json`, which is how tests learn the port they were given (`*_PORT=0`).

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use nix::{sys::signal::Signal, unistd::Pid};
use serde_json::Value;

/// How long a server may take to announce its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

type Lines = Arc<Mutex<Vec<String>>>;

pub struct Running {
    child: Child,
    stdout: Lines,
    stderr: Lines,
}

impl Running {
    /// Starts `cmd` with stdout and stderr captured.
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary under test");
        let stdout = collect(child.stdout.take().expect("piped"));
        let stderr = collect(child.stderr.take().expect("piped"));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// Starts a server and waits until it announces where it listens.
    pub fn spawn_server(cmd: Command) -> (Self, SocketAddr) {
        let mut running = Self::spawn(cmd);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let listening = running.log_events().into_iter().find_map(|v| {
                (v["message"] == "listening").then(|| v["addr"].as_str()?.parse().ok())?
            });
            if let Some(addr) = listening {
                return (running, addr);
            }
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!("exited with {status} before listening:\n{}", running.logs());
            }
            assert!(
                Instant::now() < deadline,
                "did not start listening:\n{}",
                running.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: Signal) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits");
        nix::sys::signal::kill(Pid::from_raw(pid), signal).expect("signal the binary");
    }

    /// Waits for the process to exit (panics after `limit`: it hangs).
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the binary") {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything written so far, stdout then stderr.
    pub fn logs(&self) -> String {
        let out = self.stdout.lock().expect("log lock").join("\n");
        let err = self.stderr.lock().expect("log lock").join("\n");
        format!("{out}\n{err}")
    }

    /// The JSON lines of stdout so far.
    pub fn log_events(&self) -> Vec<Value> {
        self.stdout
            .lock()
            .expect("log lock")
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to completion, for configuration errors: (status, stderr). Panics if it is
/// still running after `limit`, since it was expected to refuse to start.
pub fn run_to_exit(mut cmd: Command, limit: Duration) -> (ExitStatus, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary under test");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        let _ = tx.send(std::io::read_to_string(stderr).unwrap_or_default());
    });
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let stderr = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
            return (status, stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}; expected it to refuse the configuration");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn collect(stream: impl Read + Send + 'static) -> Lines {
    let lines = Lines::default();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().expect("log lock").push(line);
        }
    });
    lines
}

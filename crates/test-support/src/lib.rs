//! A binary under test: started with its output captured line by line, found on the port
//! it announces, signalled, waited for, and killed when dropped (or when the test run
//! dies: see the `processes` crate).
//!
//! The project's servers log `{"message": "listening", "addr": "<ip:port>"}` with
//! `LOG_FORMAT=json`, which is how tests learn the port they were given (`*_PORT=0`).

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    process::{Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use processes::{Process, Signal, Stop};
use serde_json::Value;

/// How long a server may take to announce its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// A test is done with its binary: no grace. (It never outlives the test run either.)
const KILL: Stop = Stop::leader(Signal::SIGKILL, Duration::from_secs(5));

type Lines = Arc<Mutex<Vec<String>>>;

pub struct Running {
    child: Process,
    stdout: Lines,
    stderr: Lines,
}

impl Running {
    /// Starts `cmd` with stdout and stderr captured.
    pub fn spawn(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = Process::spawn(&mut cmd, KILL).expect("start the binary under test");
        let stdout = collect(child.take_stdout().expect("piped"));
        let stderr = collect(child.take_stderr().expect("piped"));
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
        self.child.signal(signal).expect("signal the binary");
    }

    /// Waits for the process to exit (panics after `limit`: it hangs).
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        self.child
            .wait_timeout(limit)
            .expect("wait for the binary")
            .unwrap_or_else(|| panic!("still running after {limit:?}"))
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

/// Runs `cmd` to completion, for configuration errors: (status, stderr). Panics if it is
/// still running after `limit`, since it was expected to refuse to start.
pub fn run_to_exit(mut cmd: Command, limit: Duration) -> (ExitStatus, String) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = Process::spawn(&mut cmd, KILL).expect("start the binary under test");
    let (tx, rx) = mpsc::channel();
    let stderr = child.take_stderr().expect("piped");
    std::thread::spawn(move || {
        let _ = tx.send(std::io::read_to_string(stderr).unwrap_or_default());
    });
    let Some(status) = child.wait_timeout(limit).expect("wait") else {
        panic!("still running after {limit:?}; expected it to refuse the configuration");
    };
    let stderr = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    (status, stderr)
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

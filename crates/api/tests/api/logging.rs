//! Logging under hostile clients and failing sinks: a stdout nobody reads, stdout and
//! stderr closed, malformed requests by the hundred, a config file whose error would quote
//! a password, request ids that would forge log fields. Each runs the real binary with its
//! output wired as the failure needs; the time bounds are ones only a hang would miss.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, ChildStderr, ChildStdout, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use nix::{
    fcntl::{FcntlArg, fcntl},
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use serde_json::Value;

use crate::helpers::{REQUEST_TIMEOUT, TestApi, api_command, migrated_database, run_to_exit};

/// How long the binary may take to announce its address, or to exit after SIGTERM.
const PATIENCE: Duration = Duration::from_secs(30);

/// A request the HTTP parser refuses (a header line without a colon): actix-http answers
/// 400 and logs `stream error: Request parse error: Invalid Header provided`.
const MALFORMED: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n";

/// The `api` binary with its stdout and stderr in the test's hands; killed when dropped.
struct Wired {
    child: Child,
    addr: String,
    http: reqwest::Client,
}

impl Drop for Wired {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Wired {
    /// Starts the binary on a migrated database with `env`, reads its stdout up to the
    /// `listening` line (JSON or text) and hands back both pipes, unread from there on.
    /// With `pipe_bytes`, stdout's pipe holds only that much.
    async fn spawn(
        env: &[(&str, &str)],
        pipe_bytes: Option<i32>,
    ) -> (Self, BufReader<ChildStdout>, ChildStderr) {
        let url = migrated_database().await;
        let mut cmd = api_command();
        cmd.env("DATABASE_URL", &url)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start the api");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut wired = Self {
            child,
            addr: String::new(),
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("http client"),
        };
        if let Some(bytes) = pipe_bytes {
            fcntl(&stdout, FcntlArg::F_SETPIPE_SZ(bytes)).expect("resize the stdout pipe");
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send((addr, reader));
                    return;
                }
                line.clear();
            }
        });
        let (addr, stdout) = rx
            .recv_timeout(PATIENCE)
            .expect("the api announces where it listens");
        wired.addr = addr;
        (wired, stdout, stderr)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn status(&self, path: &str) -> u16 {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} answered: {e}"))
            .status()
            .as_u16()
    }

    fn signal(&self, signal: Signal) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits");
        kill(Pid::from_raw(pid), signal).expect("signal the api");
    }

    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the api") {
                return status;
            }
            assert!(Instant::now() < deadline, "still running {limit:?} later");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The address in a `listening` line: `{"message":"listening","addr":…}` or
/// `… listening addr=127.0.0.1:1234 …`.
fn listening_addr(line: &str) -> Option<String> {
    if let Ok(event) = serde_json::from_str::<Value>(line) {
        return (event["message"] == "listening")
            .then(|| event["addr"].as_str().map(str::to_owned))
            .flatten();
    }
    let rest = line.split_once(" listening addr=")?.1;
    rest.split_whitespace().next().map(str::to_owned)
}

/// Sends `request` on a fresh connection and reads the answer to its end (or the timeout).
fn exchange(addr: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .expect("read timeout");
    stream.write_all(request).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// The lines `stdout` goes on to write, as they come.
fn lines_of(stdout: BufReader<ChildStdout>) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Before the fix, tracing wrote to stdout in the worker threads: once the pipe was full,
/// each malformed request's ERROR line blocked a worker, and `/healthz` hung with them.
/// The pipe stays full to the end, SIGTERM included.
#[tokio::test]
async fn a_stdout_nobody_reads_does_not_stall_serving() {
    // With the demoted lines shown, the malformed requests fill the pipe themselves.
    for filter in ["info", "info,client_error=debug"] {
        let (mut api, stdout, stderr) = Wired::spawn(&[("RUST_LOG", filter)], Some(4096)).await;
        // About 200 bytes of access log each: the 4 KiB pipe is full many times over.
        for _ in 0..100 {
            assert_eq!(api.status("/healthz").await, 200, "{filter}");
        }
        let addr = api.addr.clone();
        tokio::task::spawn_blocking(move || {
            for _ in 0..531 {
                let answer = exchange(&addr, MALFORMED);
                assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
            }
        })
        .await
        .expect("the malformed requests were answered");
        assert_eq!(api.status("/healthz").await, 200, "{filter}");
        assert_eq!(api.status("/ready").await, 200, "{filter}");
        // Nor the exit: the lines still queued get a bounded time to drain.
        api.signal(Signal::SIGTERM);
        let status = api.wait_exit(PATIENCE);
        assert!(status.success(), "{filter}: exit {status}");
        // Held unread until here.
        drop((stdout, stderr));
    }
}

/// Before the fix, the shutdown task panicked in its first log line (tracing-subscriber
/// reporting the failed write with `eprintln!`, which panics on a closed stderr), so the
/// API went on serving after SIGTERM.
#[tokio::test]
async fn sigterm_is_obeyed_with_stdout_and_stderr_closed() {
    let (mut api, stdout, stderr) = Wired::spawn(&[], None).await;
    drop((stdout, stderr));
    // Lines written after the close meet a broken pipe.
    for _ in 0..20 {
        assert_eq!(api.status("/healthz").await, 200);
    }
    let addr = api.addr.clone();
    tokio::task::spawn_blocking(move || exchange(&addr, MALFORMED))
        .await
        .expect("answered");
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.signal(Signal::SIGTERM);
    let status = api.wait_exit(PATIENCE);
    assert!(status.success(), "exit {status}");
}

#[tokio::test]
async fn malformed_requests_are_logged_at_debug_not_error() {
    for (filter, shown) in [
        // `listening` tells the test the port.
        ("warn,api::startup=info,api::request=info", false),
        ("info,client_error=debug", true),
    ] {
        let api = TestApi::spawn_on(&migrated_database().await, &[("RUST_LOG", filter)]);
        let addr = api.addr.clone();
        tokio::task::spawn_blocking(move || exchange(&addr, MALFORMED))
            .await
            .expect("answered");
        // Logged after the malformed one, so once it is there, the other would be too.
        let res = api
            .http
            .get(api.url("/healthz"))
            .header("x-request-id", "after-the-malformed-one")
            .send()
            .await
            .expect("answered");
        assert_eq!(res.status(), 200);
        let mut events = Vec::new();
        crate::helpers::eventually(Duration::from_secs(10), "the access line", || {
            events = api.log_events();
            let done = events
                .iter()
                .any(|e| e["request_id"] == "after-the-malformed-one");
            async move { done }
        })
        .await;
        assert!(
            !events.iter().any(|e| e["level"] == "ERROR"),
            "{filter}: {events:#?}"
        );
        let demoted: Vec<&Value> = events
            .iter()
            .filter(|e| {
                e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("stream error: "))
            })
            .collect();
        if shown {
            assert_eq!(demoted.len(), 1, "{filter}: {events:#?}");
            assert_eq!(demoted[0]["level"], "DEBUG");
            assert_eq!(demoted[0]["target"], "client_error");
        } else {
            assert!(demoted.is_empty(), "{filter}: {demoted:#?}");
        }
    }
}

#[test]
fn a_config_file_syntax_error_gives_the_place_but_never_the_secret() {
    let dir = std::env::temp_dir().join(format!("api-logging-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, text, line) in [
        ("pass.toml", "api_port = \"0\"\ndb_pass = \"S3cr3t\n", 2),
        (
            "url.toml",
            "database_url = \"postgres://app:S3cr3t@db:5432/app\n",
            1,
        ),
    ] {
        let file = dir.join(name);
        std::fs::write(&file, text).expect("write the config file");
        let file = file.to_string_lossy().into_owned();
        let (status, stderr) = run_to_exit(&[("CONFIG_FILE", &file)]);
        assert!(!status.success(), "{name} was accepted");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
        assert!(!stderr.contains("S3cr3t"), "the password leaked: {stderr}");
        assert!(
            stderr.contains(&format!("CONFIG_FILE {file}"))
                && stderr.contains(&format!("line {line}, column ")),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The text format writes the request id unquoted, so `a b status=200` would have added a
/// field to the line: such an id is replaced by a fresh UUID, in the answer and the log.
#[tokio::test]
async fn a_forged_request_id_is_replaced_by_a_fresh_uuid() {
    let (api, stdout, _stderr) = Wired::spawn(&[("LOG_FORMAT", "text")], None).await;
    let mut lines = lines_of(stdout);
    let too_long = "a".repeat(129);
    let kept = "caller.id_1:2-3";
    for forged in ["a b status=200", "a=b", "a\"b", too_long.as_str(), kept] {
        let res = api
            .http
            .get(api.url("/nope"))
            .header("x-request-id", forged)
            .send()
            .await
            .expect("answered");
        assert_eq!(res.status(), 404);
        let id = res.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        if forged == kept {
            assert_eq!(id, kept);
        } else {
            assert!(
                uuid::Uuid::parse_str(&id).is_ok(),
                "{forged:?} became {id:?}"
            );
        }
        let access_line = async {
            while let Some(line) = lines.recv().await {
                if line.contains(" api::request: request ") {
                    return line;
                }
            }
            panic!("stdout ended")
        };
        let line = tokio::time::timeout(Duration::from_secs(10), access_line)
            .await
            .unwrap_or_else(|_| panic!("no access line for {forged:?}"));
        let (request_id, rest) = line
            .split_once(" trace_id=")
            .unwrap_or_else(|| panic!("no trace id in {line}"));
        assert!(
            request_id.ends_with(&format!(" request_id={id}"))
                && rest.split_once(' ').is_some_and(|(trace, rest)| {
                    trace.len() == 32 && rest.starts_with("method=GET path=/nope status=404 ")
                }),
            "{line}"
        );
        assert_eq!(line.matches("status=").count(), 1, "{line}");
    }
}

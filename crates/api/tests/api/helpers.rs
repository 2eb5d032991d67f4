use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use nix::{sys::signal::Signal, unistd::Pid};
use serde_json::Value;

/// Bounds every request, so a hang fails the test instead of stalling it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A fresh, migrated database on the shared test server.
pub async fn migrated_database() -> String {
    let url = empty_database().await;
    migrate(&url).await;
    url
}

pub async fn empty_database() -> String {
    let admin = local_pg::shared_admin_url().expect("a PostgreSQL server for the tests");
    local_pg::fresh_database(&admin)
        .await
        .expect("create a test database")
}

pub async fn migrate(url: &str) {
    let mut client = connect(url).await;
    migrator::up(&mut client, None)
        .await
        .expect("migrations apply");
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(conn);
    client
}

/// The `api` binary, running until dropped.
pub struct TestApi {
    child: Child,
    pub addr: String,
    pub db_url: String,
    pub http: reqwest::Client,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl TestApi {
    /// On a fresh migrated database.
    pub async fn spawn() -> Self {
        Self::spawn_on(&migrated_database().await, &[])
    }

    /// Starts the binary with `DATABASE_URL=db_url` plus `env`, on a free port, logging
    /// JSON, and waits until it listens.
    pub fn spawn_on(db_url: &str, env: &[(&str, &str)]) -> Self {
        let mut all = vec![("DATABASE_URL", db_url)];
        all.extend_from_slice(env);
        let mut api = Self::spawn_split(&all);
        api.db_url = db_url.to_owned();
        api
    }

    /// Starts the binary with exactly `env` on top of [`api_command`]'s defaults.
    pub fn spawn_split(env: &[(&str, &str)]) -> Self {
        let mut cmd = api_command();
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("start the api binary");
        let stdout = collect(child.stdout.take().expect("piped"));
        let stderr = collect(child.stderr.take().expect("piped"));

        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let listening = stdout.lock().expect("log lock").iter().find_map(|l| {
                let v: Value = serde_json::from_str(l).ok()?;
                (v["message"] == "listening").then(|| v["addr"].as_str().map(str::to_owned))?
            });
            if let Some(addr) = listening {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "api exited with {status} before listening: {:?}",
                    stderr.lock()
                );
            }
            assert!(Instant::now() < deadline, "api did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        };
        Self {
            child,
            addr,
            db_url: String::new(),
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("http client"),
            stdout,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("GET answered")
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .send()
            .await
            .expect("POST answered")
    }

    pub fn signal(&self, signal: Signal) {
        nix::sys::signal::kill(Pid::from_raw(self.child.id() as i32), signal)
            .expect("signal the api");
    }

    /// Waits for the process to exit (panics after `limit`: it hangs).
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the api") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "api still running after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything logged so far, stdout then stderr.
    pub fn logs(&self) -> String {
        let out = self.stdout.lock().expect("log lock").join("\n");
        let err = self.stderr.lock().expect("log lock").join("\n");
        format!("{out}\n{err}")
    }

    /// The JSON log lines so far.
    pub fn log_events(&self) -> Vec<Value> {
        self.stdout
            .lock()
            .expect("log lock")
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for TestApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary with a clean, JSON-logging configuration on a free loopback port.
pub fn api_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_api"));
    for var in api::configuration::VARIABLES {
        cmd.env_remove(var);
    }
    cmd.env("API_HOST", "127.0.0.1")
        .env("API_PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().expect("log lock").push(line);
        }
    });
    lines
}

/// Runs the binary to completion with `env`, for configuration errors.
pub fn run_to_exit(env: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut cmd = api_command();
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().expect("start the api binary");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        let text = std::io::read_to_string(stderr).unwrap_or_default();
        let _ = tx.send(text);
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let stderr = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
            return (status, stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("api kept running with {env:?}; expected it to refuse the configuration");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `check` until it returns true, failing after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn json(res: reqwest::Response) -> Value {
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "JSON content type"
    );
    res.json().await.expect("a JSON body")
}

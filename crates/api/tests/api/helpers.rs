use std::{
    process::{Command, ExitStatus},
    time::{Duration, Instant},
};

use serde_json::Value;
use test_support::Running;

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
    process: Running,
    pub addr: String,
    pub db_url: String,
    pub http: reqwest::Client,
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
        let (process, addr) = Running::spawn_server(cmd);
        Self {
            process,
            addr: addr.to_string(),
            db_url: String::new(),
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("http client"),
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
}

/// Everything [`Running`] offers (pid, signal, wait_exit, logs, log_events).
impl std::ops::Deref for TestApi {
    type Target = Running;
    fn deref(&self) -> &Running {
        &self.process
    }
}

impl std::ops::DerefMut for TestApi {
    fn deref_mut(&mut self) -> &mut Running {
        &mut self.process
    }
}

/// The binary with a clean, JSON-logging configuration on a free loopback port.
pub fn api_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_api"));
    for var in api::configuration::VARIABLES {
        cmd.env_remove(var.name);
    }
    cmd.env("API_HOST", "127.0.0.1")
        .env("API_PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info");
    cmd
}

/// Runs the binary to completion with `env`, for configuration errors: (status, stderr).
pub fn run_to_exit(env: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut cmd = api_command();
    cmd.envs(env.iter().copied());
    test_support::run_to_exit(cmd, Duration::from_secs(20))
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

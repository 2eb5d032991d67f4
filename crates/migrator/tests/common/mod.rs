//! Shared by the integration tests: a fresh database per test on a real PostgreSQL, and
//! the real `migrator` binary run as a child process that never outlives its test.

#![allow(dead_code)] // each test crate uses its own subset

use std::{
    io::Read,
    process::{Child, Command, ExitStatus, Stdio},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use tokio_postgres::{Client, NoTls};

/// A bound that only a hung migrator reaches; not a speed assertion.
const HANG_LIMIT: Duration = Duration::from_secs(180);

/// A server of the test's own with an empty database, stopped; and that database's URL.
/// Call it in the thread that will own the server: the server is signalled when the thread
/// that started it ends.
pub fn stopped_server_with_a_database() -> (local_pg::LocalPg, String) {
    let mut pg = local_pg::LocalPg::ephemeral().expect("a dedicated PostgreSQL server");
    let url = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(local_pg::fresh_database(&pg.admin_url()))
        .expect("a fresh database");
    pg.stop().expect("stop the server");
    (pg, url)
}

/// An empty database of its own for one test.
pub async fn fresh_db() -> String {
    let admin = local_pg::shared_admin_url().expect("a PostgreSQL server for the tests");
    local_pg::fresh_database(&admin)
        .await
        .expect("create a fresh database")
}

pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

pub async fn count(client: &Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

pub async fn table_exists(client: &Client, name: &str) -> bool {
    client
        .query_one("select to_regclass($1) is not null", &[&name])
        .await
        .expect("to_regclass")
        .get(0)
}

/// The migrator binary with only the settings a test gives it: nothing leaks in from the
/// environment `cargo test` runs in.
pub fn migrator(database_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrator"));
    cmd.args(args).env_clear().env("DATABASE_URL", database_url);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

/// Runs to completion; see [`Running`].
pub fn run(cmd: &mut Command) -> Finished {
    Running::spawn(cmd).finish()
}

/// A child process, killed if the test ends (or panics) before it does.
pub struct Running {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    pub fn spawn(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the migrator");
        // Drained on threads so a chatty child never blocks on a full pipe.
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub fn finish(mut self) -> Finished {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                break status;
            }
            assert!(
                started.elapsed() < HANG_LIMIT,
                "the migrator hung for {HANG_LIMIT:?}"
            );
            thread::sleep(Duration::from_millis(20));
        };
        let join = |h: Option<JoinHandle<String>>| {
            h.map(|h| h.join().expect("reader thread"))
                .unwrap_or_default()
        };
        Finished {
            status,
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn success(&self) -> &Self {
        assert!(self.status.success(), "migrator failed: {self:#?}");
        self
    }

    /// Exit code 1 and exactly one `migrator: ` line on stderr, which is returned.
    pub fn failure(&self) -> String {
        assert_eq!(self.status.code(), Some(1), "{self:#?}");
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("migrator: "))
            .collect();
        assert_eq!(lines.len(), 1, "one error line expected: {self:#?}");
        lines[0].to_owned()
    }

    pub fn all_output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

//! The API against the physical limit: PostgreSQL's own pgbench running the API's statements
//! (prepared, as the API prepares them) with as many connections as the load has, against the
//! same server; then the API's peak memory under that load and its time from start to ready.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use local_pg::{Binaries, LocalPg};
use serde_json::{Value, json};

use super::{
    Settings, http, pgbench,
    process::{self, Server, TempDir},
    report::{self, Verdict},
    wrk,
};
use crate::project;

/// Clients on both sides: HTTP connections for wrk, database connections for pgbench and in
/// the API's pool.
const CONNECTIONS: u32 = 32;
/// Target: the API at this fraction of pgbench's transactions per second, or better.
const RATIO_TARGET: f64 = 0.9;
/// Target: peak RSS under load.
const RSS_TARGET: u64 = 32 * 1024 * 1024;
/// Target: start to `/ready` 200, with the database up.
const START_TARGET: Duration = Duration::from_millis(100);
/// Starts measured for the start-to-ready figure (the median is reported).
const STARTS: usize = 5;

struct Scenario {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    /// The statement the API runs for it, as pgbench runs it.
    sql: &'static str,
    status: u16,
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "GET /randoms (latest 10)",
        method: "GET",
        path: "/randoms",
        sql: "SELECT id, name, created_at FROM randoms ORDER BY id DESC LIMIT 10;",
        status: 200,
    },
    Scenario {
        name: "POST /randoms (insert 1)",
        method: "POST",
        path: "/randoms",
        sql: "INSERT INTO randoms DEFAULT VALUES RETURNING id, name, created_at;",
        status: 201,
    },
];

struct Row {
    scenario: &'static Scenario,
    api: wrk::Stats,
    pgbench: pgbench::Stats,
}

pub struct Outcome {
    rows: Vec<Row>,
    peak_rss: u64,
    starts: Vec<Duration>,
    wrk: String,
    pgbench: String,
    postgres: String,
}

struct Lab {
    tmp: TempDir,
    api: PathBuf,
    url: String,
    pgbench: PathBuf,
}

pub fn run(settings: &Settings) -> anyhow::Result<Outcome> {
    project::run(
        "building the API and the migrator (release)",
        project::cargo(&[
            "build",
            "--release",
            "--locked",
            "--package",
            "api",
            "--package",
            "migrator",
        ]),
    )?;
    let release = project::target_dir().join("release");
    let bins = Binaries::find().context("finding PostgreSQL's programs")?;
    let pg = LocalPg::ephemeral().context("starting PostgreSQL")?;
    let url = pg.url_for("postgres");
    let migrate = Command::new(release.join("migrator"))
        .env("DATABASE_URL", &url)
        .output()
        .context("running the migrator")?;
    if !migrate.status.success() {
        bail!(
            "the migrator failed: {}",
            String::from_utf8_lossy(&migrate.stderr).trim()
        );
    }
    let lab = Lab {
        tmp: TempDir::new("xtask-bench-api")?,
        api: release.join("api"),
        url,
        pgbench: bins.path("pgbench"),
    };
    let load = wrk::Load {
        connections: CONNECTIONS,
        ..settings.load
    };
    let pgbench_run = |sql, duration| pgbench::Run {
        pgbench: &lab.pgbench,
        url: &lab.url,
        sql,
        clients: CONNECTIONS,
        threads: settings.load.threads,
        duration,
        dir: lab.tmp.path(),
    };

    let port = process::free_port()?;
    let mut api = lab.start(port, "api-load")?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&mut api, &base)?;
    let post_script = lab.tmp.path().join("post.lua");
    std::fs::write(&post_script, "wrk.method = \"POST\"\n").context("writing post.lua")?;

    let mut rows = Vec::new();
    for (i, scenario) in SCENARIOS.iter().enumerate() {
        let url = format!("{base}{}", scenario.path);
        verify(&url, scenario)?;
        let script = (scenario.method == "POST").then_some(post_script.as_path());
        let mut measure_api = |settings: &Settings| -> anyhow::Result<wrk::Stats> {
            eprintln!("xtask: bench: {} on the API", scenario.name);
            let warm = wrk::Load {
                duration: settings.warmup,
                ..load
            };
            wrk::run_with(&warm, &url, None, script)?;
            settings.check_interrupted()?;
            let stats = wrk::run_with(&load, &url, None, script)?;
            settings.check_interrupted()?;
            api.check_running().context("the API died under load")?;
            eprintln!(
                "xtask: bench:   {} req/s, p99 {}",
                report::rate(stats.requests_per_sec),
                report::millis(stats.latency_p99)
            );
            Ok(stats)
        };
        let measure_pgbench = |settings: &Settings| -> anyhow::Result<pgbench::Stats> {
            eprintln!("xtask: bench: {} with pgbench", scenario.name);
            pgbench_run(scenario.sql, settings.warmup).run("warm-up")?;
            settings.check_interrupted()?;
            let stats = pgbench_run(scenario.sql, settings.load.duration).run("load")?;
            settings.check_interrupted()?;
            eprintln!(
                "xtask: bench:   {} tx/s, p99 {}",
                report::rate(stats.tps),
                report::millis(stats.latency_p99)
            );
            Ok(stats)
        };
        // Alternate who goes first, so a drift in the machine's load favours neither.
        let (api_stats, pgbench_stats) = if i % 2 == 0 {
            let a = measure_api(settings)?;
            (a, measure_pgbench(settings)?)
        } else {
            let p = measure_pgbench(settings)?;
            (measure_api(settings)?, p)
        };
        rows.push(Row {
            scenario,
            api: api_stats,
            pgbench: pgbench_stats,
        });
    }
    let peak_rss = api.peak_rss()?;
    api.stop();

    let mut starts = Vec::new();
    for n in 0..STARTS {
        settings.check_interrupted()?;
        let port = process::free_port()?;
        let started = Instant::now();
        let mut api = lab.start(port, &format!("api-start-{n}"))?;
        wait_ready(&mut api, &format!("http://127.0.0.1:{port}"))?;
        starts.push(started.elapsed());
    }
    eprintln!("xtask: bench: start to ready: {:?}", starts);

    Ok(Outcome {
        rows,
        peak_rss,
        starts,
        wrk: load.describe(),
        pgbench: pgbench_run("", settings.load.duration).describe(),
        postgres: postgres_version(&bins),
    })
}

impl Lab {
    /// The release API on `port`, the pool as large as the load's connection count, logging
    /// one JSON line per request as deployed.
    fn start(&self, port: u16, log: &str) -> anyhow::Result<Server> {
        let mut cmd = Command::new(&self.api);
        cmd.env_remove("CONFIG_FILE")
            .env("API_HOST", "127.0.0.1")
            .env("API_PORT", port.to_string())
            .env("DATABASE_URL", &self.url)
            .env("DB_POOL_MAX_SIZE", CONNECTIONS.to_string())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info");
        let log = self.tmp.path().join(format!("{log}.log"));
        Server::spawn("api", cmd, &log)
    }
}

/// Polls `/ready` until 200 (every millisecond: the start time is measured with it).
fn wait_ready(api: &mut Server, base: &str) -> anyhow::Result<()> {
    let url = format!("{base}/ready");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        api.check_running()?;
        if http::get(&url, None).is_ok_and(|a| a.status == 200) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the API was not ready within 15 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The API must answer the scenario's request as expected before it is loaded.
fn verify(url: &str, scenario: &Scenario) -> anyhow::Result<()> {
    let status = match scenario.method {
        "POST" => ureq::post(url)
            .config()
            .http_status_as_error(false)
            .build()
            .send_empty()
            .map(|r| r.status().as_u16()),
        _ => ureq::get(url)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .map(|r| r.status().as_u16()),
    }
    .with_context(|| format!("{} {url}", scenario.method))?;
    if status != scenario.status {
        bail!(
            "{} {url} answered {status}, expected {}",
            scenario.method,
            scenario.status
        );
    }
    Ok(())
}

fn postgres_version(bins: &Binaries) -> String {
    Command::new(bins.path("postgres"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

impl Row {
    fn ratio(&self) -> f64 {
        self.api.requests_per_sec / self.pgbench.tps.max(f64::MIN_POSITIVE)
    }

    fn verdict(&self) -> Verdict {
        if self.api.errors() > 0 || self.pgbench.failed > 0 {
            Verdict::Invalid
        } else {
            Verdict::from_bool(self.ratio() >= RATIO_TARGET)
        }
    }
}

impl Outcome {
    pub fn markdown(&self, settings: &Settings, date: &str) -> String {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.scenario.name.to_owned(),
                    report::rate(r.api.requests_per_sec),
                    report::rate(r.pgbench.tps),
                    format!("{:.2}× {}", r.ratio(), r.verdict().label()),
                    report::millis(r.api.latency_p50),
                    report::millis(r.api.latency_p99),
                    report::millis(r.pgbench.latency_p50),
                    report::millis(r.pgbench.latency_p99),
                ]
            })
            .collect();
        let mut out = report::table(
            &[
                "scenario",
                "API req/s",
                "pgbench tx/s",
                &format!("ratio (target ≥ {RATIO_TARGET}×)"),
                "API p50",
                "API p99",
                "pgbench p50",
                "pgbench p99",
            ],
            &rows,
        );
        let start = median(&self.starts);
        out.push_str(&format!(
            "\nAPI peak RSS under this load: {} (target ≤ {}): {}\n\
             API start to `/ready` 200, database up: median {} of {} starts (target < {}): {}\n",
            report::mib(self.peak_rss),
            report::mib(RSS_TARGET),
            Verdict::from_bool(self.peak_rss <= RSS_TARGET).label(),
            report::millis(start),
            self.starts.len(),
            report::millis(START_TARGET),
            Verdict::from_bool(start < START_TARGET).label(),
        ));
        out.push_str(&format!(
            "\nMeasured {date}: the API (release, pool of {CONNECTIONS}, JSON access log on) under \
             `{}` after a {} s warm-up, against `{}` running the same statement on the same \
             server ({}, started by local-pg with fsync off, so neither side waits for the disk), \
             one after the other, on {} cores shared by everything.{}\n",
            self.wrk,
            settings.warmup.as_secs(),
            self.pgbench,
            self.postgres,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            if settings.quick {
                " Quick run (--quick): indicative only."
            } else {
                ""
            }
        ));
        out
    }

    pub fn json(&self, settings: &Settings) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "scenario": r.scenario.name,
                    "sql": r.scenario.sql,
                    "api": {
                        "requests_per_sec": r.api.requests_per_sec,
                        "requests": r.api.requests,
                        "latency_p50_ms": r.api.latency_p50.as_secs_f64() * 1e3,
                        "latency_p99_ms": r.api.latency_p99.as_secs_f64() * 1e3,
                        "errors": r.api.errors(),
                    },
                    "pgbench": {
                        "tps": r.pgbench.tps,
                        "transactions": r.pgbench.transactions,
                        "latency_p50_ms": r.pgbench.latency_p50.as_secs_f64() * 1e3,
                        "latency_p99_ms": r.pgbench.latency_p99.as_secs_f64() * 1e3,
                        "failed": r.pgbench.failed,
                    },
                    "ratio": r.ratio(),
                    "target": RATIO_TARGET,
                    "verdict": r.verdict().key(),
                })
            })
            .collect();
        let start = median(&self.starts);
        json!({
            "comparison": "api vs pgbench",
            "quick": settings.quick,
            "connections": CONNECTIONS,
            "wrk": self.wrk,
            "pgbench": self.pgbench,
            "postgres": self.postgres,
            "rows": rows,
            "peak_rss_bytes": self.peak_rss,
            "peak_rss_target_bytes": RSS_TARGET,
            "peak_rss_verdict": Verdict::from_bool(self.peak_rss <= RSS_TARGET).key(),
            "start_to_ready_ms": self.starts.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
            "start_to_ready_median_ms": start.as_secs_f64() * 1e3,
            "start_to_ready_target_ms": START_TARGET.as_secs_f64() * 1e3,
            "start_to_ready_verdict": Verdict::from_bool(start < START_TARGET).key(),
        })
    }
}

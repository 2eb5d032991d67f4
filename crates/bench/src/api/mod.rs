//! The API against the physical limit: PostgreSQL's own pgbench running the API's statements
//! (prepared, as the API prepares them) with as many connections as the load has, against the
//! same server; the API exporting every request's spans against the API tracing nothing;
//! then the API's peak memory under that load and its time from start to ready.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use local_pg::{Binaries, LocalPg};

use crate::{
    Settings, http,
    median::Median,
    pgbench,
    process::{self, Server},
    project, report, wrk,
};

mod table;

/// Clients on both sides: HTTP connections for wrk, database connections for pgbench and in
/// the API's pool.
const CONNECTIONS: u32 = 32;
/// Target: the API at this fraction of pgbench's transactions per second, or better.
const RATIO_TARGET: f64 = 0.9;
/// Target: the API exporting every span at this fraction of its throughput without, or better.
const TRACED_TARGET: f64 = 0.9;
/// Target: peak RSS under load.
const RSS_TARGET: u64 = 32 * 1024 * 1024;
/// Target: start to `/ready` 200, with the database up.
const START_TARGET: Duration = Duration::from_millis(100);
/// Starts measured for the start-to-ready figure (the median is reported).
const STARTS: usize = 5;
/// The load with tracing off and on is measured in slices this long, the servers taking
/// turns (see `run`), for twice the load's duration each, or up to [`MORE_ROUNDS`] times
/// that: one-second slices of a server move by ±10–15% on two shared cores, so a ratio
/// needs many.
const SLICE: Duration = Duration::from_secs(1);
/// Rounds, as a multiple of the first, that a scenario may take while a traced median's
/// confidence interval leaves its verdict undecided.
const MORE_ROUNDS: u32 = 4;

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
    /// The same load, in slices between the traced ones, on the API (tracing off).
    untraced: wrk::Stats,
    /// For each of [`Tracing::all`], its throughput over tracing off's in each round.
    round_ratios: Vec<Vec<f64>>,
    /// Rounds of slices each server was measured in.
    rounds: u32,
    /// The same load on the API with each of [`Tracing::ALL`] (in that order).
    traced: Vec<wrk::Stats>,
    /// The spans each of those dropped over this scenario's loads.
    dropped: Vec<f64>,
}

/// The API with spans exported, as measured against it tracing nothing.
struct Tracing {
    /// What the report calls it.
    name: String,
    sampler: String,
    ratio: String,
}

impl Tracing {
    /// Every span (what `cargo xtask dev` does, the most it can cost), then as the prod
    /// overlay deploys it.
    fn all() -> anyhow::Result<Vec<Tracing>> {
        let (sampler, ratio) = prod_sampler()?;
        Ok(vec![
            Tracing {
                name: "every span (`always_on`)".to_owned(),
                sampler: "always_on".to_owned(),
                ratio: "1.0".to_owned(),
            },
            Tracing {
                name: format!("as prod samples (`{sampler}` {ratio})"),
                sampler,
                ratio,
            },
        ])
    }
}

/// `OTEL_TRACES_SAMPLER` and its argument as the prod overlay sets them for the API.
fn prod_sampler() -> anyhow::Result<(String, String)> {
    let path = project::root()?.join("deploy/overlays/prod/kustomization.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let literal = |name: &str| {
        let prefix = format!("- {name}=");
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&prefix))
            .map(str::to_owned)
            .with_context(|| format!("no {name} literal in {}", path.display()))
    };
    Ok((
        literal("OTEL_TRACES_SAMPLER")?,
        literal("OTEL_TRACES_SAMPLER_ARG")?,
    ))
}

pub struct Outcome {
    rows: Vec<Row>,
    /// What each traced API ([`Tracing::all`]) was and exported and dropped over its loads.
    tracings: Vec<(Tracing, Spans)>,
    /// Export requests the stand-in collector answered, from every traced API.
    export_requests: u64,
    /// Rounds a scenario may take ([`MORE_ROUNDS`]).
    most_rounds: u32,
    peak_rss: u64,
    starts: Vec<Duration>,
    wrk: String,
    pgbench: String,
    postgres: String,
}

struct Lab {
    tmp: tempfile::TempDir,
    api: PathBuf,
    url: String,
    pgbench: PathBuf,
}

pub fn run(settings: &Settings) -> anyhow::Result<Outcome> {
    project::run(
        "building the API, the migrator and the stand-in collector (release)",
        project::cargo([
            "build",
            "--release",
            "--locked",
            "--package",
            "api",
            "--package",
            "migrator",
            // Its one binary, `otlp-discard` (`--bin` would leave out the others').
            "--package",
            "otlp-receiver",
        ])?,
    )?;
    let release = project::target_dir()?.join("release");
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
        tmp: process::temp_dir("bench-api")?,
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
    let mut api = lab.start(port, "api-load", &[])?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&mut api, &base)?;
    // The same API exporting spans to a collector that accepts them unread (as one on
    // another machine would cost this one), once per way of tracing; idle while another is
    // measured.
    let mut collector = Collector::start(&release.join("otlp-discard"))?;
    let endpoint = collector.endpoint.clone();
    let tracings = Tracing::all()?;
    let mut traced = Vec::new();
    for (n, tracing) in tracings.iter().enumerate() {
        let port = process::free_port()?;
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_TRACES_SAMPLER", tracing.sampler.as_str()),
            ("OTEL_TRACES_SAMPLER_ARG", tracing.ratio.as_str()),
        ];
        let mut server = lab.start(port, &format!("api-traced-{n}"), &env)?;
        let base = format!("http://127.0.0.1:{port}");
        wait_ready(&mut server, &base)?;
        traced.push((server, base));
    }
    let post_script = lab.tmp.path().join("post.lua");
    std::fs::write(&post_script, "wrk.method = \"POST\"\n").context("writing post.lua")?;

    let rounds = u32::try_from(2 * load.duration.as_millis() / SLICE.as_millis())
        .unwrap_or(u32::MAX)
        .max(2);
    let most_rounds = rounds.saturating_mul(MORE_ROUNDS);
    let mut rows = Vec::new();
    for (i, scenario) in SCENARIOS.iter().enumerate() {
        let url = format!("{base}{}", scenario.path);
        verify(&url, scenario)?;
        let script = (scenario.method == "POST").then_some(post_script.as_path());
        // `warm`: a warm-up first (a server's first load in a scenario).
        let measure = |settings: &Settings,
                       api: &mut Server,
                       url: &str,
                       what: &str,
                       load: wrk::Load,
                       warm: bool|
         -> anyhow::Result<wrk::Stats> {
            eprintln!("bench: {} on the API{what}", scenario.name);
            if warm {
                let warm = wrk::Load {
                    duration: settings.warmup,
                    ..load
                };
                wrk::run_with(&warm, url, None, script)?;
                settings.check_interrupted()?;
            }
            let stats = wrk::run_with(&load, url, None, script)?;
            settings.check_interrupted()?;
            api.check_running().context("the API died under load")?;
            eprintln!(
                "bench:   {} req/s, p99 {}",
                report::rate(stats.requests_per_sec),
                report::millis(stats.latency_p99)
            );
            Ok(stats)
        };
        let measure_pgbench = |settings: &Settings| -> anyhow::Result<pgbench::Stats> {
            eprintln!("bench: {} with pgbench", scenario.name);
            pgbench_run(scenario.sql, settings.warmup).run("warm-up")?;
            settings.check_interrupted()?;
            let stats = pgbench_run(scenario.sql, settings.load.duration).run("load")?;
            settings.check_interrupted()?;
            eprintln!(
                "bench:   {} tx/s, p99 {}",
                report::rate(stats.tps),
                report::millis(stats.latency_p99)
            );
            Ok(stats)
        };
        let mut measure_api =
            |settings: &Settings| measure(settings, &mut api, &url, "", load, true);
        // Alternate who goes first, so a drift in the machine's load favours neither.
        let (api_stats, pgbench_stats) = if i % 2 == 0 {
            let a = measure_api(settings)?;
            (a, measure_pgbench(settings)?)
        } else {
            let p = measure_pgbench(settings)?;
            (measure_api(settings)?, p)
        };
        // Tracing off and each way on, a slice each per round, every round starting with
        // the next (off, on 1, on 2; on 1, on 2, off; …): a drift or a burst over the runs
        // (a table growing under POSTs, autovacuum, a checkpoint) weighs on each alike.
        let slice = wrk::Load {
            duration: SLICE,
            ..load
        };
        let bases: Vec<String> = traced.iter().map(|(_, base)| base.clone()).collect();
        let dropped_before = dropped(&bases)?;
        let mut servers = vec![(&mut api, url.clone(), "tracing off".to_owned())];
        for ((server, base), tracing) in traced.iter_mut().zip(&tracings) {
            let url = format!("{base}{}", scenario.path);
            verify(&url, scenario)?;
            servers.push((server, url, format!("tracing on, {}", tracing.name)));
        }
        // Each server's slices, round by round: the rounds the load's duration gives, and
        // more while a traced median's interval leaves its verdict undecided (`median`).
        let mut slices: Vec<Vec<wrk::Stats>> = vec![Vec::new(); servers.len()];
        let mut goal = rounds;
        let mut round = 0;
        let (round_ratios, dropped) = loop {
            while round < goal {
                for k in 0..servers.len() {
                    let i = (round as usize + k) % servers.len();
                    let (server, url, name) = &mut servers[i];
                    let what = format!(", {name} (round {}/{goal})", round + 1);
                    slices[i].push(measure(settings, server, url, &what, slice, round == 0)?);
                }
                round += 1;
            }
            let ratios = paired_ratios(&slices);
            let dropped: Vec<f64> = dropped(&bases)?
                .into_iter()
                .zip(&dropped_before)
                .map(|(after, before)| after - before)
                .collect();
            // A row already invalid needs no more rounds.
            let errors = |i: usize| slices[i].iter().map(wrk::Stats::errors).sum::<u64>();
            let unsure = ratios
                .iter()
                .zip(&dropped)
                .enumerate()
                .any(|(n, (ratios, &d))| {
                    invalid(errors(0), errors(n + 1), d).is_none()
                        && Median::of(ratios).is_some_and(|m| m.undecided(TRACED_TARGET))
                });
            if !unsure || goal >= most_rounds {
                break (ratios, dropped);
            }
            goal = (goal + (rounds / 2).max(1)).min(most_rounds);
            eprintln!(
                "bench: {}: a traced median's interval leaves the {TRACED_TARGET}× target \
                 undecided: {goal} rounds in all",
                scenario.name
            );
        };
        drop(servers);
        let merged = |runs: &[wrk::Stats]| wrk::Stats::merged(runs).context("no load was run");
        let (off, on) = slices.split_first().context("tracing off was measured")?;
        rows.push(Row {
            scenario,
            api: api_stats,
            pgbench: pgbench_stats,
            untraced: merged(off)?,
            round_ratios,
            rounds: round,
            traced: on
                .iter()
                .map(|on| merged(on))
                .collect::<anyhow::Result<_>>()?,
            dropped,
        });
    }
    let peak_rss = api.peak_rss()?;
    api.stop();
    let mut spans = Vec::new();
    for (mut server, base) in traced {
        spans.push(Spans::of(&base)?);
        server.stop();
    }
    let tracings = tracings.into_iter().zip(spans).collect();

    let mut starts = Vec::new();
    for n in 0..STARTS {
        settings.check_interrupted()?;
        let port = process::free_port()?;
        let started = Instant::now();
        let mut api = lab.start(port, &format!("api-start-{n}"), &[])?;
        wait_ready(&mut api, &format!("http://127.0.0.1:{port}"))?;
        starts.push(started.elapsed());
    }
    eprintln!("bench: start to ready: {:?}", starts);

    Ok(Outcome {
        rows,
        tracings,
        export_requests: collector.requests()?,
        most_rounds,
        peak_rss,
        starts,
        wrk: load.describe(),
        pgbench: pgbench_run("", settings.load.duration).describe(),
        postgres: postgres_version(&bins),
    })
}

/// Why a traced row's numbers mean nothing, if they do not: requests failed with tracing
/// off or on, or its API dropped spans (it did less than export them all, which would
/// flatter it).
fn invalid(untraced_errors: u64, traced_errors: u64, dropped: f64) -> Option<report::Verdict> {
    if untraced_errors > 0 || traced_errors > 0 {
        Some(report::Verdict::Invalid)
    } else if dropped > 0.0 {
        Some(report::Verdict::SpansDropped)
    } else {
        None
    }
}

/// For each traced server (`slices` after the first), its throughput over tracing off's
/// (the first) in each round: paired within a round, so that a burst on the machine weighs
/// on one ratio.
fn paired_ratios(slices: &[Vec<wrk::Stats>]) -> Vec<Vec<f64>> {
    let Some((off, on)) = slices.split_first() else {
        return Vec::new();
    };
    on.iter()
        .map(|on| {
            on.iter()
                .zip(off)
                .map(|(on, off)| on.requests_per_sec / off.requests_per_sec.max(f64::MIN_POSITIVE))
                .collect()
        })
        .collect()
}

impl Lab {
    /// The release API on `port`, the pool as large as the load's connection count, logging
    /// one JSON line per request as deployed.
    fn start(&self, port: u16, log: &str, env: &[(&str, &str)]) -> anyhow::Result<Server> {
        let mut cmd = Command::new(&self.api);
        cmd.env_remove("CONFIG_FILE")
            .env("API_HOST", "127.0.0.1")
            .env("API_PORT", port.to_string())
            .env("DATABASE_URL", &self.url)
            .env("DB_POOL_MAX_SIZE", CONNECTIONS.to_string())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied());
        let log = self.tmp.path().join(format!("{log}.log"));
        Server::spawn("api", cmd, &log)
    }
}

/// The spans each traced API dropped so far.
fn dropped(bases: &[String]) -> anyhow::Result<Vec<f64>> {
    bases
        .iter()
        .map(|base| Ok(Spans::of(base)?.dropped))
        .collect()
}

/// What a traced API's `/metrics` says it exported and dropped.
struct Spans {
    exported: f64,
    dropped: f64,
}

impl Spans {
    fn of(base: &str) -> anyhow::Result<Self> {
        let text = ureq::get(&format!("{base}/metrics"))
            .call()
            .and_then(|mut res| res.body_mut().read_to_string())
            .context("reading the traced API's /metrics")?;
        let total = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .with_context(|| format!("no {name} in the traced API's /metrics"))
        };
        Ok(Self {
            exported: total("api_trace_spans_exported_total")?,
            dropped: total("api_trace_spans_dropped_total")?,
        })
    }
}

/// Polls `/ready` until 200 (every millisecond: the start time is measured with it).
/// The stand-in collector: `otlp-discard`, built in release and run as a process of its
/// own, as a collector would be (a debug build in this process cost the machine more than
/// the spans' encoding did).
struct Collector {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    endpoint: String,
}

impl Collector {
    fn start(program: &std::path::Path) -> anyhow::Result<Self> {
        use std::io::BufRead;
        let mut child = Command::new(program)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let stdout = child.stdout.take().context("the collector's stdout")?;
        let mut collector = Self {
            child,
            stdout: std::io::BufReader::new(stdout),
            endpoint: String::new(),
        };
        collector
            .stdout
            .read_line(&mut collector.endpoint)
            .context("reading the collector's endpoint")?;
        collector.endpoint = collector.endpoint.trim().to_owned();
        if !collector.endpoint.starts_with("http://") {
            bail!("the stand-in collector did not start (see its error above)");
        }
        Ok(collector)
    }

    /// Stops it (its stdin closed), with the export requests it answered.
    fn requests(&mut self) -> anyhow::Result<u64> {
        use std::io::Read;
        drop(self.child.stdin.take());
        let mut said = String::new();
        self.stdout
            .read_to_string(&mut said)
            .context("reading the collector's count")?;
        said.trim()
            .strip_prefix("requests ")
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("the collector said {said:?}, not its request count"))
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

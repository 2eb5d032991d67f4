//! `cargo xtask bench` (which runs this binary): our servers measured against the tools
//! they replace, on this machine, with the numbers and the targets in `target/bench/`.
//! Targets are reported, never enforced: the numbers depend on the machine. Method and
//! latest results: docs/performance.md.
//!
//! Each comparison is a module that builds what it measures and returns an outcome that
//! renders as Markdown and JSON; `report` and `process` hold what they share. What is
//! measured is built through the project's own commands (`cargo build`, `cargo xtask web`,
//! `cargo xtask images`), as a user would build it (`project`).

mod api;
mod bundle;
mod dev;
mod http;
mod images;
mod median;
mod nginx;
mod pgbench;
mod process;
mod project;
mod report;
mod static_server;
mod wrk;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "cargo xtask bench",
    bin_name = "cargo xtask bench",
    about = "Our servers measured against the tools they replace (web-server vs nginx, \
             the API vs pgbench, image sizes), and the dev loop, in target/bench/.",
    version
)]
struct Args {
    /// Short loads (3 s instead of 10 s): to see that it works, not numbers to publish.
    #[arg(long)]
    quick: bool,
    /// Run only these comparisons (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Comparison>,
}

/// One comparison, and the name of its report in `target/bench/`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Comparison {
    /// The API against pgbench; its memory and start time.
    Api,
    /// The static server against nginx; the SPA's first load.
    Static,
    /// The images' compressed sizes, pushed to a throwaway registry.
    Images,
    /// `cargo xtask dev` in a fresh clone: the cold start and each kind of edit.
    Dev,
}

/// How hard and how long every server is loaded.
pub struct Settings {
    pub load: wrk::Load,
    pub warmup: Duration,
    pub quick: bool,
    /// Set by Ctrl-C or SIGTERM: we stop between steps, so the guards clean up.
    interrupted: Arc<AtomicBool>,
}

impl Settings {
    fn new(quick: bool) -> anyhow::Result<Self> {
        let (duration, warmup) = if quick { (3, 1) } else { (10, 2) };
        let interrupted = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(signal, interrupted.clone())
                .context("installing signal handlers")?;
        }
        Ok(Self {
            load: wrk::Load {
                threads: 2,
                connections: 64,
                duration: Duration::from_secs(duration),
            },
            warmup: Duration::from_secs(warmup),
            quick,
            interrupted,
        })
    }

    /// Fails once a signal asked us to stop (wrk, in our process group, stops too).
    pub fn check_interrupted(&self) -> anyhow::Result<()> {
        if self.interrupted.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        Ok(())
    }
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("bench: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let settings = Settings::new(args.quick)?;
    let wanted = |c| args.only.is_empty() || args.only.contains(&c);
    let mut tools = Vec::new();
    if wanted(Comparison::Api) || wanted(Comparison::Static) {
        tools.push(("wrk", "wrk"));
    }
    if wanted(Comparison::Static) {
        tools.push(("nginx", "nginx-light"));
    }
    require(&tools)?;
    if wanted(Comparison::Api) {
        // Before anything runs: how busy the machine already was.
        let machine = machine();
        let outcome = api::run(&settings)?;
        let (markdown, json) = (
            |date: &str| outcome.markdown(&settings, date),
            outcome.json(&settings),
        );
        save("api", markdown, json, machine)?;
    }
    if wanted(Comparison::Images)
        && let Some(outcome) = images::run()?
    {
        save(
            "images",
            |date| outcome.markdown(date),
            outcome.json(),
            machine(),
        )?;
    }
    if wanted(Comparison::Dev) {
        let machine = machine();
        let outcome = dev::run(&settings)?;
        save(
            "dev",
            |date| outcome.markdown(date),
            outcome.json(),
            machine,
        )?;
    }
    if wanted(Comparison::Static) {
        let machine = machine();
        let outcome = static_server::run(&settings)?;
        let (markdown, json) = (
            |date: &str| outcome.markdown(&settings, date),
            outcome.json(&settings),
        );
        save("static", markdown, json, machine)?;
    }
    Ok(())
}

/// Prints a comparison's table and writes `target/bench/<stem>.md` and `.json`.
fn save(
    stem: &str,
    markdown: impl FnOnce(&str) -> String,
    mut json: Value,
    machine: Value,
) -> anyhow::Result<()> {
    let (unix_time, date) = report::now();
    let markdown = markdown(&date);
    json["unix_time"] = unix_time.into();
    json["date"] = date.into();
    json["machine"] = machine;
    println!("{markdown}");
    let dir = project::target_dir()?.join("bench");
    let [md, js] = report::save(&dir, stem, &markdown, &json)?;
    eprintln!("bench: wrote {} and {}", md.display(), js.display());
    Ok(())
}

/// Fails in one line naming what to install when a (program, Debian package) is missing.
fn require(tools: &[(&str, &str)]) -> anyhow::Result<()> {
    let missing: Vec<_> = tools
        .iter()
        .filter(|(program, _)| processes::find_program(program).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let programs: Vec<&str> = missing.iter().map(|(p, _)| *p).collect();
    let packages: Vec<&str> = missing.iter().map(|(_, p)| *p).collect();
    bail!(
        "bench needs {} on PATH (Debian: apt-get install {})",
        programs.join(" and "),
        packages.join(" ")
    )
}

/// Enough about the machine to read the numbers with: cores, kernel, load average.
fn machine() -> Value {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
    };
    json!({
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "kernel": read("/proc/sys/kernel/osrelease"),
        "loadavg": read("/proc/loadavg"),
    })
}

//! `cargo xtask dev`: PostgreSQL, the migrator, the API and the static server with the SPA,
//! on one machine, rebuilt and restarted as the sources change, all stopped on Ctrl-C.

mod database;
mod output;
mod service;
mod stack;
mod traces;
mod watch;

use std::{
    net::TcpListener,
    path::PathBuf,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

use self::{database::Database, output::Output, stack::Stack, traces::Traces, watch::Watcher};
use crate::project;

#[derive(clap::Args)]
pub struct Args {
    /// Port of the API.
    #[arg(long, default_value_t = 3080)]
    pub api_port: u16,
    /// Port of the static server (the page to open).
    #[arg(long, default_value_t = 8080)]
    pub web_port: u16,
    /// Port of the local PostgreSQL (default: a free one).
    #[arg(long)]
    pub db_port: Option<u16>,
    /// Where the local PostgreSQL keeps its data (default: target/dev/postgres).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Wipe the local database first.
    #[arg(long)]
    pub reset: bool,
    /// Do not watch the sources.
    #[arg(long)]
    pub no_watch: bool,
    /// Port of dev's own trace receiver (OTLP/HTTP) and its traces page.
    #[arg(long, default_value_t = 4318)]
    pub traces_port: u16,
    /// Requests that take this long or longer print their trace in the log (0: every one).
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub slow_ms: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let out = Output::new();
    free(args.api_port, "--api-port")?;
    free(args.web_port, "--web-port")?;
    let mut traces = Traces::start(args.traces_port, Duration::from_millis(args.slow_ms))?;
    let stop = project::stop_flag()?;

    let dev_dir = project::target_dir().join("dev");
    let data_dir = args.data_dir.unwrap_or_else(|| dev_dir.join("postgres"));
    let dist = dev_dir.join("dist");

    let mut db = Database::start(&data_dir, args.db_port, args.reset, &out)?;
    let mut stack = Stack {
        out: out.clone(),
        db_url: db.url(),
        api_port: args.api_port,
        web_port: args.web_port,
        dist,
        traces: traces.endpoint(),
        api: None,
        web: None,
        watching: !args.no_watch,
    };
    {
        let _step = out.step("building api, migrator and web-server");
        if !stack.cargo_build()? {
            bail!("the build failed (errors above)");
        }
    }
    stack.build_bundle()?;
    stack.migrate()?;
    stack.start_api()?;
    stack.start_web()?;
    stack.wait_ready(&stop)?;
    stack.banner(started.elapsed());

    let watcher = (!args.no_watch)
        .then(|| Watcher::start(&project::root()))
        .transpose()?;
    while !stop.load(Ordering::Relaxed) {
        let changes = match &watcher {
            Some(w) => w.next(Duration::from_millis(200)),
            None => {
                std::thread::sleep(Duration::from_millis(200));
                Default::default()
            }
        };
        for change in changes {
            stack.apply(change, &stop);
        }
        stack.report_exits();
        traces.report_slow(&out);
    }

    out.dev("stopping");
    stack.stop();
    db.stop();
    out.dev("stopped; the data is kept (--reset wipes it)");
    Ok(())
}

/// A port we cannot bind is named with the flag that changes it.
fn free(port: u16, flag: &str) -> anyhow::Result<()> {
    TcpListener::bind(("127.0.0.1", port))
        .map(drop)
        .with_context(|| format!("port {port} is in use; choose another with {flag} <port>"))
}

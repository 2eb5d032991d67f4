//! `cargo xtask dev`: PostgreSQL, the migrator, the API and the static server with the SPA,
//! on one machine, rebuilt and restarted as the sources change, all stopped on Ctrl-C.

mod database;
mod output;
mod service;
mod watch;

use std::{
    net::TcpListener,
    path::PathBuf,
    process::Command,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use xshell::cmd;

use self::{
    database::Database,
    output::Output,
    service::{Service, answers_ok},
    watch::{Change, Watcher},
};
use crate::{project, web};

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
}

/// How long the stack may take to answer after a (re)start.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let out = Output::new();
    free(args.api_port, "--api-port")?;
    free(args.web_port, "--web-port")?;
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
    }

    out.dev("stopping");
    stack.stop();
    db.stop();
    out.dev("stopped; the data is kept (--reset wipes it)");
    Ok(())
}

/// The processes we run, and how to rebuild each.
struct Stack {
    out: Output,
    db_url: String,
    api_port: u16,
    web_port: u16,
    dist: PathBuf,
    api: Option<Service>,
    web: Option<Service>,
    watching: bool,
}

impl Stack {
    fn apply(&mut self, change: Change, stop: &AtomicBool) {
        let started = Instant::now();
        match self.redo(change, stop) {
            Ok(true) => self.out.dev(&format!(
                "{change:?} updated in {:.1} s",
                started.elapsed().as_secs_f64()
            )),
            Ok(false) => self
                .out
                .dev("build failed; the last good version keeps running"),
            Err(e) => self
                .out
                .dev(&format!("{e:#}; the last good version keeps running")),
        }
    }

    /// Rebuilds and restarts what `change` affects; `false` when the build failed.
    fn redo(&mut self, change: Change, stop: &AtomicBool) -> anyhow::Result<bool> {
        match change {
            Change::Migrations => {
                self.out.dev("migrations changed: rebuilding the migrator");
                if !self.cargo_build()? {
                    return Ok(false);
                }
                self.migrate()?;
            }
            Change::Api | Change::Server => {
                let api = change == Change::Api;
                let name = if api { "api" } else { "web-server" };
                self.out.dev(&format!("{name} changed: rebuilding"));
                if !self.cargo_build()? {
                    return Ok(false);
                }
                if api {
                    self.start_api()
                } else {
                    self.start_web()
                }?;
                self.wait_ready(stop)?;
            }
            Change::Web => {
                self.out.dev("web changed: rebuilding the bundle");
                self.build_bundle()?;
                self.start_web()?;
                self.wait_ready(stop)?;
            }
            Change::Style => {
                self.out
                    .dev("style.css changed: the open page swaps it in place");
                self.publish_style()?;
            }
        }
        Ok(true)
    }

    /// Builds the binaries; `false` (with the compiler's errors printed) when they do not
    /// compile, so the caller can keep the running version. Always all three, with the
    /// same features: cargo then rebuilds only what changed, and never recompiles shared
    /// dependencies because one package alone resolved their features differently.
    fn cargo_build(&self) -> anyhow::Result<bool> {
        let (sh, cargo) = (project::shell()?, project::cargo_program());
        // The static server with its live reload (not in release builds and images).
        let features = ["--features", project::LIVE_RELOAD];
        let packages = ["api", "migrator", "web-server"].map(|p| ["--package", p]);
        let packages = packages.as_flattened();
        let output = cmd!(sh, "{cargo} build --quiet {packages...} {features...}")
            .quiet()
            .ignore_status()
            .output()
            .context("running cargo build")?;
        if output.status.success() {
            return Ok(true);
        }
        for line in String::from_utf8_lossy(&output.stderr).lines() {
            self.out.line("build", line);
        }
        Ok(false)
    }

    fn build_bundle(&self) -> anyhow::Result<()> {
        let _step = self.out.step("building the SPA bundle");
        web::build(&self.dist, web::Flavor::Dev).map(drop)
    }

    /// Puts `web/style.css` where the static server's live reload serves it from disk
    /// (`web_server::live_reload::STYLE_FILE`), whole: written aside, then renamed.
    fn publish_style(&self) -> anyhow::Result<()> {
        let to = self.dist.join("_dev").join("style.css");
        let aside = to.with_extension("css.new");
        std::fs::create_dir_all(self.dist.join("_dev"))
            .and_then(|()| std::fs::copy(project::root().join("web/style.css"), &aside))
            .and_then(|_| std::fs::rename(&aside, &to))
            .with_context(|| format!("publishing web/style.css to {}", to.display()))
    }

    fn bin(name: &str) -> Command {
        Command::new(project::target_dir().join("debug").join(name))
    }

    /// Runs the migrator to completion; its output is shown, and a failure stops us.
    fn migrate(&self) -> anyhow::Result<()> {
        let mut cmd = Self::bin("migrator");
        cmd.env("DATABASE_URL", &self.db_url)
            .env("MIGRATE_WAIT_SECS", "30");
        let mut migrator = Service::spawn("migrator", cmd, &self.out)?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = migrator.newly_exited() {
                if status.success() {
                    return Ok(());
                }
                bail!("the migration failed ({status}); the migrator's output is above");
            }
            if Instant::now() > deadline {
                bail!("the migrator did not finish within 120 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn start_api(&mut self) -> anyhow::Result<()> {
        self.api = None; // Dropping the old one stops it.
        let web = self.web_port;
        let mut cmd = Self::bin("api");
        cmd.env("API_HOST", "127.0.0.1")
            .env("API_PORT", self.api_port.to_string())
            .env("DATABASE_URL", &self.db_url)
            // The page works whichever name the browser uses for this machine.
            .env(
                "CORS_ALLOWED_ORIGINS",
                format!("http://localhost:{web},http://127.0.0.1:{web}"),
            )
            .env("LOG_FORMAT", "text");
        self.api = Some(Service::spawn("api", cmd, &self.out)?);
        Ok(())
    }

    fn start_web(&mut self) -> anyhow::Result<()> {
        self.web = None; // Dropping the old one stops it.
        let mut cmd = Self::bin("web-server");
        cmd.env("WEB_HOST", "127.0.0.1")
            .env("WEB_PORT", self.web_port.to_string())
            .env("WEB_ROOT", &self.dist)
            .env(
                "API_BASE_URL",
                format!("http://127.0.0.1:{}", self.api_port),
            )
            // The dev-only channel that reloads the open page when this server restarts.
            .env("WEB_DEV_RELOAD", "1")
            .env("LOG_FORMAT", "text");
        self.web = Some(Service::spawn("web", cmd, &self.out)?);
        Ok(())
    }

    /// Until the API is ready (database reachable, schema migrated) and the page is served.
    fn wait_ready(&mut self, stop: &AtomicBool) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let checks = [
            format!("http://127.0.0.1:{}/ready", self.api_port),
            format!("http://127.0.0.1:{}/healthz", self.web_port),
        ];
        for url in &checks {
            while !answers_ok(url) {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                if let Some(exited) = self.report_exits() {
                    bail!("{exited} stopped before it was ready (its output is above)");
                }
                if Instant::now() > deadline {
                    bail!(
                        "{url} did not answer 200 within {} s",
                        READY_TIMEOUT.as_secs()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// Says so when a service stopped by itself; returns its name.
    fn report_exits(&mut self) -> Option<&'static str> {
        let mut exited = None;
        for service in [self.api.as_mut(), self.web.as_mut()].into_iter().flatten() {
            if let Some(status) = service.newly_exited() {
                self.out.dev(&format!(
                    "{} exited ({status}); it restarts on the next change",
                    service.name
                ));
                exited = Some(service.name);
            }
        }
        exited
    }

    fn banner(&self, took: Duration) {
        let (o, api, web) = (&self.out, self.api_port, self.web_port);
        o.dev(&format!("ready in {:.1} s", took.as_secs_f64()));
        o.dev(&format!("  app:  http://localhost:{web}/"));
        o.dev(&format!("  api:  http://127.0.0.1:{api}/randoms"));
        o.dev(&format!("  docs: http://127.0.0.1:{api}/openapi.json"));
        o.dev(&format!("  db:   {}", self.db_url));
        o.dev(if self.watching {
            "watching crates/ and web/ for changes; Ctrl-C stops everything"
        } else {
            "not watching (--no-watch); Ctrl-C stops everything"
        });
    }

    fn stop(&mut self) {
        for service in [self.web.as_mut(), self.api.as_mut()].into_iter().flatten() {
            service.stop();
        }
    }
}

/// A port we cannot bind is named with the flag that changes it.
fn free(port: u16, flag: &str) -> anyhow::Result<()> {
    TcpListener::bind(("127.0.0.1", port))
        .map(drop)
        .with_context(|| format!("port {port} is in use; choose another with {flag} <port>"))
}

//! The processes dev runs (the migrator, the API, the static server) and how each is
//! rebuilt and restarted when its sources change.

use std::{
    path::PathBuf,
    process::Command,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use xshell::cmd;

use super::{
    output::Output,
    service::{Service, answers_ok},
    watch::Change,
};
use crate::{project, web};

/// How long the stack may take to answer after a (re)start.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The processes we run, and how to rebuild each.
pub struct Stack {
    pub out: Output,
    pub db_url: String,
    pub api_port: u16,
    pub web_port: u16,
    pub dist: PathBuf,
    /// dev's own OTLP receiver, which every process sends its spans to.
    pub traces: String,
    pub api: Option<Service>,
    pub web: Option<Service>,
    pub watching: bool,
}

impl Stack {
    pub fn apply(&mut self, change: Change, stop: &AtomicBool) {
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
    pub fn cargo_build(&self) -> anyhow::Result<bool> {
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

    pub fn build_bundle(&self) -> anyhow::Result<()> {
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
    pub fn migrate(&self) -> anyhow::Result<()> {
        let mut cmd = Self::bin("migrator");
        cmd.env("DATABASE_URL", &self.db_url)
            .env("MIGRATE_WAIT_SECS", "30")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &self.traces);
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

    pub fn start_api(&mut self) -> anyhow::Result<()> {
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
            .env("LOG_FORMAT", "text")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &self.traces);
        self.api = Some(Service::spawn("api", cmd, &self.out)?);
        Ok(())
    }

    pub fn start_web(&mut self) -> anyhow::Result<()> {
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
            .env("LOG_FORMAT", "text")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &self.traces);
        self.web = Some(Service::spawn("web", cmd, &self.out)?);
        Ok(())
    }

    /// Until the API is ready (database reachable, schema migrated) and the page is served.
    pub fn wait_ready(&mut self, stop: &AtomicBool) -> anyhow::Result<()> {
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
    pub fn report_exits(&mut self) -> Option<&'static str> {
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

    pub fn banner(&self, took: Duration) {
        let (o, api, web) = (&self.out, self.api_port, self.web_port);
        o.dev(&format!("ready in {:.1} s", took.as_secs_f64()));
        o.dev(&format!("  app:  http://localhost:{web}/"));
        o.dev(&format!("  api:  http://127.0.0.1:{api}/randoms"));
        o.dev(&format!("  docs: http://127.0.0.1:{api}/openapi.json"));
        o.dev(&format!("  db:   {}", self.db_url));
        o.dev(&format!("  traces: {}/", self.traces));
        o.dev(if self.watching {
            "watching crates/ and web/ for changes; Ctrl-C stops everything"
        } else {
            "not watching (--no-watch); Ctrl-C stops everything"
        });
    }

    pub fn stop(&mut self) {
        for service in [self.web.as_mut(), self.api.as_mut()].into_iter().flatten() {
            service.stop();
        }
    }
}

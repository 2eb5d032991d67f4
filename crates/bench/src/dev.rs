//! `--only dev`: the dev loop as a developer lives it, in a throwaway clone of this
//! checkout's HEAD (crates already downloaded, nothing built): from typing `cargo xtask
//! dev` to the page served, then, for each kind of edit, from the save to the change being
//! live, seen where a developer looks (the API over HTTP, the page in headless Chromium).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::{
    Settings, http,
    process::{self, Server},
    project,
    report::{self, Verdict},
};

/// The longest any step may take before the run is given up.
const PATIENCE: Duration = Duration::from_secs(900);

struct Row {
    what: &'static str,
    took: Duration,
    target: Duration,
}

pub struct Outcome {
    rows: Vec<Row>,
    commit: String,
}

pub fn run(settings: &Settings) -> anyhow::Result<Outcome> {
    let scratch = process::temp_dir("bench-dev")?;
    let clone = scratch.path().join("clone");
    let root = project::root()?;
    let commit = git(&root, &["rev-parse", "--short=12", "HEAD"])?;
    let mut cmd = Command::new("git");
    cmd.args(["clone", "--quiet", "--no-hardlinks"])
        .arg(&root)
        .arg(&clone);
    project::run("cloning the checkout", cmd)?;
    let (api, web) = (process::free_port()?, process::free_port()?);
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["xtask", "dev", "--api-port", &api.to_string()])
        .args(["--web-port", &web.to_string(), "--data-dir"])
        .arg(scratch.path().join("postgres"))
        .current_dir(&clone)
        // The clone builds everything itself, into its own target directory.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("DATABASE_URL");
    eprintln!("bench: cargo xtask dev in a fresh clone of {commit} (a cold build)");
    let typed = Instant::now();
    let mut dev = Server::spawn("cargo xtask dev", cmd, &scratch.path().join("dev.log"))?;
    let page = format!("http://127.0.0.1:{web}/");
    until(&mut dev, settings, "the page served", || {
        ok(&page) && ok(&format!("http://127.0.0.1:{api}/ready"))
    })?;
    let mut rows = vec![Row {
        what: "cold start: `cargo xtask dev` to the page served",
        took: typed.elapsed(),
        target: Duration::from_secs(150),
    }];
    let runtime = tokio::runtime::Runtime::new().context("starting a runtime")?;
    rows.extend(runtime.block_on(edits(&mut dev, settings, &clone, api, &page))?);
    drop(dev);
    Ok(Outcome { rows, commit })
}

/// Each kind of edit, timed from the write to the change being live.
async fn edits(
    dev: &mut Server,
    settings: &Settings,
    clone: &Path,
    api: u16,
    page_url: &str,
) -> anyhow::Result<Vec<Row>> {
    let browser = e2e::browser::Browser::start().await?;
    let page = &browser.client;
    page.goto(page_url).await?;
    let js = |script: &'static str| async move {
        page.execute(script, vec![])
            .await
            .map_or(Value::Null, |v| v)
    };
    let heading = "return document.querySelector('h1')?.textContent ?? ''";
    let color = "return getComputedStyle(document.querySelector('h1')).color";
    let openapi = format!("http://127.0.0.1:{api}/openapi.json");
    let mut rows = Vec::new();
    // Each API edit starts from the original text, so each changes it anew.
    let openapi_rs = "crates/api/src/openapi.rs";
    let original = fs::read_to_string(clone.join(openapi_rs)).context("reading openapi.rs")?;
    for (n, what) in [(1, "first API edit"), (2, "next API edit")] {
        let marker = format!("bench edit {n}");
        let saved = edit(clone, openapi_rs, |_| {
            original.replacen(
                "a way to add one.",
                &format!("a way to add one ({marker})."),
                1,
            )
        })?;
        until(dev, settings, what, || body(&openapi).contains(&marker))?;
        rows.push(row(what, saved, 3));
    }
    let saved = edit(clone, "web/style.css", |css| {
        format!("{css}\nh1 {{ color: rgb(1, 2, 3); }}\n")
    })?;
    while js(color).await != "rgb(1, 2, 3)" {
        wait(dev, settings, saved, "the stylesheet edit").await?;
    }
    rows.push(row("web/style.css, applied in the open page", saved, 1));
    let saved = edit(clone, "web/src/app.rs", |src| {
        src.replacen("The last 10 random UUIDs", "Edited by the bench", 1)
    })?;
    while js(heading).await != "Edited by the bench" {
        wait(dev, settings, saved, "the SPA edit").await?;
    }
    rows.push(row("web/src/app.rs, to the reloaded page", saved, 5));
    browser.close().await?;
    Ok(rows)
}

fn row(what: &'static str, saved: Instant, target_secs: u64) -> Row {
    Row {
        what,
        took: saved.elapsed(),
        target: Duration::from_secs(target_secs),
    }
}

/// Rewrites a file of the clone; returns when it was saved.
fn edit(clone: &Path, file: &str, change: impl FnOnce(&str) -> String) -> anyhow::Result<Instant> {
    let path: PathBuf = clone.join(file);
    let before = fs::read_to_string(&path).with_context(|| format!("reading {file}"))?;
    let after = change(&before);
    if after == before {
        bail!("the edit of {file} changes nothing: has the file moved on?");
    }
    fs::write(&path, after).with_context(|| format!("writing {file}"))?;
    Ok(Instant::now())
}

fn until(
    dev: &mut Server,
    settings: &Settings,
    what: &str,
    mut done: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    while !done() {
        still_waiting(dev, settings, started, what)?;
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(())
}

/// One turn of an async wait (the browser's) for `what`, which started at `since`.
async fn wait(
    dev: &mut Server,
    settings: &Settings,
    since: Instant,
    what: &str,
) -> anyhow::Result<()> {
    still_waiting(dev, settings, since, what)?;
    tokio::time::sleep(Duration::from_millis(25)).await;
    Ok(())
}

/// Fails when dev exited, a signal asked us to stop, or `what` has taken too long.
fn still_waiting(
    dev: &mut Server,
    settings: &Settings,
    since: Instant,
    what: &str,
) -> anyhow::Result<()> {
    dev.check_running()?;
    settings.check_interrupted()?;
    if since.elapsed() > PATIENCE {
        bail!("{what}: not within {} s", PATIENCE.as_secs());
    }
    Ok(())
}

fn ok(url: &str) -> bool {
    http::get(url, None).is_ok_and(|answer| answer.status == 200)
}

fn body(url: &str) -> String {
    ureq::get(url)
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .unwrap_or_default()
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!("git {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Outcome {
    pub fn markdown(&self, date: &str) -> String {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.what.to_owned(),
                    format!("{:.1} s", r.took.as_secs_f64()),
                    format!("≤ {} s", r.target.as_secs()),
                    Verdict::from_bool(r.took <= r.target).label().to_owned(),
                ]
            })
            .collect();
        let mut out = report::table(&["step", "took", "target", "verdict"], &rows);
        out.push_str(&format!(
            "\nThe dev loop in a fresh clone of {} ({date}): crates downloaded, nothing \
             built; each edit timed from the save to the change seen live (the API over \
             HTTP, the page in headless Chromium).\n",
            self.commit
        ));
        out
    }

    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "step": r.what,
                    "seconds": r.took.as_secs_f64(),
                    "target_seconds": r.target.as_secs(),
                    "verdict": Verdict::from_bool(r.took <= r.target).key(),
                })
            })
            .collect();
        json!({ "commit": self.commit, "steps": rows })
    }
}

//! Image sizes: the three images built as `cargo xtask images` builds them, pushed to a
//! throwaway registry on loopback, and measured as the registry stores them (compressed
//! layers plus config), which is what a cluster pulls.

use std::process::Command;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{
    http,
    process::{self, Server, TempDir},
    report::{self, Verdict},
};
use crate::{images, project};

/// Targets, compressed, in bytes (MB of 10^6 bytes, as registries and the README count).
const TARGETS: [(&str, u64); 3] = [
    ("api", 10_000_000),
    ("migrator", 10_000_000),
    ("web", 6_000_000),
];

const TAG: &str = "bench";

pub struct Outcome {
    engine: &'static str,
    rows: Vec<(&'static str, u64)>,
}

/// None (with a note) when there is no container engine or registry to measure with.
pub fn run() -> anyhow::Result<Option<Outcome>> {
    let engine = match images::Engine::detect() {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("xtask: bench: image sizes skipped: {e:#}");
            return Ok(None);
        }
    };
    if !project::on_path("docker-registry") {
        eprintln!(
            "xtask: bench: image sizes skipped: no docker-registry to push to \
             (Debian: apt-get install docker-registry)"
        );
        return Ok(None);
    }
    let tmp = TempDir::new("xtask-bench-images")?;
    let port = process::free_port()?;
    let config = tmp.path().join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            tmp.path().join("data").display()
        ),
    )
    .context("writing the registry's config")?;
    let mut cmd = Command::new("docker-registry");
    cmd.arg("serve").arg(&config);
    let mut registry = Server::spawn("docker-registry", cmd, &tmp.path().join("registry.log"))?;
    http::wait_ready(&mut registry, &format!("http://127.0.0.1:{port}/v2/"))?;

    let prefix = format!("127.0.0.1:{port}/bench");
    let outcome = images::build(&images::Request {
        engine: Some(engine),
        registry: prefix.clone(),
        tag: Some(TAG.to_owned()),
        push: true,
        in_container: false,
    })?;
    let mut rows = Vec::new();
    for image in &outcome.images {
        let bytes = image
            .pushed_bytes
            .with_context(|| format!("no pushed size for {}", image.reference))?;
        rows.push((image.component, bytes));
    }
    // The registry goes with the temp dir; the local tags go too.
    let tags: Vec<String> = outcome
        .images
        .iter()
        .flat_map(|i| images::references(&prefix, i.component, TAG))
        .collect();
    let removed = Command::new(engine.program())
        .args(["rmi", "--force"])
        .args(&tags)
        .output();
    if !removed.is_ok_and(|o| o.status.success()) {
        eprintln!("xtask: bench: could not remove the benchmark's local image tags");
    }
    if rows.len() != TARGETS.len() {
        bail!("expected {} images, measured {}", TARGETS.len(), rows.len());
    }
    Ok(Some(Outcome {
        engine: engine.program(),
        rows,
    }))
}

fn target(component: &str) -> u64 {
    TARGETS
        .iter()
        .find(|(c, _)| *c == component)
        .map_or(0, |(_, t)| *t)
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

impl Outcome {
    pub fn markdown(&self, date: &str) -> String {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|(component, bytes)| {
                let target = target(component);
                vec![
                    (*component).to_owned(),
                    mb(*bytes),
                    format!("≤ {}", mb(target)),
                    Verdict::from_bool(*bytes <= target).label().to_owned(),
                ]
            })
            .collect();
        let mut out = report::table(
            &["image", "compressed, as pushed", "target", "verdict"],
            &rows,
        );
        out.push_str(&format!(
            "\nMeasured {date}: built by `cargo xtask images` with {} (static musl binaries on \
             `scratch`), pushed to a docker-registry on loopback, sizes from the pushed \
             manifest (config plus compressed layers).\n",
            self.engine
        ));
        out
    }

    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|(component, bytes)| {
                json!({
                    "image": component,
                    "compressed_bytes": bytes,
                    "target_bytes": target(component),
                    "verdict": Verdict::from_bool(*bytes <= target(component)).key(),
                })
            })
            .collect();
        json!({ "comparison": "image sizes", "engine": self.engine, "rows": rows })
    }
}

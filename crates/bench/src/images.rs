//! Image sizes: the three images built by `cargo xtask images --push` for amd64 and arm64
//! (the host's platform alone where nothing cross-compiles), pushed to a throwaway registry
//! on loopback, and each platform's image measured as the registry stores it (compressed
//! layers plus config), which is what a node pulls.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::Context;
use serde_json::{Value, json};

use crate::{
    http,
    process::{self, Server},
    project,
    report::{self, Verdict},
};

/// Targets, compressed, in bytes (MB of 10^6 bytes, as registries and the README count).
const TARGETS: [(&str, u64); 3] = [
    ("api", 10_000_000),
    ("migrator", 10_000_000),
    ("web", 6_000_000),
];

const TAG: &str = "bench";

/// The manifest types a push stores: an image, or an index of them (OCI from podman,
/// Docker's from docker).
const MANIFEST_TYPES: &str = concat!(
    "application/vnd.oci.image.manifest.v1+json, ",
    "application/vnd.docker.distribution.manifest.v2+json, ",
    "application/vnd.oci.image.index.v1+json, ",
    "application/vnd.docker.distribution.manifest.list.v2+json"
);

pub struct Outcome {
    engine: &'static str,
    /// Component, platform, compressed bytes.
    rows: Vec<(&'static str, String, u64)>,
}

/// None (with a note) when there is no container engine or registry to measure with.
pub fn run() -> anyhow::Result<Option<Outcome>> {
    let Some(engine) = engine() else {
        eprintln!(
            "bench: image sizes skipped: no container engine answers (install podman or docker)"
        );
        return Ok(None);
    };
    if processes::find_program("docker-registry").is_none() {
        eprintln!(
            "bench: image sizes skipped: no docker-registry to push to \
             (Debian: apt-get install docker-registry)"
        );
        return Ok(None);
    }
    let tmp = process::temp_dir("bench-images")?;
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
    let base = format!("http://127.0.0.1:{port}");
    http::wait_ready(&mut registry, &format!("{base}/v2/"))?;

    // The engine is named, so the one we checked is the one that builds.
    let prefix = format!("127.0.0.1:{port}/bench");
    let platforms = if processes::find_program("cargo-zigbuild").is_some() {
        "linux/amd64,linux/arm64"
    } else {
        eprintln!(
            "bench: image sizes for this machine's platform only: no cargo-zigbuild to \
             cross-compile with (pip install ziglang cargo-zigbuild)"
        );
        ""
    };
    let mut args = vec!["xtask", "images", "--push", "--engine", engine];
    args.extend(["--registry", &prefix, "--tag", TAG]);
    if !platforms.is_empty() {
        args.extend(["--platform", platforms]);
    }
    let images = project::cargo(args)?;
    project::run(
        "building and pushing the images (cargo xtask images --push)",
        images,
    )?;
    let mut rows = Vec::new();
    for (component, _) in TARGETS {
        let manifests = format!("{base}/v2/bench/{component}/manifests");
        let pushed = manifest(&format!("{manifests}/{TAG}"))?;
        let Some(entries) = pushed["manifests"].as_array() else {
            rows.push((
                component,
                "this machine's".to_owned(),
                size(&pushed, &manifests)?,
            ));
            continue;
        };
        for entry in entries {
            let platform = &entry["platform"];
            let platform = format!(
                "{}/{}",
                platform["os"].as_str().unwrap_or("?"),
                platform["architecture"].as_str().unwrap_or("?")
            );
            let digest = entry["digest"]
                .as_str()
                .context("an index entry without digest")?;
            let image = manifest(&format!("{manifests}/{digest}"))?;
            rows.push((component, platform, size(&image, &manifests)?));
        }
    }
    // The registry goes with the temp dir; the local tags go too. `cargo xtask images` tags
    // each image TAG and VERSION-TAG, VERSION being the workspace's, which is ours too.
    let tags: Vec<String> = TARGETS
        .iter()
        .flat_map(|(component, _)| {
            let name = format!("{prefix}/{component}");
            [
                format!("{name}:{TAG}"),
                format!("{name}:{}-{TAG}", env!("CARGO_PKG_VERSION")),
            ]
        })
        .collect();
    let removed = Command::new(engine)
        .args(["rmi", "--force"])
        .args(&tags)
        .output();
    if !removed.is_ok_and(|o| o.status.success()) {
        eprintln!("bench: could not remove the benchmark's local image tags");
    }
    Ok(Some(Outcome { engine, rows }))
}

/// The first container engine that answers, in the order `cargo xtask images` tries them:
/// podman (daemonless), then docker.
fn engine() -> Option<&'static str> {
    ["podman", "docker"].into_iter().find(|program| {
        processes::find_program(program).is_some()
            && Command::new(program)
                .arg("version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    })
}

/// The manifest at `url`, read from our registry over plain HTTP.
fn manifest(url: &str) -> anyhow::Result<Value> {
    let body = ureq::get(url)
        .header("Accept", MANIFEST_TYPES)
        .config()
        // Our own registry on loopback: a bound, so a stuck one fails instead of hanging.
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .call()
        .with_context(|| format!("GET {url}"))?
        .body_mut()
        .read_to_vec()
        .with_context(|| format!("reading the manifest at {url}"))?;
    serde_json::from_slice(&body).with_context(|| format!("the manifest at {url} is not JSON"))
}

fn size(manifest: &Value, at: &str) -> anyhow::Result<u64> {
    container_engine::manifest_size(manifest)
        .with_context(|| format!("a manifest in {at} has no config and layer sizes"))
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
            .map(|(component, platform, bytes)| {
                let target = target(component);
                vec![
                    (*component).to_owned(),
                    platform.clone(),
                    mb(*bytes),
                    format!("≤ {}", mb(target)),
                    Verdict::from_bool(*bytes <= target).label().to_owned(),
                ]
            })
            .collect();
        let mut out = report::table(
            &[
                "image",
                "platform",
                "compressed, as pushed",
                "target",
                "verdict",
            ],
            &rows,
        );
        out.push_str(&format!(
            "\nMeasured {date}: built by `cargo xtask images` with {} (static musl binaries on \
             `scratch`, every platform's built on this host), pushed to a docker-registry on \
             loopback, sizes from each platform's pushed manifest (config plus compressed \
             layers).\n",
            self.engine
        ));
        out
    }

    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|(component, platform, bytes)| {
                json!({
                    "image": component,
                    "platform": platform,
                    "compressed_bytes": bytes,
                    "target_bytes": target(component),
                    "verdict": Verdict::from_bool(*bytes <= target(component)).key(),
                })
            })
            .collect();
        json!({ "comparison": "image sizes", "engine": self.engine, "rows": rows })
    }
}

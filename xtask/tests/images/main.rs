//! `cargo xtask images` for real, with each engine: build the three images for amd64 and
//! arm64, push each as one multi-platform index to a throwaway registry on loopback, pull
//! them back by digest, and run them against a real PostgreSQL — read-only, as the user the
//! image names, which must not be root; the arm64 binaries run under qemu-user. Each pushed
//! platform image has its bill of materials beside it, and syft finds the crates in it. podman runs
//! as installed; Docker runs as a private daemon of its own (no buildx), stopped at the end.
//!
//! Runs where the engines are installed (`.ci/run` installs them); elsewhere each says so and
//! passes, but under `CI` a missing one fails.

mod arm64;
mod engines;
mod sbom;

use std::{
    process::{Command, Output, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use engines::{Dockerd, Engine};
use local_pg::LocalPg;
use processes::{Process, Signal, Stop};

const READY: Duration = Duration::from_secs(60);

/// One build at a time: both write the host-built contexts under target/images.
static BUILDS: Mutex<()> = Mutex::new(());

#[test]
fn podman_builds_pushes_pulls_and_runs_the_images() {
    if !installed("podman", "apt-get install podman runc") {
        return;
    }
    images_build_push_pull_and_run(&Engine::podman());
}

#[test]
fn docker_without_buildx_builds_pushes_pulls_and_runs_the_images() {
    if !installed("dockerd", "apt-get install docker.io")
        || !installed("docker", "apt-get install docker.io")
    {
        return;
    }
    if !is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root: dockerd needs it"
        );
        eprintln!("docker images test skipped: a private dockerd needs root");
        return;
    }
    images_build_push_pull_and_run(&Engine::docker(Dockerd::start()));
}

/// A platform we do not build is refused in one line naming the flag, before any build.
#[test]
fn an_unknown_platform_is_refused_naming_the_flag() {
    for bad in ["linux/s390x", "linux/amd64,darwin/arm64", "arm64"] {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["images", "--platform", bad])
            .output()
            .expect("run cargo xtask images");
        let err = stderr(&out);
        assert!(!out.status.success(), "{bad}: {err}");
        let first = err
            .lines()
            .find(|l| l.contains("--platform"))
            .unwrap_or_default();
        assert!(first.contains("linux/amd64 or linux/arm64"), "{bad}: {err}");
    }
}

/// Whether `program` is on PATH; if not, a skip with a note, or under `CI` a failure.
fn installed(program: &str, install: &str) -> bool {
    if processes::find_program(program).is_some() {
        return true;
    }
    // CI installs every engine (.ci/run): there, a missing one is a failure, not a skip.
    assert!(
        std::env::var_os("CI").is_none(),
        "{program} is not installed ({install})"
    );
    eprintln!("images test skipped: {program} is not installed ({install})");
    false
}

/// Root, as a private dockerd needs (Linux: the owner of /proc/self; elsewhere false).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

fn images_build_push_pull_and_run(engine: &Engine) {
    for (tool, package) in [("docker-registry", "docker-registry"), ("skopeo", "skopeo")] {
        assert!(
            processes::find_program(tool).is_some(),
            "{} is here but {tool} is not: apt-get install {package}",
            engine.name
        );
    }
    let registry = Registry::start();
    let unique = format!("t{:x}", rand_u32());
    let prefix = format!("127.0.0.1:{}/randoms-{unique}", registry.port);
    let tag = format!("test-{unique}");

    let out = {
        let _one_at_a_time = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
        engine
            .command(env!("CARGO_BIN_EXE_xtask"))
            .args(["images", "--engine", engine.name, "--push"])
            .args(["--platform", "linux/amd64,linux/arm64"])
            .args(["--registry", &prefix, "--tag", &tag])
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo xtask images")
    };
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "cargo xtask images failed: {table}");
    println!("{table}");
    let mut images = Images::default();
    let lines: Vec<&str> = table.lines().collect();
    for component in ["api", "migrator", "web"] {
        let at = lines
            .iter()
            .position(|l| l.split_whitespace().next() == Some(component))
            .unwrap_or_else(|| panic!("no {component} line in {table}"));
        let fields: Vec<&str> = lines[at].split_whitespace().collect();
        assert_eq!(
            fields[1],
            format!("{prefix}/{component}:{tag}"),
            "{}",
            lines[at]
        );
        let digest = fields.last().copied().unwrap_or_default();
        assert!(digest.starts_with("sha256:"), "{}", lines[at]);
        let index = format!("{prefix}/{component}@{digest}");
        // Under it, one line per platform: its image by digest, and its pushed size.
        let mut platforms = Vec::new();
        for line in &lines[at + 1..] {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(platform) = fields.first().filter(|f| f.starts_with("linux/")) else {
                break;
            };
            let image = fields.last().copied().unwrap_or_default();
            assert!(
                image.starts_with(&format!("{prefix}/{component}@sha256:")),
                "{line}"
            );
            assert!(line.contains(" MB "), "no pushed size: {line}");
            platforms.push(((*platform).to_owned(), image.to_owned()));
            images.local.push(format!(
                "{prefix}/{component}:{tag}-{}",
                platform.replace('/', "-")
            ));
        }
        let names: Vec<&str> = platforms.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["linux/amd64", "linux/arm64"], "{table}");
        check_index(&index, &platforms);
        images.platforms.push(platforms);
        images.by_digest.push(index);
    }
    // Bills of materials: the attached CycloneDX document, and what a scanner finds.
    let syft = sbom::syft();
    for (((component, binary, crates), image), platforms) in sbom::LINKED
        .iter()
        .zip(&images.by_digest)
        .zip(&images.platforms)
    {
        for (_, pushed) in platforms {
            let (repository, digest) = pushed.split_once('@').expect("by digest");
            assert!(repository.ends_with(&format!("/{component}")), "{pushed}");
            sbom::check_attached(repository, digest, binary, crates);
        }
        if let Some(syft) = &syft {
            sbom::check_syft(syft, image, crates);
        }
    }

    // Forget the local copies, then pull by digest: what runs is what the registry holds.
    engine.run(&["rmi", "--force"], &images.local);
    for reference in &images.by_digest {
        let out = engine.pull(reference);
        assert!(out.status.success(), "pull {reference}: {}", stderr(&out));
        let config = skopeo_config(reference);
        let user = config["config"]["User"].as_str().unwrap_or_default();
        let uid = user.split(':').next().unwrap_or_default();
        assert!(
            !uid.is_empty() && uid != "0" && uid != "root",
            "{reference} runs as {user:?}"
        );
        let revision = &config["config"]["Labels"]["org.opencontainers.image.revision"];
        assert!(
            revision.as_str().is_some_and(|r| r.len() == 40),
            "{reference}: {revision}"
        );
    }
    let [api, migrator, web] = [0, 1, 2].map(|i| images.by_digest[i].clone());

    let pg = LocalPg::ephemeral().expect("a local PostgreSQL");
    let database_url = pg.url_for("postgres");

    // The migrator migrates a real database and exits 0.
    let out = engine
        .command(engine.name)
        .args(["run", "--rm", "--network", "host", "--read-only"])
        .args(["-e", &format!("DATABASE_URL={database_url}")])
        .arg(&migrator)
        .output()
        .expect("run the migrator image");
    assert!(out.status.success(), "migrator: {}", stderr(&out));
    let containers = Containers::new(engine);

    // The API, read-only: ready, and the ten latest from the migrated database.
    let api_port = processes::free_port().expect("a free port");
    containers.run(
        &format!("api-{unique}"),
        &[
            format!("API_PORT={api_port}"),
            format!("DATABASE_URL={database_url}"),
        ],
        &api,
    );
    let ready = format!("http://127.0.0.1:{api_port}/ready");
    wait_for_200(&ready, &containers);
    let list = get_json(&format!("http://127.0.0.1:{api_port}/randoms"));
    assert_eq!(list.as_array().map(Vec::len), Some(10), "{list}");

    // The static server: the SPA, and /config.json from its environment.
    let web_port = processes::free_port().expect("a free port");
    let api_base_url = "http://api.randoms.test:3080";
    containers.run(
        &format!("web-{unique}"),
        &[
            format!("WEB_PORT={web_port}"),
            format!("API_BASE_URL={api_base_url}"),
        ],
        &web,
    );
    let base = format!("http://127.0.0.1:{web_port}");
    wait_for_200(&format!("{base}/healthz"), &containers);
    let index = ureq::get(&format!("{base}/"))
        .call()
        .expect("GET /")
        .body_mut()
        .read_to_string()
        .expect("index.html");
    let wasm = index
        .split('"')
        .find(|s| s.ends_with(".wasm"))
        .unwrap_or_else(|| panic!("index.html names no wasm: {index}"));
    let res = ureq::get(&format!("{base}/{}", wasm.trim_start_matches('/')))
        .call()
        .expect("GET the wasm");
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/wasm")
    );
    let config = get_json(&format!("{base}/config.json"));
    assert_eq!(config["api_base_url"], api_base_url);

    // The checks a deploy verifies a release with (crate smoke) pass on the real servers.
    let api_base = format!("http://127.0.0.1:{api_port}");
    smoke::ready(&api_base, "/ready").expect("the API is ready");
    assert_eq!(smoke::lists(&api_base).expect("the API lists"), 10);
    smoke::page(&base).expect("the page");
    smoke::config_names(&base, api_base_url).expect("the page's config names the API");

    drop(containers);
    engine.run(&["rmi", "--force"], &images.by_digest);

    // The arm64 images, from the registry, under emulation.
    if let Some(qemu) = arm64::qemu() {
        let [api, migrator, web] = [0, 1, 2].map(|i| images.platforms[i][1].1.clone());
        arm64::check(&qemu, &api, &migrator, &web);
    }
}

/// The pushed `index` is an OCI index or Docker manifest list of exactly `platforms`.
fn check_index(index: &str, platforms: &[(String, String)]) {
    let raw = skopeo_inspect("--raw", index);
    let media_type = raw["mediaType"].as_str().unwrap_or_default();
    assert!(
        [
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json"
        ]
        .contains(&media_type),
        "{index} is not an index: {raw}"
    );
    let mut listed: Vec<(String, String)> = raw["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            let platform = format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap_or_default(),
                m["platform"]["architecture"].as_str().unwrap_or_default()
            );
            let name = index.split('@').next().unwrap_or_default();
            (
                platform,
                format!("{name}@{}", m["digest"].as_str().unwrap_or_default()),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(listed, platforms, "{index}: {raw}");
}

/// A docker-registry on a free loopback port, its storage in a temp dir; gone on drop.
struct Registry {
    child: Process,
    port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = processes::free_port().expect("a free port");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .expect("write the registry config");
        let mut cmd = Command::new("docker-registry");
        cmd.arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = Process::spawn(
            &mut cmd,
            Stop::leader(Signal::SIGTERM, Duration::from_secs(5)),
        )
        .expect("start docker-registry");
        let registry = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&format!("http://127.0.0.1:{port}/v2/"))
            .call()
            .is_err()
        {
            assert!(Instant::now() < deadline, "the registry did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // The registry stops before its storage is removed.
        let _ = self.child.stop();
        let _ = &self.dir;
    }
}

#[derive(Default)]
struct Images {
    /// The per-platform tags the build left here.
    local: Vec<String>,
    /// Each component's index.
    by_digest: Vec<String>,
    /// Each component's platform images (`linux/amd64`, `linux/arm64`), by digest.
    platforms: Vec<Vec<(String, String)>>,
}

/// Containers started detached; removed (and their logs shown on failure) on drop.
struct Containers<'a> {
    engine: &'a Engine,
    names: std::cell::RefCell<Vec<String>>,
}

impl<'a> Containers<'a> {
    fn new(engine: &'a Engine) -> Self {
        Self {
            engine,
            names: Default::default(),
        }
    }

    fn run(&self, name: &str, env: &[String], image: &str) {
        let mut cmd = self.engine.command(self.engine.name);
        cmd.args([
            "run",
            "--detach",
            "--network",
            "host",
            "--read-only",
            "--name",
            name,
        ]);
        for var in env {
            cmd.args(["-e", var]);
        }
        let out = cmd.arg(image).output().expect("run a container");
        assert!(out.status.success(), "run {image}: {}", stderr(&out));
        self.names.borrow_mut().push(name.to_owned());
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        for name in self.names.borrow().iter() {
            let out = self.engine.run(&["logs"], std::slice::from_ref(name));
            all += &format!(
                "--- {name}\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                stderr(&out)
            );
        }
        all
    }
}

impl Drop for Containers<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        let names = self.names.borrow().clone();
        if !names.is_empty() {
            self.engine.remove(&names);
        }
    }
}

fn wait_for_200(url: &str, containers: &Containers) {
    let deadline = Instant::now() + READY;
    loop {
        match ureq::get(url).call() {
            Ok(res) if res.status() == 200 => return,
            _ if Instant::now() > deadline => {
                panic!("{url} not 200 after {READY:?}:\n{}", containers.logs())
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn get_json(url: &str) -> serde_json::Value {
    let body = ureq::get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_string()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

fn skopeo_config(reference: &str) -> serde_json::Value {
    skopeo_inspect("--config", reference)
}

/// `skopeo inspect WHAT` of a reference in the test's registry, as JSON.
fn skopeo_inspect(what: &str, reference: &str) -> serde_json::Value {
    let out = Command::new("skopeo")
        .args(["inspect", what, "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).expect("skopeo prints JSON")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rand_u32() -> u32 {
    rand::random()
}

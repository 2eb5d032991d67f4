//! The arm64 images work: each one's file system, pulled back from the registry, holds a
//! binary that runs under qemu-user (`qemu-aarch64-static`) as its image's entrypoint would:
//! the migrator migrates a real PostgreSQL, the API is ready and lists, the static server
//! serves the bundle.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use local_pg::LocalPg;
use processes::{Process, Signal, Stop};

const QEMU: &str = "qemu-aarch64-static";

/// The emulator, or None with a note (a failure under `CI`, which installs it).
pub fn qemu() -> Option<PathBuf> {
    let found = processes::find_program(QEMU);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{QEMU} is not installed (apt-get install qemu-user-static)"
        );
        eprintln!(
            "arm64 check skipped: {QEMU} is not installed (apt-get install qemu-user-static)"
        );
    }
    found
}

/// Runs the arm64 `api`, `migrator` and `web` images (`name@sha256:…` each) under `qemu`.
pub fn check(qemu: &Path, api: &str, migrator: &str, web: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let [api, migrator, web] =
        [api, migrator, web].map(|image| Image::extract(image, &dir.path().join(name(image))));
    let pg = LocalPg::ephemeral().expect("a local PostgreSQL");
    let database_url = pg.url_for("postgres");

    let out = migrator
        .command(qemu, &[("DATABASE_URL", &database_url)])
        .output()
        .expect("run the arm64 migrator");
    assert!(
        out.status.success(),
        "arm64 migrator: {}",
        super::stderr(&out)
    );

    let port = processes::free_port().expect("a free port").to_string();
    let logs = dir.path().join("api.log");
    let env = [("API_PORT", port.as_str()), ("DATABASE_URL", &database_url)];
    let _api = api.spawn(qemu, &env, &logs);
    let base = format!("http://127.0.0.1:{port}");
    wait(
        || smoke::ready(&base, "/ready").is_ok(),
        "arm64 api ready",
        &logs,
    );
    assert_eq!(smoke::lists(&base).expect("the arm64 API lists"), 10);

    let port = processes::free_port().expect("a free port").to_string();
    let logs = dir.path().join("web.log");
    let root = web.root.join("srv/www").display().to_string();
    let env = [("WEB_PORT", port.as_str()), ("WEB_ROOT", &root)];
    let _web = web.spawn(qemu, &env, &logs);
    let base = format!("http://127.0.0.1:{port}");
    wait(
        || smoke::page(&base).is_ok(),
        "arm64 web serves the page",
        &logs,
    );
    eprintln!("arm64: the migrator, the API and the static server ran under {QEMU}");
}

fn name(image: &str) -> String {
    let repository = image.split('@').next().unwrap_or(image);
    repository.rsplit('/').next().unwrap_or("image").to_owned()
}

/// One image's files and how it starts.
struct Image {
    root: PathBuf,
    /// Entrypoint and command, the program first (a path in the image).
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

impl Image {
    /// Copies `image` out of the registry and unpacks its layers into `dir/rootfs`.
    fn extract(image: &str, dir: &Path) -> Self {
        let copy = dir.join("oci");
        std::fs::create_dir_all(dir).expect("image dir");
        let out = Command::new("skopeo")
            .args(["copy", "--quiet", "--src-tls-verify=false"])
            .arg(format!("docker://{image}"))
            .arg(format!("dir:{}", copy.display()))
            .output()
            .expect("run skopeo copy");
        assert!(
            out.status.success(),
            "skopeo copy {image}: {}",
            super::stderr(&out)
        );
        let read = |digest: &str| {
            let hex = digest.trim_start_matches("sha256:");
            std::fs::read(copy.join(hex)).unwrap_or_else(|e| panic!("{image}: blob {hex}: {e}"))
        };
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(copy.join("manifest.json")).expect("manifest"))
                .expect("manifest JSON");
        let config: serde_json::Value = serde_json::from_slice(&read(
            manifest["config"]["digest"].as_str().unwrap_or_default(),
        ))
        .expect("config JSON");
        assert_eq!(config["architecture"], "arm64", "{image}: {config}");
        assert_eq!(config["os"], "linux", "{image}");
        let root = dir.join("rootfs");
        std::fs::create_dir_all(&root).expect("rootfs dir");
        for layer in manifest["layers"].as_array().expect("layers") {
            let hex = layer["digest"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("sha256:");
            let status = Command::new("tar")
                .args(["-xzf"])
                .arg(copy.join(hex))
                .arg("-C")
                .arg(&root)
                .status()
                .expect("run tar");
            assert!(status.success(), "{image}: unpacking layer {hex}");
        }
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut argv = strings(&config["config"]["Entrypoint"]);
        argv.extend(strings(&config["config"]["Cmd"]));
        assert!(!argv.is_empty(), "{image}: no entrypoint");
        let env = strings(&config["config"]["Env"])
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self { root, argv, env }
    }

    /// The entrypoint under qemu with the image's environment plus `env`.
    fn command(&self, qemu: &Path, env: &[(&str, &str)]) -> Command {
        let program = self.root.join(self.argv[0].trim_start_matches('/'));
        let mut cmd = Command::new(qemu);
        cmd.arg(program).args(&self.argv[1..]).env_clear();
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.envs(env.iter().copied()).stdin(Stdio::null());
        cmd
    }

    fn spawn(&self, qemu: &Path, env: &[(&str, &str)], logs: &Path) -> Process {
        let log = std::fs::File::create(logs).expect("log file");
        let mut cmd = self.command(qemu, env);
        cmd.stdout(log.try_clone().expect("log file")).stderr(log);
        Process::spawn(
            &mut cmd,
            Stop::leader(Signal::SIGTERM, Duration::from_secs(10)),
        )
        .expect("start under qemu")
    }
}

/// Waits up to a minute for `ready` (emulated start-up is slow), showing `logs` if never.
fn wait(ready: impl Fn() -> bool, what: &str, logs: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within 60 s:\n{}",
            std::fs::read_to_string(logs).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

//! The container engines the images test drives: podman as installed, and Docker through a
//! private daemon of its own (Debian's docker.io has no buildx: the legacy builder).

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use processes::{Process, Signal, Stop};

/// One engine: its program, and the environment that points it at its daemon.
pub struct Engine {
    pub name: &'static str,
    env: Vec<(&'static str, String)>,
    /// Keeps a private daemon alive (and stops it on drop, after the containers).
    _daemon: Option<Dockerd>,
}

impl Engine {
    pub fn podman() -> Self {
        Self {
            name: "podman",
            env: Vec::new(),
            _daemon: None,
        }
    }

    pub fn docker(daemon: Dockerd) -> Self {
        let host = format!("unix://{}", daemon.socket().display());
        let config = daemon.dir.path().join("client").display().to_string();
        Self {
            name: "docker",
            env: vec![("DOCKER_HOST", host), ("DOCKER_CONFIG", config)],
            _daemon: Some(daemon),
        }
    }

    /// The engine's program with its environment; `program` instead for xtask itself.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    pub fn run(&self, args: &[&str], more: &[String]) -> Output {
        self.command(self.name)
            .args(args)
            .args(more)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.name))
    }

    /// `pull` by reference: podman must be told the loopback registry is plain HTTP; docker
    /// trusts 127.0.0.0/8 already.
    pub fn pull(&self, reference: &str) -> Output {
        let mut args = vec!["pull", "--quiet"];
        if self.name == "podman" {
            args.push("--tls-verify=false");
        }
        self.run(&args, &[reference.to_owned()])
    }

    /// Removes running containers, giving each 10 s to stop.
    pub fn remove(&self, names: &[String]) -> Output {
        let args: &[&str] = match self.name {
            "podman" => &["rm", "--force", "--time", "10"],
            _ => &["rm", "--force"],
        };
        self.run(args, names)
    }
}

/// A private dockerd: its data, exec root and socket in a temp dir; stopped and removed on
/// drop, leaving no process behind.
pub struct Dockerd {
    child: Option<Process>,
    dir: tempfile::TempDir,
}

impl Dockerd {
    pub fn start() -> Self {
        // Short paths: containerd's sockets live under the exec root (108-byte limit).
        let dir = tempfile::Builder::new()
            .prefix("dkd")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let at = |name: &str| dir.path().join(name);
        let log = std::fs::File::create(at("dockerd.log")).expect("dockerd log");
        let mut cmd = Command::new("dockerd");
        cmd.args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args(["--storage-driver=vfs", "--data-root"])
            .arg(at("data"))
            .arg("--exec-root")
            .arg(at("exec"))
            .arg("--pidfile")
            .arg(at("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", at("docker.sock").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dockerd log"))
            .stderr(log);
        let child = Process::spawn(
            &mut cmd,
            Stop::leader(Signal::SIGTERM, Duration::from_secs(20)),
        )
        .expect("start dockerd");
        let daemon = Self {
            child: Some(child),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let version = Command::new("docker")
                .env(
                    "DOCKER_HOST",
                    format!("unix://{}", daemon.socket().display()),
                )
                .args(["version", "--format", "{{.Server.Version}}"])
                .output()
                .expect("run docker version");
            if version.status.success() {
                eprintln!(
                    "images test: private dockerd {} up",
                    String::from_utf8_lossy(&version.stdout).trim()
                );
                return daemon;
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer in 60 s:\n{}",
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn socket(&self) -> std::path::PathBuf {
        self.dir.path().join("docker.sock")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        let stopped = child.stop().map_err(|e| e.to_string());
        let log = self.log();
        // Nothing of it may outlive it: dockerd, its containerd, shims, containers.
        let processes = processes_under(self.dir.path());
        // dockerd leaves its network namespace (exec/netns/default) mounted.
        let unmounted: Vec<_> = mounts_under(self.dir.path())
            .iter()
            .rev()
            .map(|mount| Command::new("umount").arg(mount).output())
            .filter(|out| !out.as_ref().is_ok_and(|o| o.status.success()))
            .map(|out| format!("{out:?}"))
            .collect();
        let mounts = mounts_under(self.dir.path());
        let removed = std::fs::remove_dir_all(self.dir.path()).map_err(|e| e.to_string());
        if std::thread::panicking() {
            eprintln!("--- dockerd\n{log}");
            return;
        }
        assert!(stopped.is_ok(), "stopping dockerd: {stopped:?}");
        assert!(
            processes.is_empty() && !processes::running(pid),
            "dockerd left processes behind: {processes:?}"
        );
        assert!(
            unmounted.is_empty() && mounts.is_empty(),
            "dockerd left mounts behind: {mounts:?} ({unmounted:?})"
        );
        assert!(removed.is_ok(), "removing dockerd's directory: {removed:?}");
    }
}

/// Mount points under `dir`, in the order they were mounted (/proc/mounts).
fn mounts_under(dir: &Path) -> Vec<String> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|at| Path::new(at).starts_with(dir))
        .map(str::to_owned)
        .collect()
}

/// Processes whose command line names a path under `dir` (Linux: /proc).
fn processes_under(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&needle))
        .collect()
}

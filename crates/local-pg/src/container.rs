//! The fallback when no PostgreSQL binaries are installed: the official image under docker
//! or podman, its data and password kept in a directory of ours, published on loopback.

use std::{
    fs,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use crate::{Error, Result};

/// The image, pinned to a major version.
pub const IMAGE: &str = "docker.io/library/postgres:16-alpine";

/// How long the server may take to accept connections.
const READY: Duration = Duration::from_secs(60);

/// A running container, stopped by [`stop`](Self::stop) or on drop.
pub struct Container {
    engine: &'static str,
    name: String,
    url: String,
    stopped: bool,
}

impl Container {
    /// docker or podman, whichever is installed (docker first).
    pub fn engine() -> Option<&'static str> {
        ["docker", "podman"]
            .into_iter()
            .find(|e| processes::find_program(e).is_some())
    }

    /// Starts [`IMAGE`] under `engine` with its data in `dir`, on `port` (or a free one).
    pub fn start(engine: &'static str, dir: &Path, port: Option<u16>) -> Result<Self> {
        let data = dir.join("container-data");
        fs::create_dir_all(&data).map_err(Error::io(format!("creating {}", data.display())))?;
        let password_file = dir.join("container-password");
        let password = match fs::read_to_string(&password_file) {
            Ok(p) => p.trim().to_owned(),
            Err(_) => {
                let p = format!("{:032x}", rand::random::<u128>());
                fs::write(&password_file, &p).map_err(Error::io("writing the password"))?;
                p
            }
        };
        let port = match port {
            Some(port) => port,
            None => processes::free_port().map_err(Error::io("finding a free port"))?,
        };
        let name = format!("randoms-dev-postgres-{port}");
        let container = Self {
            engine,
            url: format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres"),
            name,
            stopped: false,
        };
        let mut run = Command::new(engine);
        run.args(["run", "--detach", "--rm", "--name", &container.name])
            .args(["--publish", &format!("127.0.0.1:{port}:5432")])
            .args(["--env", &format!("POSTGRES_PASSWORD={password}")])
            .arg("--volume")
            .arg(format!("{}:/var/lib/postgresql/data", data.display()))
            .arg(IMAGE);
        // The command line holds the password: the error names the image, not the line.
        container.run(run, &format!("`{engine} run {IMAGE}`"))?;
        let deadline = Instant::now() + READY;
        while !container.is_ready() {
            if Instant::now() > deadline {
                return Err(Error::Other(format!(
                    "PostgreSQL in {engine} did not become ready within {} s \
                     (`{engine} logs {}`)",
                    READY.as_secs(),
                    container.name
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(container)
    }

    /// The superuser URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn stop(&mut self) {
        if !std::mem::replace(&mut self.stopped, true) {
            let mut stop = Command::new(self.engine);
            stop.args(["stop", "--time", "10", &self.name]);
            let _ = self.run(stop, "stopping the container");
        }
    }

    fn is_ready(&self) -> bool {
        let mut check = Command::new(self.engine);
        check.args(["exec", &self.name, "pg_isready", "-q", "-U", "postgres"]);
        check.args(["-h", "127.0.0.1"]);
        self.run(check, "pg_isready").is_ok()
    }

    fn run(&self, mut cmd: Command, what: &str) -> Result<Output> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(Error::io(format!("running {}", self.engine)))?;
        if out.status.success() {
            return Ok(out);
        }
        Err(Error::Command {
            what: what.to_owned(),
            output: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.stop();
    }
}

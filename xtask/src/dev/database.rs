//! PostgreSQL for `cargo xtask dev`: `DATABASE_URL` when set; otherwise a server from the
//! installed binaries with its data kept under `target/` (the same `local-pg` code the tests
//! use); otherwise the official image under docker or podman; otherwise one message saying
//! what to install.

use std::{
    fs,
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use local_pg::{LocalPg, Options};
use xshell::cmd;

use super::output::Output;
use crate::project;

/// The image of the container fallback, pinned to a major version.
const IMAGE: &str = "docker.io/library/postgres:16-alpine";

pub enum Database {
    External(String),
    Local {
        pg: LocalPg,
        tail_stop: Arc<AtomicBool>,
    },
    Container {
        engine: &'static str,
        name: String,
        url: String,
    },
}

impl Database {
    pub fn start(dir: &Path, port: Option<u16>, reset: bool, out: &Output) -> anyhow::Result<Self> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            out.dev("using DATABASE_URL");
            return Ok(Self::External(url));
        }
        if reset && dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
            out.dev(&format!("--reset: removed {}", dir.display()));
        }
        match local_pg::Binaries::find() {
            Ok(_) => {
                let _step = out.step("starting PostgreSQL");
                let pg = LocalPg::start_with(Options {
                    dir: Some(dir.to_path_buf()),
                    port,
                })?;
                let tail_stop = Arc::new(AtomicBool::new(false));
                tail(pg.log_path(), tail_stop.clone(), out.clone());
                Ok(Self::Local { pg, tail_stop })
            }
            Err(not_found) => match container_engine() {
                Some(engine) => start_container(engine, dir, port, out),
                None => bail!(
                    "{not_found}; or install docker or podman to run the official postgres image"
                ),
            },
        }
    }

    pub fn url(&self) -> String {
        match self {
            Self::External(url) | Self::Container { url, .. } => url.clone(),
            Self::Local { pg, .. } => pg.admin_url(),
        }
    }

    /// Stops what we started; an external database is left alone.
    pub fn stop(&mut self) {
        match self {
            Self::External(_) => {}
            Self::Local { pg, tail_stop } => {
                let _ = pg.stop();
                tail_stop.store(true, Ordering::Relaxed);
            }
            Self::Container { engine, name, .. } => {
                if let Ok(sh) = project::shell() {
                    let _ = cmd!(sh, "{engine} stop --time 10 {name}")
                        .quiet()
                        .ignore_status()
                        .output();
                }
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Follows the server's log file from its current end, as the `db` source.
fn tail(path: PathBuf, stop: Arc<AtomicBool>, out: Output) {
    std::thread::spawn(move || {
        let Ok(mut file) = fs::File::open(&path) else {
            return;
        };
        let mut offset = file.seek(SeekFrom::End(0)).unwrap_or(0);
        let mut pending = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            if file.seek(SeekFrom::Start(offset)).is_ok()
                && let Ok(n) = file.read_to_end(&mut pending)
            {
                offset += n as u64;
            }
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                out.line("db", String::from_utf8_lossy(&line).trim_end());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
}

fn container_engine() -> Option<&'static str> {
    ["docker", "podman"]
        .into_iter()
        .find(|e| processes::find_program(e).is_some())
}

/// The official image, its data in `dir`, published on loopback only.
fn start_container(
    engine: &'static str,
    dir: &Path,
    port: Option<u16>,
    out: &Output,
) -> anyhow::Result<Database> {
    let _step = out.step(&format!("starting PostgreSQL in {engine} ({IMAGE})"));
    let data = dir.join("container-data");
    project::create_dir(&data)?;
    let password_file = dir.join("container-password");
    let password = match fs::read_to_string(&password_file) {
        Ok(p) => p.trim().to_owned(),
        Err(_) => {
            let p = format!("{:032x}", rand::random::<u128>());
            fs::write(&password_file, &p).context("writing the container's password")?;
            p
        }
    };
    let port = port.map_or_else(|| processes::free_port().context("finding a free port"), Ok)?;
    let name = format!("randoms-dev-postgres-{port}");
    let sh = project::shell()?;
    let publish = format!("127.0.0.1:{port}:5432");
    let password_env = format!("POSTGRES_PASSWORD={password}");
    let volume = format!("{}:/var/lib/postgresql/data", data.display());
    project::check(
        &format!("`{engine} run {IMAGE}`"),
        cmd!(sh, "{engine} run --detach --rm --name {name} --publish {publish} --env {password_env} --volume {volume} {IMAGE}")
            // Not echoed in an error: it holds the password.
            .secret(),
    )?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = || {
        cmd!(
            sh,
            "{engine} exec {name} pg_isready -q -U postgres -h 127.0.0.1"
        )
        .quiet()
        .run()
        .is_ok()
    };
    while !ready() {
        if Instant::now() > deadline {
            let _ = cmd!(sh, "{engine} stop {name}")
                .quiet()
                .ignore_status()
                .output();
            bail!(
                "PostgreSQL in {engine} did not become ready within 60 s (`{engine} logs {name}`)"
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(Database::Container {
        engine,
        url: format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres"),
        name,
    })
}

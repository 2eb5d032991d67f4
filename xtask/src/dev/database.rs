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
    time::Duration,
};

use anyhow::{Context, bail};
use local_pg::{Container, LocalPg, Options};

use super::output::Output;

pub enum Database {
    External(String),
    Local {
        pg: LocalPg,
        tail_stop: Arc<AtomicBool>,
    },
    Container(Container),
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
            Err(not_found) => match Container::engine() {
                Some(engine) => {
                    let image = local_pg::container::IMAGE;
                    let _step = out.step(&format!("starting PostgreSQL in {engine} ({image})"));
                    Ok(Self::Container(Container::start(engine, dir, port)?))
                }
                None => bail!(
                    "{not_found}; or install docker or podman to run the official postgres image"
                ),
            },
        }
    }

    pub fn url(&self) -> String {
        match self {
            Self::External(url) => url.clone(),
            Self::Container(container) => container.url().to_owned(),
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
            Self::Container(container) => container.stop(),
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

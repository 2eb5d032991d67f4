use std::{
    fs,
    io::{Read, Seek, SeekFrom},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

use processes::{Process, Signal, Stop, Stopped};
use rand::{Rng, distr::Alphanumeric};

use crate::{Binaries, Error, Result, user::RunAs};

/// How long a start may take before we give up and show the server's log.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Fast shutdown (SIGINT): running transactions are rolled back, data is kept; killed if
/// it takes longer than this.
const STOP: Stop = Stop::leader(Signal::SIGINT, Duration::from_secs(15));
/// Prefix of the temporary directories of ephemeral servers.
const TEMP_PREFIX: &str = "local-pg-";

/// Where and how to run the server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A directory kept between runs (`cargo xtask dev`). `None`: a fresh temporary
    /// directory, removed when the server is dropped.
    pub dir: Option<PathBuf>,
    /// `None`: a free port.
    pub port: Option<u16>,
}

/// A PostgreSQL server we started and own; dropping it stops the server.
///
/// Layout of its directory: `data/` (the cluster), `password` (of the `postgres`
/// superuser), `postgres.log`, and the Unix socket.
#[derive(Debug)]
pub struct LocalPg {
    bins: Binaries,
    run_as: RunAs,
    dir: PathBuf,
    ephemeral: bool,
    port: u16,
    password: String,
    child: Option<Process>,
}

impl LocalPg {
    /// A throwaway server on a free port, tuned for tests (no fsync).
    pub fn ephemeral() -> Result<Self> {
        Self::start_with(Options::default())
    }

    /// Creates the cluster when its directory holds none, then starts the server.
    pub fn start_with(options: Options) -> Result<Self> {
        let bins = Binaries::find()?;
        let run_as = RunAs::pick()?;
        let ephemeral = options.dir.is_none();
        let dir = match options.dir {
            Some(dir) => dir,
            None => {
                sweep_stale_temp_dirs();
                temp_dir()
            }
        };
        fs::create_dir_all(&dir).map_err(Error::io(format!("create {}", dir.display())))?;
        let dir = dir
            .canonicalize()
            .map_err(Error::io(format!("resolve {}", dir.display())))?;
        run_as.check_reachable(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(Error::io(format!("chmod {}", dir.display())))?;
        run_as.chown(&dir)?;
        let port = match options.port {
            Some(port) => port,
            None => processes::free_port().map_err(Error::io("find a free port on 127.0.0.1"))?,
        };
        let mut pg = Self {
            bins,
            run_as,
            dir,
            ephemeral,
            port,
            password: String::new(),
            child: None,
        };
        pg.password = pg.init_if_needed()?;
        pg.start()?;
        Ok(pg)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// A superuser URL for the `postgres` database.
    pub fn admin_url(&self) -> String {
        self.url_for("postgres")
    }

    pub fn url_for(&self, dbname: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{dbname}",
            self.password, self.port
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs `initdb` unless the cluster exists; returns the superuser's password.
    fn init_if_needed(&self) -> Result<String> {
        let password_file = self.dir.join("password");
        if self.data().join("PG_VERSION").is_file() {
            return fs::read_to_string(&password_file)
                .map(|p| p.trim().to_owned())
                .map_err(Error::io(format!("read {}", password_file.display())));
        }
        // Alphanumeric, so it needs no escaping in a URL.
        let password: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        fs::write(&password_file, &password)
            .map_err(Error::io(format!("write {}", password_file.display())))?;
        fs::set_permissions(&password_file, fs::Permissions::from_mode(0o600))
            .map_err(Error::io(format!("chmod {}", password_file.display())))?;
        self.run_as.chown(&password_file)?;

        let mut cmd = Command::new(self.bins.path("initdb"));
        cmd.arg("--pgdata")
            .arg(self.data())
            .args([
                "--username=postgres",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", password_file.display()))
            .arg("--no-sync")
            .current_dir(&self.dir);
        self.run_as.apply(&mut cmd);
        let out = cmd.output().map_err(Error::io(format!(
            "run {}",
            self.bins.path("initdb").display()
        )))?;
        if !out.status.success() {
            return Err(Error::Command {
                what: format!("initdb in {}", self.data().display()),
                output: String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned(),
            });
        }
        Ok(password)
    }

    /// Starts the server (again, after [`stop`](Self::stop)) on the same port and waits
    /// until it accepts connections.
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log_path = self.log_path();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(Error::io(format!("open {}", log_path.display())))?;
        let log_start = log
            .metadata()
            .map(|m| m.len())
            .map_err(Error::io(format!("stat {}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(Error::io(format!("open {}", log_path.display())))?;

        let mut cmd = Command::new(self.bins.path("postgres"));
        cmd.arg("-D")
            .arg(self.data())
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            .args(["-c", "max_connections=300"]);
        if self.ephemeral {
            // Nothing to keep: trade durability for speed.
            cmd.args(["-c", "fsync=off", "-c", "full_page_writes=off"]);
        }
        cmd.stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .current_dir(&self.dir);
        self.run_as.apply(&mut cmd);
        // In its own process group, so a Ctrl-C meant for our terminal is not also a fast
        // shutdown under running clients (the owner stops it, in order); and it gets the
        // fast-shutdown signal if we die, even by SIGKILL.
        let child = Process::spawn(&mut cmd, STOP).map_err(Error::io(format!(
            "start {}",
            self.bins.path("postgres").display()
        )))?;
        self.child = Some(child);
        if let Err(e) = self.wait_ready(log_start) {
            let _ = self.stop();
            return Err(e);
        }
        Ok(())
    }

    fn wait_ready(&mut self, log_start: u64) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Process::try_wait) {
                self.child = None;
                return Err(Error::Command {
                    what: format!("postgres on port {} ({status})", self.port),
                    output: self.log_since(log_start),
                });
            }
            let ready = Command::new(self.bins.path("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-t", "1", "-p"])
                .arg(self.port.to_string())
                .status()
                .map_err(Error::io("run pg_isready"))?;
            if ready.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::NotReady {
                    secs: READY_TIMEOUT.as_secs(),
                    log: self.log_since(log_start),
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_since(&self, offset: u64) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(self.log_path()) {
            let _ = f.seek(SeekFrom::Start(offset));
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Fast shutdown (SIGINT): running transactions are rolled back, data is kept.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        match child.stop() {
            Ok(Stopped::Exited(_)) => Ok(()),
            Ok(Stopped::Killed) => Err(Error::Other(format!(
                "postgres on port {} ignored SIGINT for {} s and was killed",
                self.port,
                STOP.grace.as_secs()
            ))),
            Err(e) => Err(Error::Other(format!(
                "stopping postgres on port {}: {e}",
                self.port
            ))),
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(Process::is_running)
    }
}

impl Drop for LocalPg {
    fn drop(&mut self) {
        let _ = self.stop();
        if self.ephemeral {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn temp_dir() -> PathBuf {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "{TEMP_PREFIX}{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().simple()
    ))
}

/// A process killed outright cannot remove its servers' directories (the servers
/// themselves stop on its death): the next run does, for owners that are gone.
fn sweep_stale_temp_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let server = fs::read_to_string(entry.path().join("data/postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()));
        if !processes::exists(owner) && !server.is_some_and(processes::exists) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

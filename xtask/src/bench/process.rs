//! The processes and files a benchmark makes, and guards that take them away again, on
//! error too; and what the kernel says about a process's memory.

use std::{
    collections::HashMap,
    fs,
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

/// How long a server may take to exit after SIGTERM before its group is killed.
const GRACE: Duration = Duration::from_secs(10);

/// A directory under the system's temp dir, removed with everything in it on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> anyhow::Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        // create_dir, not create_dir_all: never adopt (and later delete) an existing dir.
        fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.0) {
            eprintln!("xtask: could not remove {}: {e}", self.0.display());
        }
    }
}

/// A port free on 127.0.0.1 right now (the kernel's choice; handed to a server just after).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(listener.local_addr().context("finding a free port")?.port())
}

/// A server under test: its own process group (nginx forks workers), output to a log file,
/// stopped on drop.
pub struct Server {
    pub name: &'static str,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    pub fn spawn(name: &'static str, mut cmd: Command, log: &Path) -> anyhow::Result<Self> {
        let out = fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone().context("duplicating the log file handle")?;
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe. If we are killed without cleaning up, the
        // kernel sends the server SIGTERM, so no benchmark server outlives us.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
            });
        }
        let child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        Ok(Self {
            name,
            log: log.to_path_buf(),
            child: Some(child),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Fails, with the end of its log, when the server has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        let Some(child) = self.child.as_mut() else {
            bail!("{} is stopped", self.name);
        };
        if let Some(status) = child.try_wait().context("checking on the server")? {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!("{} exited ({status}):\n{}", self.name, tail.join("\n"));
        }
        Ok(())
    }

    /// Sum of the peak resident set sizes (`VmHWM`) of the server and every process it
    /// forked, in bytes. Pages shared between them (nginx's binary) are counted in each.
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        self.sum(|pid| field(pid, "status", "VmHWM:"))
    }

    /// Sum of the proportional set sizes (`Pss`) now, in bytes: shared pages divided
    /// between the processes sharing them, so forked workers are not counted twice.
    pub fn pss(&self) -> anyhow::Result<u64> {
        self.sum(|pid| field(pid, "smaps_rollup", "Pss:"))
    }

    fn sum(&self, read: impl Fn(u32) -> anyhow::Result<Option<u64>>) -> anyhow::Result<u64> {
        let pid = self.pid().context("the server is stopped")?;
        let mut total = read(pid)?.with_context(|| format!("{} is gone", self.name))?;
        for child in descendants(pid)? {
            // A worker may exit between the listing and the read: it no longer holds memory.
            total += read(child)?.unwrap_or(0);
        }
        Ok(total)
    }

    /// SIGTERM to the group, a bounded wait, then SIGKILL to the group.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = Pid::from_raw(-(child.id() as i32));
        let _ = kill(group, Signal::SIGTERM);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                // nginx's master waits for its workers before it exits: the group is empty.
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The leader is not reaped yet, so the group id cannot have been reused.
        eprintln!("xtask: {} ignored SIGTERM; killing it", self.name);
        let _ = kill(group, Signal::SIGKILL);
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `kB` line of `/proc/<pid>/<file>` (`VmHWM:` in `status`, `Pss:` in `smaps_rollup`), in
/// bytes; `None` when the process is gone.
fn field(pid: u32, file: &str, key: &str) -> anyhow::Result<Option<u64>> {
    let path = format!("/proc/{pid}/{file}");
    let text = match fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {path}")),
    };
    let kb = text
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .with_context(|| format!("no {key} in {path} (a kernel thread or a zombie?)"))?
        .trim()
        .strip_suffix("kB")
        .with_context(|| format!("{key} in {path} is not in kB"))?
        .trim()
        .parse::<u64>()
        .with_context(|| format!("{key} in {path} is not a number"))?;
    Ok(Some(kb * 1024))
}

/// Every process below `pid`, from the parent ids in `/proc/<pid>/stat`.
fn descendants(pid: u32) -> anyhow::Result<Vec<u32>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in fs::read_dir("/proc").context("listing /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(id) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // Processes come and go while we read; one that vanished is simply not listed.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(parent) = parent_id(&stat) {
            children.entry(parent).or_default().push(id);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        for &c in children.get(&p).into_iter().flatten() {
            found.push(c);
            queue.push(c);
        }
    }
    Ok(found)
}

/// The 4th field of `/proc/<pid>/stat`; the 2nd (the command) may hold spaces and
/// parentheses, so fields are counted after its last `)`.
fn parent_id(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_id_survives_odd_command_names() {
        let stat = "4242 (nginx: a (b) c) S 4241 4242 4242 0 -1 4194560 92 0 0 0";
        assert_eq!(parent_id(stat), Some(4241));
        assert_eq!(parent_id("garbage"), None);
    }

    #[test]
    fn our_own_memory_is_readable() {
        let me = std::process::id();
        assert!(field(me, "status", "VmHWM:").unwrap().unwrap() > 0);
        assert!(field(me, "smaps_rollup", "Pss:").unwrap().unwrap() > 0);
        assert!(field(u32::MAX, "status", "VmHWM:").unwrap().is_none());
    }
}

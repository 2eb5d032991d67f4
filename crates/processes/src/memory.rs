//! What the kernel says about a process's memory, in bytes (`Ok(None)`: the process is
//! gone), and which processes it started. Linux reads `/proc`; elsewhere (macOS) `ps`,
//! which knows only the current resident size, so "peak" and "proportional" mean that.

use std::io;

/// The peak resident set size (`VmHWM`).
pub fn peak_rss(pid: u32) -> io::Result<Option<u64>> {
    imp::peak_rss(pid)
}

/// The proportional set size (`Pss`): pages shared with other processes divided between
/// them, so forked workers are not counted twice.
pub fn pss(pid: u32) -> io::Result<Option<u64>> {
    imp::pss(pid)
}

/// The resident set size now (`VmRSS`).
pub fn rss(pid: u32) -> io::Result<Option<u64>> {
    imp::rss(pid)
}

/// Every process below `pid` (children, their children…).
pub fn descendants(pid: u32) -> io::Result<Vec<u32>> {
    let links = imp::parents()?;
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        for &(child, _) in links.iter().filter(|&&(_, parent)| parent == p) {
            found.push(child);
            queue.push(child);
        }
    }
    Ok(found)
}

/// The processes whose parent is `pid`.
pub fn children(pid: u32) -> io::Result<Vec<u32>> {
    Ok(imp::parents()?
        .into_iter()
        .filter_map(|(child, parent)| (parent == pid).then_some(child))
        .collect())
}

/// `read` summed over `pid` and its descendants; `Ok(None)` when `pid` is gone. A
/// descendant that exits between the listing and the read holds no memory any more.
pub fn tree_total(
    pid: u32,
    read: impl Fn(u32) -> io::Result<Option<u64>>,
) -> io::Result<Option<u64>> {
    let Some(mut total) = read(pid)? else {
        return Ok(None);
    };
    for child in descendants(pid)? {
        total += read(child)?.unwrap_or(0);
    }
    Ok(Some(total))
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use std::{fs, io};

    use super::invalid;

    pub fn peak_rss(pid: u32) -> io::Result<Option<u64>> {
        field(pid, "status", "VmHWM:")
    }

    pub fn rss(pid: u32) -> io::Result<Option<u64>> {
        field(pid, "status", "VmRSS:")
    }

    pub fn pss(pid: u32) -> io::Result<Option<u64>> {
        field(pid, "smaps_rollup", "Pss:")
    }

    /// A `kB` line of `/proc/<pid>/<file>`, in bytes.
    fn field(pid: u32, file: &str, key: &str) -> io::Result<Option<u64>> {
        let path = format!("/proc/{pid}/{file}");
        let text = match fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io::Error::new(e.kind(), format!("reading {path}: {e}"))),
        };
        let kb = text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| invalid(format!("no {key} … kB in {path} (a zombie?)")))?;
        Ok(Some(kb * 1024))
    }

    /// (pid, parent) of every process, from `/proc/<pid>/stat`.
    pub fn parents() -> io::Result<Vec<(u32, u32)>> {
        let mut links = Vec::new();
        for entry in fs::read_dir("/proc")?.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            // Processes come and go while we read; one that vanished is not listed.
            if let Some(parent) = fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| parent_id(&stat))
            {
                links.push((pid, parent));
            }
        }
        Ok(links)
    }

    /// The 4th field of `stat`; the 2nd (the command) may hold spaces and parentheses, so
    /// fields are counted after its last `)`.
    pub(super) fn parent_id(stat: &str) -> Option<u32> {
        let (_, rest) = stat.rsplit_once(')')?;
        rest.split_whitespace().nth(1)?.parse().ok()
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    use std::{io, process::Command};

    use super::invalid;

    fn ps(args: &[&str]) -> io::Result<(bool, String)> {
        let out = Command::new("ps").args(args).output()?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ))
    }

    pub fn peak_rss(pid: u32) -> io::Result<Option<u64>> {
        rss(pid)
    }

    pub fn rss(pid: u32) -> io::Result<Option<u64>> {
        // `ps` exits non-zero when the process is gone.
        let (found, text) = ps(&["-o", "rss=", "-p", &pid.to_string()])?;
        if !found || text.trim().is_empty() {
            return Ok(None);
        }
        let kb: u64 = text
            .trim()
            .parse()
            .map_err(|_| invalid(format!("ps printed {text:?} as the RSS of {pid}")))?;
        Ok(Some(kb * 1024))
    }

    pub fn pss(pid: u32) -> io::Result<Option<u64>> {
        rss(pid)
    }

    pub fn parents() -> io::Result<Vec<(u32, u32)>> {
        let (_, text) = ps(&["-A", "-o", "pid=,ppid="])?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn parent_id_survives_odd_command_names() {
        let stat = "4242 (nginx: a (b) c) S 4241 4242 4242 0 -1 4194560 92 0 0 0";
        assert_eq!(imp::parent_id(stat), Some(4241));
        assert_eq!(imp::parent_id("garbage"), None);
    }

    #[test]
    fn our_own_memory_is_readable_and_a_gone_process_is_none() {
        let me = std::process::id();
        assert!(peak_rss(me).expect("read").expect("we exist") > 0);
        assert!(pss(me).expect("read").expect("we exist") > 0);
        assert!(rss(me).expect("read").expect("we exist") > 0);
        assert!(peak_rss(i32::MAX as u32).expect("read").is_none());
    }
}

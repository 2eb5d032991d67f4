//! Children must not outlive us, even when we are killed outright (`kill -9`, a closed
//! terminal, a crashed test run).
//!
//! On Linux the kernel sees to it: every child gets a parent-death signal. macOS has none,
//! so, everywhere, each child also gets a ticket, a file naming its owner (us), the child
//! and how to stop it. Whenever a program of ours starts a child it first [`sweep`]s:
//! children whose owner is gone are stopped. So a `kill -9` of `cargo xtask dev` leaves
//! servers that the next `cargo xtask dev` (or test run) stops.

use std::{
    fs, io,
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{Signal, kill, killpg},
    unistd::{Pid, getpgid, getsid},
};

use crate::Stop;

/// A child's ticket, removed when the [`crate::Process`] is dropped.
#[derive(Debug)]
pub(crate) struct Ticket(PathBuf);

impl Ticket {
    pub(crate) fn issue(child: u32, stop: &Stop) -> io::Result<Self> {
        let dir = dir();
        fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}-{child}", std::process::id()));
        let body = format!(
            "{} {} {}\n",
            stop.signal as i32,
            stop.grace.as_millis(),
            u8::from(stop.group)
        );
        fs::write(&path, body)
            .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))?;
        Ok(Self(path))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Where tickets live: per user, so a sweep never needs to signal another user's processes.
pub fn dir() -> PathBuf {
    std::env::temp_dir().join(format!("processes-owned-{}", nix::unistd::getuid()))
}

/// Stops the children of owners that are gone, waiting for each as its ticket says.
/// Errors are ignored: this is clean-up on behalf of a program that could not do it.
pub fn sweep() {
    sweep_in(&dir());
}

pub(crate) fn sweep_in(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some((owner, child)) = parse_name(&path) else {
            continue;
        };
        if alive(owner) {
            continue;
        }
        if let Some(stop) = fs::read_to_string(&path).ok().and_then(|s| parse_body(&s))
            && is_orphaned_leader(child)
        {
            stop_orphan(child, &stop);
        }
        let _ = fs::remove_file(&path);
    }
}

fn parse_name(path: &Path) -> Option<(Pid, Pid)> {
    let (owner, child) = path.file_name()?.to_str()?.split_once('-')?;
    let pid = |s: &str| s.parse::<i32>().ok().filter(|&p| p > 0).map(Pid::from_raw);
    Some((pid(owner)?, pid(child)?))
}

fn parse_body(body: &str) -> Option<Stop> {
    let mut fields = body.split_whitespace();
    let signal = Signal::try_from(fields.next()?.parse::<i32>().ok()?).ok()?;
    let grace = Duration::from_millis(fields.next()?.parse().ok()?);
    let group = fields.next()? == "1";
    Some(Stop {
        signal,
        grace,
        group,
    })
}

/// Whether a process exists (one we may not signal exists too).
pub(crate) fn alive(pid: Pid) -> bool {
    !matches!(kill(pid, None), Err(nix::errno::Errno::ESRCH))
}

/// Our children lead their own group inside their owner's session. A pid reused since by
/// an unrelated process is very unlikely to look like that (daemons lead their session).
fn is_orphaned_leader(pid: Pid) -> bool {
    getpgid(Some(pid)).is_ok_and(|g| g == pid) && getsid(Some(pid)).is_ok_and(|s| s != pid)
}

fn stop_orphan(pid: Pid, stop: &Stop) {
    let _ = stop.send(pid);
    let deadline = Instant::now() + stop.grace;
    // Not our child, so it cannot be waited for: poll until it is gone (its parent, init,
    // reaps it).
    while alive(pid) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    if alive(pid) {
        let _ = killpg(pid, Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_names_owner_and_child_and_says_how_to_stop() {
        let stop = Stop::group(Signal::SIGINT, Duration::from_millis(1500));
        let ticket = Ticket::issue(4242, &stop).expect("ticket");
        let (owner, child) = parse_name(&ticket.0).expect("name");
        assert_eq!(owner.as_raw() as u32, std::process::id());
        assert_eq!(child.as_raw(), 4242);
        let body = fs::read_to_string(&ticket.0).expect("read");
        assert_eq!(parse_body(&body), Some(stop));
        let path = ticket.0.clone();
        drop(ticket);
        assert!(!path.exists(), "the ticket is removed with its process");
    }

    #[test]
    fn malformed_tickets_are_ignored() {
        assert_eq!(parse_body(""), None);
        assert_eq!(parse_body("999 10 1"), None);
        assert_eq!(parse_body("15 x 1"), None);
        assert_eq!(parse_name(Path::new("/t/notes.txt")), None);
        assert_eq!(parse_name(Path::new("/t/0-12")), None);
    }

    /// What a macOS machine relies on: a child whose owner died is stopped by the sweep.
    #[test]
    fn the_sweep_stops_children_of_dead_owners_and_spares_the_living() {
        use std::{os::unix::process::CommandExt, process::Command};

        let dir = std::env::temp_dir().join(format!("processes-sweep-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let start = || {
            Command::new("sleep")
                .arg("1000")
                .process_group(0)
                .spawn()
                .expect("sleep")
        };
        let (mut orphan, mut kept) = (start(), start());
        let mut gone = Command::new("true").spawn().expect("true");
        gone.wait().expect("wait");
        let ticket = |owner: u32, child: u32| {
            let path = dir.join(format!("{owner}-{child}"));
            fs::write(&path, format!("{} 300 0\n", Signal::SIGTERM as i32)).expect("write");
            path
        };
        let stale = ticket(gone.id(), orphan.id());
        let live = ticket(std::process::id(), kept.id());

        sweep_in(&dir);

        let status = orphan.try_wait().expect("wait");
        assert!(status.is_some(), "the orphan was stopped");
        assert!(!stale.exists(), "its ticket was removed");
        assert_eq!(
            kept.try_wait().expect("wait"),
            None,
            "a living owner's child runs on"
        );
        assert!(live.exists());
        let _ = kept.kill();
        let _ = kept.wait();
        let _ = fs::remove_dir_all(&dir);
    }
}

use nix::unistd::{Gid, Uid, User};

use crate::{Error, Result};

/// Who the server runs as: ourselves, or an unprivileged account when we are root.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunAs {
    pub uid: Uid,
    pub gid: Gid,
    /// Whether we must switch to it (we are root).
    pub switch: bool,
}

impl RunAs {
    pub fn pick() -> Result<Self> {
        if !Uid::effective().is_root() {
            return Ok(Self {
                uid: Uid::effective(),
                gid: Gid::effective(),
                switch: false,
            });
        }
        ["postgres", "nobody"]
            .iter()
            .find_map(|name| User::from_name(name).ok().flatten())
            .map(|u| Self {
                uid: u.uid,
                gid: u.gid,
                switch: true,
            })
            .ok_or(Error::NoUnprivilegedUser)
    }

    /// Applies the switch to a command about to be spawned.
    pub fn apply(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        if self.switch {
            cmd.uid(self.uid.as_raw()).gid(self.gid.as_raw());
        }
    }

    /// Fails with a way out when the server's user could not reach `dir` (as root, a
    /// parent such as a `mktemp -d` directory or a home may be closed to others).
    pub fn check_reachable(&self, dir: &std::path::Path) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        if !self.switch {
            return Ok(());
        }
        for ancestor in dir.ancestors().skip(1) {
            let Ok(meta) = std::fs::metadata(ancestor) else {
                continue;
            };
            let mode = meta.mode();
            let searchable = mode & 0o001 != 0
                || (meta.uid() == self.uid.as_raw() && mode & 0o100 != 0)
                || (meta.gid() == self.gid.as_raw() && mode & 0o010 != 0);
            if !searchable {
                return Err(Error::Other(format!(
                    "PostgreSQL runs as an unprivileged user (uid {}), which cannot enter {}: \
                     choose a data directory it can reach, or allow it in (chmod o+x {})",
                    self.uid,
                    ancestor.display(),
                    ancestor.display()
                )));
            }
        }
        Ok(())
    }

    /// Hands a path we created over to the server's user.
    pub fn chown(&self, path: &std::path::Path) -> Result<()> {
        if self.switch {
            nix::unistd::chown(path, Some(self.uid), Some(self.gid))
                .map_err(|e| Error::io(format!("chown {}", path.display()))(e.into()))?;
        }
        Ok(())
    }
}

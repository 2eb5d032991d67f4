//! The dev database's credentials: a git-ignored env file with a random password, read by
//! the dev overlay's `secretGenerator`, created here on first use. Nothing secret is ever
//! committed, and a fresh clone still renders after one `cargo xtask render dev`.

use std::{
    fs,
    io::{ErrorKind, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use anyhow::Context;
use rand::{Rng, distr::Alphanumeric};

/// The file, relative to the dev overlay (the overlay's `secretGenerator` names it).
pub const RELATIVE_PATH: &str = "secrets/db.env";
/// The database role the API, the migrator and the backups log in as.
const USERNAME: &str = "randoms";

/// Creates the file with a fresh random password unless it exists; returns its path when
/// it was created now. Safe against a concurrent creator: the file appears complete or not
/// at all (written aside, then linked into place, which fails if the name is taken).
pub fn ensure(overlay_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    let path = overlay_dir.join(RELATIVE_PATH);
    if path.exists() {
        return Ok(None);
    }
    let dir = path.parent().unwrap_or(overlay_dir);
    crate::project::create_dir(dir)?;
    let password: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let aside = dir.join(format!(".db.env.{}", std::process::id()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&aside)
        .with_context(|| format!("creating {}", aside.display()))?;
    file.write_all(format!("username={USERNAME}\npassword={password}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", aside.display()))?;
    let linked = fs::hard_link(&aside, &path);
    let _ = fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok(Some(path)),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

#[cfg(test)]
#[path = "../../unit-tests/deploy/dev_secret.rs"]
mod tests;

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Where `initdb`, `postgres` and `pg_isready` live.
#[derive(Debug, Clone)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// `PG_BIN_DIR` when set, then `PATH` (Homebrew, Nix, a dev's own build), then Debian's
    /// versioned directories, newest first (their binaries are not on `PATH`).
    pub fn find() -> Result<Self> {
        let from_env = std::env::var_os("PG_BIN_DIR").map(PathBuf::from);
        let on_path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default();
        let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|rd| rd.flatten().map(|e| e.path().join("bin")).collect())
            .unwrap_or_default();
        debian.sort_by_key(|p| {
            let version = p
                .parent()
                .and_then(Path::file_name)
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<u32>().ok());
            std::cmp::Reverse(version)
        });
        from_env
            .into_iter()
            .chain(on_path)
            .chain(debian)
            .find(|dir| {
                ["initdb", "postgres", "pg_isready"]
                    .iter()
                    .all(|b| dir.join(b).is_file())
            })
            .map(|dir| Self { dir })
            .ok_or(Error::BinariesNotFound)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

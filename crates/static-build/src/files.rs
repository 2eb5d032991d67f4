//! Laying out an image's root file system from host files.

use std::path::Path;

use crate::{Result, io};

/// Where hosts keep their CA bundle (Debian/Ubuntu `ca-certificates`, Fedora, Alpine and
/// macOS).
const CA_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// This machine's CA certificate bundle, if it has one where hosts keep it.
pub fn ca_bundle() -> Option<&'static Path> {
    CA_BUNDLES.iter().map(Path::new).find(|p| p.is_file())
}

/// Copies one file, creating `to`'s directory.
pub fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::copy(from, to).map_err(io(from))?;
    Ok(())
}

/// Copies the directory `from` into `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let path = entry.map_err(io(from))?.path();
        let Some(name) = path.file_name() else {
            continue;
        };
        if path.is_dir() {
            copy_tree(&path, &to.join(name))?;
        } else {
            copy(&path, &to.join(name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tree_is_copied_whole() {
        let dir = std::env::temp_dir().join(format!("static-build-copy-{}", std::process::id()));
        let from = dir.join("from");
        std::fs::create_dir_all(from.join("a/b")).expect("dirs");
        std::fs::write(from.join("top"), "1").expect("file");
        std::fs::write(from.join("a/b/deep"), "2").expect("file");
        super::copy_tree(&from, &dir.join("to")).expect("copied");
        assert_eq!(
            std::fs::read_to_string(dir.join("to/top")).ok().as_deref(),
            Some("1")
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("to/a/b/deep"))
                .ok()
                .as_deref(),
            Some("2")
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}

//! The SPA bundle as `cargo xtask web --out DIR` leaves it: every file of the page, each
//! with its precompressed `.gz` and `.br` beside it. Read from disk, so the bench needs
//! nothing of xtask's but its command line.

use std::{fs, path::Path};

use anyhow::{Context, bail};

/// One file of the bundle and its sizes, in bytes.
#[derive(Debug, PartialEq)]
pub struct Asset {
    pub name: String,
    pub raw: u64,
    pub gzip: Option<u64>,
    pub brotli: Option<u64>,
}

/// Builds the bundle into `out` (which `cargo xtask web` empties first) with the project's
/// own command, and returns what it holds.
pub fn build(out: &Path) -> anyhow::Result<Vec<Asset>> {
    let mut cmd = crate::project::cargo(["xtask", "web", "--out"])?;
    cmd.arg(out);
    crate::project::run("building the SPA bundle (cargo xtask web)", cmd)?;
    read(out)
}

/// The files of the bundle in `dir`: `index.html` first, then the rest by name, each with
/// the sizes of its `.gz` and `.br` when they exist.
pub fn read(dir: &Path) -> anyhow::Result<Vec<Asset>> {
    let size = |name: &str| -> anyhow::Result<Option<u64>> {
        let path = dir.join(name);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        // The bundle's names are ours (hashes and ASCII stems); anything else is not its.
        let Some(name) = name.to_str() else { continue };
        if !name.ends_with(".gz") && !name.ends_with(".br") {
            names.push(name.to_owned());
        }
    }
    names.sort_by_key(|n| (n != "index.html", n.clone()));
    let mut assets = Vec::new();
    for name in names {
        let Some(raw) = size(&name)? else { continue };
        assets.push(Asset {
            gzip: size(&format!("{name}.gz"))?,
            brotli: size(&format!("{name}.br"))?,
            name,
            raw,
        });
    }
    if assets.is_empty() {
        bail!("the bundle in {} is empty", dir.display());
    }
    Ok(assets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process;

    #[test]
    fn reads_files_and_their_precompressed_sizes() {
        let tmp = process::temp_dir("bench-bundle-test").expect("a temp dir");
        let write = |name: &str, len: usize| {
            fs::write(tmp.path().join(name), vec![b'x'; len]).expect("writing a file");
        };
        write("web_bg-00ff.wasm", 1000);
        write("web_bg-00ff.wasm.gz", 400);
        write("web_bg-00ff.wasm.br", 300);
        write("index.html", 500);
        write("index.html.gz", 200);
        write("index.html.br", 150);
        write("boot-1234.js", 80);
        let assets = read(tmp.path()).expect("a bundle");
        assert_eq!(
            assets,
            [
                Asset {
                    name: "index.html".into(),
                    raw: 500,
                    gzip: Some(200),
                    brotli: Some(150),
                },
                Asset {
                    name: "boot-1234.js".into(),
                    raw: 80,
                    gzip: None,
                    brotli: None,
                },
                Asset {
                    name: "web_bg-00ff.wasm".into(),
                    raw: 1000,
                    gzip: Some(400),
                    brotli: Some(300),
                },
            ]
        );
    }

    #[test]
    fn an_empty_bundle_is_an_error() {
        let tmp = process::temp_dir("bench-bundle-empty").expect("a temp dir");
        let err = read(tmp.path()).expect_err("empty").to_string();
        assert!(err.contains("is empty"), "{err}");
    }
}

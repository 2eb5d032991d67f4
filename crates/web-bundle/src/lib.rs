//! The SPA bundle, as `cargo xtask web` (and `dev`, `test`, `images`) builds it: wasm32
//! build → `wasm-opt -Oz` when binaryen is installed → wasm-bindgen (as a library pinned to
//! the project's wasm-bindgen, so no CLI to install and no version drift) → content-hashed
//! files, `index.html`, precompressed `.br`/`.gz`. Nothing is downloaded.

use std::{
    ffi::OsString,
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
    process::Command,
};

use sha2::{Digest, Sha256};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Which bundle: the one that ships, or the one `cargo xtask dev` rebuilds on every edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Size-tuned (`wasm-release`: opt-level z, fat LTO), `wasm-opt -Oz`, precompressed.
    Shipped,
    /// Quick to rebuild: cargo's `dev` profile, the one the native binaries use, so the
    /// build scripts and proc macros they share are compiled once; no wasm-opt, no
    /// `.br`/`.gz`.
    Dev,
}

impl Flavor {
    fn profile(self) -> &'static str {
        match self {
            Flavor::Shipped => "wasm-release",
            Flavor::Dev => "dev",
        }
    }

    /// The directory cargo puts the profile's output in.
    fn dir(self) -> &'static str {
        match self {
            Flavor::Shipped => "wasm-release",
            Flavor::Dev => "debug",
        }
    }
}

/// A step that failed, named.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("{0} failed ({1})")]
    Step(String, std::process::ExitStatus),
    #[error("wasm-bindgen on {}: {why}", input.display())]
    Bindgen { input: PathBuf, why: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// One file of the bundle and its sizes, for the report.
pub struct Asset {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// Where the workspace is, and the cargo that builds it.
pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    pub cargo: OsString,
}

impl Workspace {
    /// Builds the bundle into `out` (emptied first) and returns what it holds; a dev
    /// bundle's assets have no compressed sizes (0).
    pub fn build(&self, out: &Path, flavor: Flavor) -> Result<Vec<Asset>, Error> {
        let mut cargo = Command::new(&self.cargo);
        cargo
            .args([
                "build",
                "--locked",
                "--package",
                "web",
                "--target",
                WASM_TARGET,
            ])
            .args(["--profile", flavor.profile()])
            .current_dir(&self.root);
        run("building the SPA for wasm", cargo)?;
        let built = self
            .target_dir
            .join(WASM_TARGET)
            .join(flavor.dir())
            .join("web.wasm");
        let staging = self.target_dir.join("web").join("staging");
        recreate(&staging)?;
        let input = match flavor {
            Flavor::Shipped => optimize(&built, &staging.join("opt"))?,
            Flavor::Dev => built,
        };
        let bindgen = staging.join("bindgen");
        eprintln!("xtask: wasm-bindgen");
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(&input)
            .web(true)
            .and_then(|b| {
                b.omit_default_module_path(true)
                    .typescript(false)
                    .generate(&bindgen)
            })
            .map_err(|e| Error::Bindgen {
                input: input.clone(),
                why: e.to_string(),
            })?;

        recreate(out)?;
        let js = emit(out, "web", "js", &read(&bindgen.join("web.js"))?)?;
        let wasm = emit(out, "web_bg", "wasm", &read(&bindgen.join("web_bg.wasm"))?)?;
        let css = emit(
            out,
            "style",
            "css",
            &read(&self.root.join("web/style.css"))?,
        )?;
        // The CSP forbids inline scripts, so the bootstrap is a file of its own.
        let boot =
            format!("import init from \"./{js}\";\ninit({{ module_or_path: \"./{wasm}\" }});\n");
        let boot = emit(out, "boot", "js", boot.as_bytes())?;
        fs::write(out.join("index.html"), index_html(&boot, &js, &wasm, &css))
            .map_err(io("writing index.html"))?;
        let names = ["index.html", &boot, &js, &wasm, &css].into_iter();
        match flavor {
            Flavor::Shipped => names.map(|name| precompress(out, name)).collect(),
            // Served from loopback: compressing at the highest levels would cost seconds.
            Flavor::Dev => names.map(|name| uncompressed(out, name)).collect(),
        }
    }
}

fn run(name: &str, mut cmd: Command) -> Result<(), Error> {
    eprintln!("xtask: {name}");
    let status = cmd.status().map_err(io(format!("running {name}")))?;
    if !status.success() {
        return Err(Error::Step(name.to_owned(), status));
    }
    Ok(())
}

/// Inline, so it costs no request (and the browser asks for no `/favicon.ico`); the CSP's
/// `img-src` allows `data:`.
const ICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' \
    viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='4' fill='%232563eb'/%3E\
    %3Cpath d='M4 8h8M8 4v8' stroke='%23fff' stroke-width='2'/%3E%3C/svg%3E";

fn index_html(boot: &str, js: &str, wasm: &str, css: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="The latest random UUIDs, live, and a button that adds one.">
<title>Random UUIDs</title>
<link rel="icon" href="{ICON}">
<link rel="stylesheet" href="/{css}">
<link rel="modulepreload" href="/{js}">
<link rel="preload" href="/{wasm}" as="fetch" type="application/wasm" crossorigin>
<script type="module" src="/{boot}"></script>
</head>
<body><noscript>This page needs JavaScript and WebAssembly.</noscript></body>
</html>
"#
    )
}

/// `wasm-opt -Oz` from binaryen when it is installed (a note otherwise); returns the wasm
/// to hand to wasm-bindgen, keeping its file name (wasm-bindgen names its output after it).
///
/// It runs *before* wasm-bindgen, not after as usual: binaryen releases before ~116
/// (Debian 12 ships 108) rewrite wasm-bindgen's externref table into one the browser
/// rejects at start, while optimizing rustc's output works with every version and costs
/// about 1 KB.
fn optimize(wasm: &Path, dir: &Path) -> Result<PathBuf, Error> {
    let Some(wasm_opt) = processes::find_program("wasm-opt") else {
        eprintln!(
            "xtask: note: wasm-opt not found, the wasm is not size-optimized \
             (install binaryen: `apt-get install binaryen` or `brew install binaryen`)"
        );
        return Ok(wasm.to_path_buf());
    };
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let optimized = dir.join(wasm.file_name().unwrap_or_default());
    let mut cmd = Command::new(wasm_opt);
    // The features rustc enables for wasm32 by default.
    cmd.arg("-Oz")
        .args([
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(&optimized);
    run("wasm-opt -Oz", cmd)?;
    Ok(optimized)
}

/// Writes `stem-<hash>.ext` and returns its name. The hash is of the content, so a file's
/// name changes exactly when it does, and browsers may cache it forever.
fn emit(out: &Path, stem: &str, ext: &str, content: &[u8]) -> Result<String, Error> {
    let digest = Sha256::digest(content);
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("{stem}-{hash}.{ext}");
    fs::write(out.join(&name), content).map_err(io(format!("writing {name}")))?;
    Ok(name)
}

fn uncompressed(out: &Path, name: &str) -> Result<Asset, Error> {
    let raw = fs::metadata(out.join(name))
        .map_err(io(format!("reading {name}")))?
        .len();
    Ok(Asset {
        name: name.to_owned(),
        raw,
        gzip: 0,
        brotli: 0,
    })
}

/// Writes `name.br` and `name.gz` beside `name`, at the highest levels: it is done once at
/// build time, never per request.
fn precompress(out: &Path, name: &str) -> Result<Asset, Error> {
    let content = read(&out.join(name))?;
    let compress = || -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 24,
            ..Default::default()
        };
        brotli::CompressorWriter::with_params(&mut br, 64 * 1024, &params).write_all(&content)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&content)?;
        let gz = gz.finish()?;
        fs::write(out.join(format!("{name}.br")), &br)?;
        fs::write(out.join(format!("{name}.gz")), &gz)?;
        Ok((br, gz))
    };
    let (br, gz) = compress().map_err(io(format!("precompressing {name}")))?;
    Ok(Asset {
        name: name.to_owned(),
        raw: content.len() as u64,
        gzip: gz.len() as u64,
        brotli: br.len() as u64,
    })
}

/// The most the whole first load (every file of the page, brotli) may weigh, in bytes: a
/// Vue 3 build of the same page is 29 KB.
pub const FIRST_LOAD_TARGET: u64 = 60_000;

/// The sizes, and the whole first load (every file of the page, brotli) against the target.
pub fn report(out: &Path, assets: &[Asset]) -> String {
    let kb = |n: u64| format!("{:.1} KB", n as f64 / 1000.0);
    let mut text = format!(
        "bundle: {}\n| file | raw | gzip | brotli |\n| --- | ---: | ---: | ---: |\n",
        out.display()
    );
    for a in assets {
        let row = [&a.name, &kb(a.raw), &kb(a.gzip), &kb(a.brotli)];
        text.push_str(&format!("| {} |\n", row.map(String::as_str).join(" | ")));
    }
    let first_load: u64 = assets.iter().map(|a| a.brotli).sum();
    text.push_str(&format!(
        "first load, brotli: {} (target: at most {})\n",
        kb(first_load),
        kb(FIRST_LOAD_TARGET)
    ));
    text
}

fn recreate(dir: &Path) -> Result<(), Error> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(io(format!("emptying {}", dir.display())))?;
    }
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(io(format!("reading {}", path.display())))
}

#[cfg(test)]
mod tests {
    /// wasm-bindgen's generated glue and the library that generates it must be the same
    /// version, or the bundle breaks at run time.
    #[test]
    fn wasm_bindgen_and_its_cli_support_are_pinned_together() {
        let lock_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
        let lock = std::fs::read_to_string(lock_file).expect("Cargo.lock");
        let version = |name: &str| {
            let block = lock
                .split("[[package]]")
                .find(|b| b.contains(&format!("name = \"{name}\"\n")))
                .unwrap_or_else(|| panic!("{name} in Cargo.lock"));
            block
                .lines()
                .find_map(|l| l.strip_prefix("version = \""))
                .map(|v| v.trim_end_matches('"').to_owned())
                .expect("a version")
        };
        assert_eq!(version("wasm-bindgen"), version("wasm-bindgen-cli-support"));
    }
}

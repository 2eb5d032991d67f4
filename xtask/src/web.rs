//! `cargo xtask web`: the SPA bundle. wasm32 build → wasm-bindgen (as a library pinned to
//! the project's wasm-bindgen, so no CLI to install and no version drift) → `wasm-opt -Oz`
//! when binaryen is installed → content-hashed files, `index.html`, precompressed `.br`/`.gz`.
//! Nothing is downloaded.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use sha2::{Digest, Sha256};
use xshell::cmd;

use crate::{project, toolchain};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "wasm-release";

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the bundle (emptied first).
    #[arg(long, default_value = "target/web/dist")]
    pub out: PathBuf,
}

/// One file of the bundle and its sizes, for the report.
pub struct Asset {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // Relative to the workspace root; an absolute --out replaces it.
    let out = project::root().join(args.out);
    let assets = build(&out)?;
    print_report(&out, &assets);
    Ok(())
}

/// Builds the bundle into `out` and returns what it holds.
pub fn build(out: &Path) -> anyhow::Result<Vec<Asset>> {
    toolchain::ensure_target(WASM_TARGET)?;
    let sh = project::shell()?;
    let cargo = project::cargo_program();
    project::run(
        "building the SPA for wasm",
        cmd!(
            sh,
            "{cargo} build --locked --package web --target {WASM_TARGET} --profile {PROFILE}"
        ),
    )?;
    let built = project::target_dir()
        .join(WASM_TARGET)
        .join(PROFILE)
        .join("web.wasm");
    let staging = project::target_dir().join("web").join("staging");
    recreate(&staging)?;
    let input = optimize(&built, &staging.join("opt"))?;
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
        .map_err(|e| anyhow::anyhow!("wasm-bindgen on {}: {e}", input.display()))?;

    recreate(out)?;
    let js = emit(out, "web", "js", &read(&bindgen.join("web.js"))?)?;
    let wasm = emit(out, "web_bg", "wasm", &read(&bindgen.join("web_bg.wasm"))?)?;
    let css = emit(
        out,
        "style",
        "css",
        &read(&project::root().join("web/style.css"))?,
    )?;
    // The CSP forbids inline scripts, so the bootstrap is a file of its own.
    let boot = format!("import init from \"./{js}\";\ninit({{ module_or_path: \"./{wasm}\" }});\n");
    let boot = emit(out, "boot", "js", boot.as_bytes())?;
    fs::write(out.join("index.html"), index_html(&boot, &js, &wasm, &css))
        .context("writing index.html")?;

    let mut assets = Vec::new();
    for name in ["index.html", &boot, &js, &wasm, &css] {
        assets.push(precompress(out, name)?);
    }
    Ok(assets)
}

fn index_html(boot: &str, js: &str, wasm: &str, css: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Random UUIDs</title>
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
fn optimize(wasm: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    if processes::find_program("wasm-opt").is_none() {
        eprintln!(
            "xtask: note: wasm-opt not found, the wasm is not size-optimized \
             (install binaryen: `apt-get install binaryen` or `brew install binaryen`)"
        );
        return Ok(wasm.to_path_buf());
    }
    project::create_dir(dir)?;
    let optimized = dir.join(wasm.file_name().context("the wasm has a file name")?);
    let sh = project::shell()?;
    // The features rustc enables for wasm32 by default.
    let features = [
        "--enable-bulk-memory",
        "--enable-nontrapping-float-to-int",
        "--enable-sign-ext",
        "--enable-mutable-globals",
        "--enable-reference-types",
        "--enable-multivalue",
    ];
    project::run(
        "wasm-opt -Oz",
        cmd!(sh, "wasm-opt -Oz {features...} {wasm} -o {optimized}"),
    )?;
    Ok(optimized)
}

/// Writes `stem-<hash>.ext` and returns its name. The hash is of the content, so a file's
/// name changes exactly when it does, and browsers may cache it forever.
fn emit(out: &Path, stem: &str, ext: &str, content: &[u8]) -> anyhow::Result<String> {
    let digest = Sha256::digest(content);
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("{stem}-{hash}.{ext}");
    fs::write(out.join(&name), content).with_context(|| format!("writing {name}"))?;
    Ok(name)
}

/// Writes `name.br` and `name.gz` beside `name`, at the highest levels: it is done once at
/// build time, never per request.
fn precompress(out: &Path, name: &str) -> anyhow::Result<Asset> {
    let content = read(&out.join(name))?;
    let mut br = Vec::new();
    {
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 24,
            ..Default::default()
        };
        let mut writer = brotli::CompressorWriter::with_params(&mut br, 64 * 1024, &params);
        writer.write_all(&content)?;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&content)?;
    let gz = gz.finish()?;
    fs::write(out.join(format!("{name}.br")), &br)?;
    fs::write(out.join(format!("{name}.gz")), &gz)?;
    Ok(Asset {
        name: name.to_owned(),
        raw: content.len() as u64,
        gzip: gz.len() as u64,
        brotli: br.len() as u64,
    })
}

/// The sizes, and the whole first load (every file of the page, brotli) against the target.
pub fn print_report(out: &Path, assets: &[Asset]) {
    let kb = |n: u64| format!("{:.1} KB", n as f64 / 1000.0);
    println!("bundle: {}", out.display());
    println!("| file | raw | gzip | brotli |\n| --- | ---: | ---: | ---: |");
    for a in assets {
        println!(
            "| {} | {} | {} | {} |",
            a.name,
            kb(a.raw),
            kb(a.gzip),
            kb(a.brotli)
        );
    }
    let first_load: u64 = assets.iter().map(|a| a.brotli).sum();
    println!(
        "first load, brotli: {} (target: at most 100 KB)",
        kb(first_load)
    );
}

fn recreate(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    project::create_dir(dir)
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    /// wasm-bindgen's generated glue and the library that generates it must be the same
    /// version, or the bundle breaks at run time.
    #[test]
    fn wasm_bindgen_and_its_cli_support_are_pinned_together() {
        let lock =
            std::fs::read_to_string(crate::project::root().join("Cargo.lock")).expect("Cargo.lock");
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

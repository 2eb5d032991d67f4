//! Where things are, and running commands from xtask (through xshell).

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, atomic::AtomicBool},
};

use anyhow::{Context, bail};
use xshell::{Cmd, Shell};

/// The static server's dev-only channel: `cargo xtask dev` and the tests build it in,
/// release builds and images leave it out.
pub const LIVE_RELOAD: &str = "web-server/live-reload";

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// `mkdir -p`, a failure naming the directory.
pub fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// A flag that Ctrl-C (SIGINT) or SIGTERM raises, for a loop that stops cleanly.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    Ok(stop)
}

/// A shell whose commands run in the workspace root.
pub fn shell() -> anyhow::Result<Shell> {
    let sh = Shell::new().context("reading the current directory")?;
    sh.change_dir(root());
    Ok(sh)
}

/// The cargo that runs us.
pub fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// `cargo ARGS…` in the workspace root, for `exec` (`cargo xtask bench`).
pub fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo_program());
    cmd.args(args).current_dir(root());
    cmd
}

/// Runs a step to completion, its output shown as it comes; a failure names it.
pub fn run(name: &str, cmd: Cmd<'_>) -> anyhow::Result<()> {
    eprintln!("xtask: {name}");
    check(name, cmd)
}

/// [`run`] without the announcement.
pub fn check(name: &str, cmd: Cmd<'_>) -> anyhow::Result<()> {
    cmd.quiet()
        .run()
        .map_err(|e| anyhow::anyhow!("{name} failed ({e})"))
}

/// Runs to completion and returns stdout; a failure carries the command's own message.
pub fn read(name: &str, cmd: Cmd<'_>) -> anyhow::Result<String> {
    let out = cmd
        .quiet()
        .ignore_status()
        .output()
        .with_context(|| format!("running {name}"))?;
    if !out.status.success() {
        bail!(
            "{name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("{name} printed something not UTF-8"))
}

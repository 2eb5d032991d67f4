//! The Rust toolchain pieces the project needs beyond a default rustup install.

use std::process::Command;

use anyhow::{Context, bail};

/// Installs a compilation target with rustup when it is missing (toolchains are not
/// auto-installed everywhere, targets are cheap to add).
pub fn ensure_target(target: &str) -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup to list installed targets (is rustup on PATH?)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|t| t.trim() == target)
    {
        return Ok(());
    }
    eprintln!("xtask: installing the {target} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .context("running rustup target add")?;
    if !status.success() {
        bail!("`rustup target add {target}` failed; install the target and retry");
    }
    Ok(())
}

//! The Rust toolchain pieces the project needs beyond a default rustup install.

use anyhow::Context;
use xshell::cmd;

use crate::project;

/// Installs a compilation target with rustup when it is missing (toolchains are not
/// auto-installed everywhere, targets are cheap to add).
pub fn ensure_target(target: &str) -> anyhow::Result<()> {
    let sh = project::shell()?;
    let installed = cmd!(sh, "rustup target list --installed")
        .quiet()
        .ignore_status()
        .ignore_stderr()
        .read()
        .context("running rustup to list installed targets (is rustup on PATH?)")?;
    if installed.lines().any(|t| t.trim() == target) {
        return Ok(());
    }
    eprintln!("xtask: installing the {target} target with rustup");
    cmd!(sh, "rustup target add {target}")
        .quiet()
        .run()
        .with_context(|| {
            format!("`rustup target add {target}` failed; install the target and retry")
        })
}

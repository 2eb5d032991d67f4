//! Where things are, and running the project's own commands (cargo, `cargo xtask …`) as a
//! user would.

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, bail};

/// The workspace root: this crate is `crates/bench`, two levels below it.
pub fn root() -> anyhow::Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "{} is not two levels below the workspace root",
                manifest_dir.display()
            )
        })
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR` (relative to the root, as cargo
/// reads it when run there).
pub fn target_dir() -> anyhow::Result<PathBuf> {
    let root = root()?;
    Ok(match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    })
}

/// The cargo that runs us (`$CARGO`, else `cargo` on PATH), in the workspace root.
pub fn cargo<I, S>(args: I) -> anyhow::Result<Command>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(args).current_dir(root()?);
    Ok(cmd)
}

/// Runs a step to completion; a failure names it. Its stdout goes to our stderr: our stdout
/// carries the reports and nothing else (`cargo xtask web` and `images` print tables there).
pub fn run(name: &str, mut cmd: Command) -> anyhow::Result<()> {
    eprintln!("bench: {name}");
    cmd.stdout(Stdio::from(std::io::stderr()));
    let status = cmd
        .status()
        .with_context(|| format!("could not run {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_root_is_the_workspace() {
        let root = super::root().expect("a root");
        assert!(root.join("Cargo.lock").is_file(), "{}", root.display());
        assert!(root.join("crates/bench/Cargo.toml").is_file());
    }
}

//! `cargo xtask test`: what CI runs, and what a change must pass.

use std::process::Command;

use anyhow::{Context, bail};

use crate::toolchain;

const WASM: &str = "wasm32-unknown-unknown";

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo fmt --check` and clippy; run only the tests.
    #[arg(long)]
    pub no_lint: bool,
    /// Passed to `cargo test` (a test name filter, `--nocapture`…), after `--`.
    #[arg(last = true)]
    pub test_args: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.no_lint {
        step("formatting", cargo(&["fmt", "--all", "--check"]))?;
        step(
            "clippy",
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]),
        )?;
    }
    // The SPA compiles `domain` to wasm: keep it free of anything that cannot.
    toolchain::ensure_target(WASM)?;
    step(
        "domain for wasm",
        cargo(&["check", "--package", "domain", "--target", WASM, "--locked"]),
    )?;
    let mut test = cargo(&["test", "--workspace", "--locked"]);
    if !args.test_args.is_empty() {
        test.arg("--").args(&args.test_args);
    }
    step("tests", test)?;
    eprintln!("xtask: all checks passed");
    Ok(())
}

fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(args);
    cmd
}

fn step(name: &str, mut cmd: Command) -> anyhow::Result<()> {
    eprintln!("xtask: {name}");
    let status = cmd
        .status()
        .with_context(|| format!("could not run {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

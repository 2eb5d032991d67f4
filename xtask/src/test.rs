//! `cargo xtask test`: what CI runs, and what a change must pass.

use crate::{
    project::{self, cargo, run as step},
    toolchain, web,
};

use crate::web::WASM_TARGET as WASM;

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
    toolchain::ensure_target(WASM)?;
    if !args.no_lint {
        step("formatting", cargo(&["fmt", "--all", "--check"]))?;
        step(
            "clippy for the SPA (wasm)",
            cargo(&[
                "clippy",
                "--package",
                "web",
                "--target",
                WASM,
                "--locked",
                "--",
                "-D",
                "warnings",
            ]),
        )?;
        step(
            "clippy",
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                // Linted above for the target it runs on.
                "--exclude",
                "web",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]),
        )?;
    }
    // The SPA as shipped (which also proves `domain` still compiles to wasm), for the
    // browser test.
    let bundle = project::target_dir().join("web").join("dist");
    let assets = web::build(&bundle)?;
    web::print_report(&bundle, &assets);
    let mut test = cargo(&["test", "--workspace", "--exclude", "web", "--locked"]);
    test.env("E2E_WEB_DIST", &bundle);
    if !args.test_args.is_empty() {
        test.arg("--").args(&args.test_args);
    }
    step("tests", test)?;
    eprintln!("xtask: all checks passed");
    Ok(())
}

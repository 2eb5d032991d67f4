//! `cargo xtask test`: what CI runs, and what a change must pass.

use anyhow::Context;
use xshell::cmd;

use crate::{
    project::{self, run as step},
    web,
};

use crate::web::WASM_TARGET as WASM;

/// macOS is a supported developer platform, so everything that can be type-checked for it
/// without an Apple SDK is, on every run: a Linux-only call cannot come back unnoticed.
/// (The database and TLS crates compile C for the target, ring, which needs Xcode's clang.)
const MACOS: &str = "aarch64-apple-darwin";
const MACOS_PACKAGES: &[&str] = &[
    "xtask",
    "bench",
    "container-engine",
    "sbom",
    "static-build",
    "kube-state",
    "schema-compat",
    "releases",
    "smoke",
    "processes",
    "local-pg",
    "test-support",
    "domain",
    "settings",
    "telemetry",
    "web-server",
    "web-bundle",
];

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo fmt --check`, clippy and the macOS type-check; run only the tests.
    #[arg(long)]
    pub no_lint: bool,
    /// Passed to `cargo test` (a test name filter, `--nocapture`…), after `--`.
    #[arg(last = true)]
    pub test_args: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    static_build::ensure_target(WASM)?;
    let sh = project::shell()?;
    let cargo = project::cargo_program();
    let live_reload = project::LIVE_RELOAD;
    if !args.no_lint {
        step("formatting", cmd!(sh, "{cargo} fmt --all --check"))?;
        step(
            "clippy for the SPA (wasm)",
            cmd!(
                sh,
                "{cargo} clippy --package web --target {WASM} --locked -- -D warnings"
            ),
        )?;
        // The SPA is linted above for the target it runs on.
        step(
            "clippy",
            cmd!(
                sh,
                "{cargo} clippy --workspace --all-targets --exclude web --features {live_reload} --locked -- -D warnings"
            ),
        )?;
        step(
            "clippy for the static server as released",
            cmd!(
                sh,
                "{cargo} clippy --package web-server --all-targets --locked -- -D warnings"
            ),
        )?;
        static_build::ensure_target(MACOS)?;
        let packages = MACOS_PACKAGES.iter().flat_map(|p| ["--package", p]);
        step(
            "type-checking for macOS",
            cmd!(
                sh,
                "{cargo} check --target {MACOS} --all-targets --locked {packages...}"
            ),
        )?;
    }
    // Every migration declares whether the release before it runs on its schema, truthfully.
    step(
        "migration compatibility (migrator check)",
        cmd!(
            sh,
            "{cargo} run --quiet --locked --package migrator -- check"
        ),
    )?;
    // The SPA as shipped (which also proves `domain` still compiles to wasm), for the
    // browser test.
    let bundle = project::target_dir().join("web").join("dist");
    let assets = web::build(&bundle, web::Flavor::Shipped)?;
    web::print_report(&bundle, &assets);
    // Release builds and images leave live reload out: that they ignore WEB_DEV_RELOAD is
    // tested without the feature, everything else with it (as `cargo xtask dev` builds).
    step(
        "the static server as released",
        cmd!(
            sh,
            "{cargo} test --package web-server --test web --locked -- live_reload"
        ),
    )?;
    let mut test = cmd!(
        sh,
        "{cargo} test --workspace --exclude web --features {live_reload} --locked"
    )
    .env("E2E_WEB_DIST", &bundle)
    // The deploy tests (crates/deploy-tests) run this very binary, as a user runs xtask.
    .env(
        "XTASK_BIN",
        std::env::current_exe().context("finding the xtask executable")?,
    );
    if !args.test_args.is_empty() {
        test = test.arg("--").args(&args.test_args);
    }
    step("tests", test)?;
    eprintln!("xtask: all checks passed");
    Ok(())
}

//! `cargo xtask web`: the SPA bundle (crates/web-bundle), with the wasm target added when
//! it is missing.

use std::path::{Path, PathBuf};

pub use web_bundle::{Asset, Flavor, WASM_TARGET};

use crate::project;

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the bundle (emptied first).
    #[arg(long, default_value = "target/web/dist")]
    pub out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // An absolute --out replaces the root in the join.
    let out = project::root().join(args.out);
    let assets = build(&out, Flavor::Shipped)?;
    print_report(&out, &assets);
    Ok(())
}

/// Builds the bundle into `out` and returns what it holds.
pub fn build(out: &Path, flavor: Flavor) -> anyhow::Result<Vec<Asset>> {
    static_build::ensure_target(WASM_TARGET)?;
    let workspace = web_bundle::Workspace {
        root: project::root(),
        target_dir: project::target_dir(),
        cargo: project::cargo_program(),
    };
    Ok(workspace.build(out, flavor)?)
}

pub fn print_report(out: &Path, assets: &[Asset]) {
    print!("{}", web_bundle::report(out, assets));
}

//! `cargo xtask bench`: runs the `bench` crate (crates/bench), which builds what it measures
//! through the project's own commands. Its arguments are passed on untouched.

use std::os::unix::process::CommandExt;

use anyhow::Context;

use crate::project;

#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// The bench's own arguments (`--quick`, `--only api,static,images`, `--help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Becomes `cargo run -p bench -- ARGS` (exec, not spawn): Ctrl-C and the exit status are
/// then the bench's own, with no xtask in between to die first or to translate them.
pub fn run(args: Args) -> anyhow::Result<()> {
    let err = project::cargo(&["run", "--locked", "--quiet", "--package", "bench", "--"])
        .args(&args.args)
        .exec();
    Err(err).context("running cargo run --package bench")
}

//! `cargo xtask <command>`: the project's automation, in Rust so it runs wherever cargo does.

mod bench;
mod deploy;
mod dev;
mod git;
mod images;
mod project;
mod test;
mod web;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Our servers measured against the tools they replace (web-server vs nginx), in target/bench/.
    Bench(bench::Args),
    /// Ship this commit to Kubernetes: build, deliver, migrate, then roll out (deploy/).
    Deploy(deploy::Args),
    /// The whole stack on this machine, rebuilt on change: PostgreSQL, migrator, API, SPA.
    Dev(dev::Args),
    /// Build the api, migrator and web container images (tagged with the commit); --push them.
    Images(images::Request),
    /// An environment's release history, newest first, the live release marked.
    Releases(deploy::rollback::ReleasesArgs),
    /// Put an earlier release's images back (default: the one before the live one), when
    /// its code can run on the live schema.
    Rollback(deploy::rollback::RollbackArgs),
    /// Reach an environment's page and API on localhost (kubectl port-forward, both at once).
    PortForward(deploy::port_forward::Args),
    /// An environment's Kubernetes manifests, images pinned to this commit, to stdout.
    Render(deploy::render::Args),
    /// Everything the project checks: formatting, clippy with warnings denied, all tests.
    Test(test::Args),
    /// Build the SPA bundle: wasm, wasm-bindgen, wasm-opt, hashed names, .br/.gz.
    Web(web::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Deploy(args) => deploy::run(args),
        Command::Dev(args) => dev::run(args),
        Command::Images(args) => images::run(args),
        Command::PortForward(args) => deploy::port_forward::run(args),
        Command::Releases(args) => deploy::rollback::releases(args),
        Command::Render(args) => deploy::render::run(args),
        Command::Rollback(args) => deploy::rollback::rollback(args),
        Command::Test(args) => test::run(args),
        Command::Web(args) => web::run(args),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

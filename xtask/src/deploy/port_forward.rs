//! `cargo xtask port-forward <env>`: the seed's two port-forwards (the page and the API) in
//! one command, stopped together with Ctrl-C.

use std::{
    process::Stdio,
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::Duration,
};

use anyhow::{Context, bail};
use processes::{Process, Signal, Stop};

use super::{
    env::Environment,
    kubectl::{self, Kubectl},
    manifest::{self, Document},
    preflight, render,
};
use crate::project;

/// kubectl closes its tunnels on SIGTERM at once.
const STOP: Stop = Stop::leader(Signal::SIGTERM, Duration::from_secs(5));

#[derive(clap::Args)]
pub struct Args {
    /// The environment (an overlay of deploy/overlays/).
    #[arg(value_enum)]
    pub env: Environment,
    /// kubectl context (default: the current one).
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub context: Option<String>,
    /// Local port for the page (default: the web Service's port, which dev's CORS allows).
    #[arg(long)]
    pub web_port: Option<u16>,
    /// Local port for the API (default: the api Service's port, dev's API_BASE_URL).
    #[arg(long)]
    pub api_port: Option<u16>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    preflight::require_kubectl()?;
    let docs = render::overlay_docs(args.env)?;
    let namespace = render::namespace(&docs, args.env)?;
    let context = args.context.map_or_else(kubectl::current_context, Ok)?;
    let kubectl = Kubectl::new(&context)?;
    let web = service_port(&docs, "web")?;
    let api = service_port(&docs, "api")?;
    let web_local = args.web_port.unwrap_or(web);
    let api_local = args.api_port.unwrap_or(api);
    warn_if_the_page_looks_elsewhere(&docs, api_local, web_local);

    let stop = project::stop_flag()?;
    let mut children = Vec::new();
    for (svc, local, remote) in [("web", web_local, web), ("api", api_local, api)] {
        let mapping = format!("{local}:{remote}");
        let target = format!("svc/{svc}");
        let mut cmd = kubectl.command(&["-n", namespace, "port-forward", &target, &mapping]);
        cmd.stdin(Stdio::null());
        let child = Process::spawn(&mut cmd, STOP)
            .with_context(|| format!("starting kubectl port-forward {target}"))?;
        children.push((svc, child));
    }
    eprintln!(
        "xtask: page http://localhost:{web_local}, API http://localhost:{api_local} (namespace {namespace}, context {context}); Ctrl-C stops both"
    );
    // Dropping the children stops them.
    wait(&stop, &mut children)
}

/// Until Ctrl-C (Ok) or a port-forward ends by itself (Err naming it).
fn wait(stop: &AtomicBool, children: &mut [(&str, Process)]) -> anyhow::Result<()> {
    while !stop.load(Ordering::Relaxed) {
        for (svc, child) in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                bail!("the port-forward of svc/{svc} ended ({status}); its message is above");
            }
        }
        thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

pub(super) fn service_port(docs: &[Document], name: &str) -> anyhow::Result<u16> {
    docs.iter()
        .find(|d| d.kind == "Service" && d.name == name)
        .and_then(Document::port)
        .with_context(|| format!("the overlay has no Service {name} with a port"))
}

/// The page calls API_BASE_URL and the API allows CORS_ALLOWED_ORIGINS: other local ports
/// give a page that cannot reach its API (the seed's CORS demonstration).
fn warn_if_the_page_looks_elsewhere(docs: &[Document], api_local: u16, web_local: u16) {
    let config = |base, key| manifest::config_value(docs, base, key);
    if let Some(base) = config("web-config", "API_BASE_URL")
        && base.trim_end_matches('/') != format!("http://localhost:{api_local}")
    {
        eprintln!(
            "xtask: note: the page calls the API at {base} (API_BASE_URL), not at this port-forward"
        );
    }
    if let Some(origins) = config("api-config", "CORS_ALLOWED_ORIGINS") {
        let page = format!("http://localhost:{web_local}");
        if !origins.split(',').any(|o| o.trim() == page) {
            eprintln!(
                "xtask: note: the API allows pages from {origins} (CORS_ALLOWED_ORIGINS), not {page}"
            );
        }
    }
}

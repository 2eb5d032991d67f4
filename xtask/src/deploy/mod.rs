//! `cargo xtask deploy <env>`: ships the current commit to a Kubernetes cluster safely.
//!
//! preflight (kubectl, which context, may we, does the cluster serve what we need) → build
//! the images tagged with the commit → load them into a local cluster or push them → render
//! the overlay with the images pinned (`render`) → follow the [`plan::Plan`]: apply all but
//! the Deployments, wait for the database, run this version's migration Job, apply the
//! Deployments, wait for their rollouts → say how to reach the app. `--dry-run` prints the
//! manifests and the plan and touches no cluster. Also `render` and `port-forward`.

mod autoscaling;
mod context;
mod database;
mod deliver;
mod dev_secret;
mod env;
mod failure;
mod history;
mod kubectl;
use kube_state::manifest;
mod plan;
mod pods;
pub mod port_forward;
mod preflight;
pub mod render;
pub mod rollback;
mod rollout;
mod verify;

use std::time::Duration;

use anyhow::bail;

use self::{
    context::Cluster,
    env::Environment,
    kubectl::Kubectl,
    plan::Plan,
    render::{Release, registry_for},
};
use crate::images;

#[derive(clap::Args)]
pub struct Args {
    /// The environment (an overlay of deploy/overlays/).
    #[arg(value_enum)]
    pub env: Environment,
    /// Print the manifests (stdout) and the plan (stderr); build nothing, touch no cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// kubectl context to deploy to (default: the current one; prod requires it).
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub context: Option<String>,
    /// Image name prefix the cluster pulls from: REGISTRY/api, REGISTRY/migrator,
    /// REGISTRY/web (needed unless the cluster is a local one that images are loaded into).
    #[arg(long)]
    pub registry: Option<String>,
    #[command(flatten)]
    pub version: render::VersionArgs,
    /// Container engine that builds the images (default: podman, then docker; docker for
    /// docker-desktop, orbstack and rancher-desktop, whose clusters run docker's images).
    #[arg(long, value_enum)]
    pub engine: Option<images::Engine>,
    /// Compile inside the image builds instead of on the host (see `cargo xtask images`).
    #[arg(long)]
    pub in_container: bool,
    /// The nodes' platforms, for a registry (default: the engine's; see `cargo xtask images`).
    #[arg(long, value_delimiter = ',', value_name = "PLATFORMS")]
    pub platform: Vec<images::Platform>,
    /// Deploy images already in the registry (or cluster) under --tag: a rollback, or CI
    /// that built them in an earlier step.
    #[arg(long)]
    pub no_build: bool,
    /// Confirm a deploy that needs it: prod (with --context), or dev on a cluster that is not
    /// a local one.
    #[arg(long)]
    pub yes: bool,
    /// Longest wait for the database and for each rollout, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    preflight::require_kubectl()?;
    if args.dry_run {
        return dry_run(&args);
    }
    let explicit = args.context.is_some();
    let context = match &args.context {
        Some(context) => context.clone(),
        // Prod is refused without --context whatever the kubeconfig says.
        None if args.env == Environment::Prod => {
            kubectl::current_context().unwrap_or_else(|_| "none".into())
        }
        None => kubectl::current_context()?,
    };
    context::check_allowed(args.env, &context, explicit, args.yes)?;
    let cluster = Cluster::of(&context);
    let registry = registry(&args, Some(&cluster))?;
    // What would ship, checked against the cluster before anything is built.
    let release = args.version.release(&registry)?;
    let engine = deliver::engine_for(&cluster, args.engine)?;
    if !args.no_build {
        preflight::require_loader(&cluster)?;
    }
    let kubectl = Kubectl::new(&context)?;
    let rendered = render::render(args.env, &release)?;
    preflight::check_cluster(&kubectl, &rendered.docs)?;
    let plan_of = |rendered: &render::Rendered, release: &Release| {
        plan_for(
            &args,
            rendered,
            release,
            Some(&context),
            Some(&cluster),
            &registry,
        )
    };
    let plan = plan_of(&rendered, &release)?;
    eprint!("{}", plan.describe());

    let (release, rendered) = if args.no_build {
        eprintln!("xtask: [1/8] images: not built (--no-build)");
        (release, rendered)
    } else {
        eprintln!("xtask: [1/8] images: {}", plan.delivery);
        let outcome = deliver::build_and_deliver(
            &cluster,
            engine,
            (args.in_container, &args.platform),
            &registry,
            &release.tag,
        )?;
        // Pinned by digest where the push reported one; pulled as asked.
        let mut built =
            Release::from_built(&outcome)?.pulling_with(release.pull_secret.as_deref())?;
        built.components = release.components.clone();
        let rendered = render::render(args.env, &built)?;
        (built, rendered)
    };
    let plan = plan_of(&rendered, &release)?;
    plan.write_phases()?;
    // What runs before this deploy: the release its record follows.
    let ns = plan.namespace.as_str();
    let history = history::read(&kubectl, ns)?;
    let live = history.live(&history::live_images(&kubectl, ns)?);
    rollout::prepare(&plan, &kubectl)?;
    let record = history::this_deploy(&release, &history, live);
    if let Err(e) = rollout::roll_out_all(&plan, &kubectl) {
        // What served before this deploy is put back (`live`: None when nothing matched).
        let live = live.and_then(|i| history.records.get(i));
        return Err(failure::recover(
            &kubectl, &plan, e, live, &record, &history,
        ));
    }
    eprintln!("xtask: [7/8] recording the release");
    history::append(&kubectl, ns, history.clone(), record, &plan.dir)?;
    eprintln!(
        "xtask: [8/8] deployed {} to {}: {}",
        release.tag,
        context,
        plan.access
            .instructions(&context, &plan.namespace, args.env.name())
    );
    Ok(())
}

/// The manifests to stdout and the plan to stderr, from the kubeconfig at most (to name the
/// current context); no cluster is contacted and nothing is built.
fn dry_run(args: &Args) -> anyhow::Result<()> {
    let explicit = args.context.is_some();
    let context = args
        .context
        .clone()
        .or_else(|| kubectl::current_context().ok());
    let cluster = context.as_deref().map(Cluster::of);
    let registry = registry(args, cluster.as_ref())?;
    let release = args.version.release(&registry)?;
    let rendered = render::render(args.env, &release)?;
    let refusal = context
        .as_deref()
        .and_then(|context| context::check_allowed(args.env, context, explicit, args.yes).err());
    let plan = plan_for(
        args,
        &rendered,
        &release,
        context.as_deref(),
        cluster.as_ref(),
        &registry,
    )?;
    plan.write_phases()?;
    print!("{}", rendered.text);
    eprint!("{}", plan.describe());
    if let Some(refusal) = refusal {
        eprintln!("  note: without --dry-run this would stop here: {refusal}");
    }
    eprintln!("xtask: dry run: nothing was built, no cluster was contacted");
    Ok(())
}

fn plan_for(
    args: &Args,
    rendered: &render::Rendered,
    release: &Release,
    context: Option<&str>,
    cluster: Option<&Cluster>,
    registry: &str,
) -> anyhow::Result<Plan> {
    let target = match (context, cluster) {
        (Some(context), Some(Cluster::Remote(_))) => format!("context {context}"),
        (Some(context), Some(local)) => format!("context {context} ({})", local.describe()),
        _ => "the current kubectl context (none is set: pass --context)".to_owned(),
    };
    Plan::new(
        rendered,
        release,
        target,
        deliver::describe(cluster, !args.no_build, registry),
        Duration::from_secs(args.timeout),
    )
}

/// `--registry`; without it, the environment's default unless the cluster pulls images
/// from a registry (it is not a local one).
fn registry(args: &Args, cluster: Option<&Cluster>) -> anyhow::Result<String> {
    if args.registry.is_none()
        && let Some(Cluster::Remote(context)) = cluster
    {
        bail!(
            "--registry: required to deploy to context {context:?}, which pulls the images from a registry (e.g. ghcr.io/OWNER/randoms)"
        );
    }
    registry_for(args.env, args.registry.as_deref(), "deploy")
}

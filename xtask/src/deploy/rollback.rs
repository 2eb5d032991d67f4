//! `cargo xtask releases <env>` lists the release history; `cargo xtask rollback <env>`
//! puts an earlier release's images back, when its code can run on the live schema.

use anyhow::Context;

use super::{
    context,
    env::Environment,
    history,
    kubectl::{self, Kubectl},
    manifest::{self, Document},
    preflight, render, rollout, verify,
};
use releases::Record;

use crate::git;

#[derive(clap::Args)]
pub struct ReleasesArgs {
    /// The environment (an overlay of deploy/overlays/).
    #[arg(value_enum)]
    pub env: Environment,
    /// kubectl context (default: the current one).
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub context: Option<String>,
}

#[derive(clap::Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: ReleasesArgs,
    /// The release to go back to (default: the one before the live one).
    #[arg(long, value_name = "TAG")]
    pub to: Option<String>,
    /// Confirm a rollback that needs it: prod (with --context), or dev on a cluster that is
    /// not a local one.
    #[arg(long)]
    pub yes: bool,
    /// Longest wait for each rollout, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// The namespace of `env`, a kubectl for the context asked for, whether it was asked for,
/// and the overlay's objects (unpinned).
fn connect(args: &ReleasesArgs) -> anyhow::Result<(String, Kubectl, bool, Vec<Document>)> {
    preflight::require_kubectl()?;
    let docs = render::overlay_docs(args.env)?;
    let namespace = render::namespace(&docs, args.env)?.to_owned();
    let context = args
        .context
        .clone()
        .map_or_else(kubectl::current_context, Ok)?;
    let explicit = args.context.is_some();
    Ok((namespace, Kubectl::new(&context)?, explicit, docs))
}

pub fn releases(args: ReleasesArgs) -> anyhow::Result<()> {
    let (ns, kubectl, _, _) = connect(&args)?;
    let history = history::read(&kubectl, &ns)?;
    let live = history.live(&history::live_images(&kubectl, &ns)?);
    print!("{}", history.table(live));
    if live.is_none() {
        eprintln!("xtask: note: no recorded release in {ns} is what the Deployments run");
    }
    Ok(())
}

pub fn rollback(args: RollbackArgs) -> anyhow::Result<()> {
    let (ns, kubectl, explicit, docs) = connect(&args.target)?;
    context::check_allowed(args.target.env, &kubectl.context, explicit, args.yes)?;
    let history = history::read(&kubectl, &ns)?;
    let live_images = history::live_images(&kubectl, &ns)?;
    let (live_record, target) = history
        .rollback_target(&live_images, args.to.as_deref())
        .with_context(|| format!("rolling back in {ns}"))?;
    releases::check_rollback(target, live_record)
        .map_err(|refusal| anyhow::anyhow!("refusing to roll back in {ns}: {refusal}"))?;
    eprintln!(
        "xtask: rolling back {ns} from {} to {} (built for schema {}, live schema {}: no breaking migration between); its migrator is not run",
        live_record.tag, target.tag, target.requires_schema, live_record.schema
    );
    let timeout = format!("--timeout={}s", args.timeout);
    point_at(&kubectl, &ns, target, &timeout, &docs)?;
    let (_, deployed_by) = git::subject_and_author();
    let record = releases::Record {
        schema: live_record.schema,
        breaking: live_record.breaking.clone(),
        deployed_at: history::now(),
        deployed_by,
        how: format!("rollback from {}", live_record.tag),
        ..target.clone()
    };
    let dir = crate::project::target_dir()
        .join("deploy")
        .join(args.target.env.name());
    crate::project::create_dir(&dir)?;
    history::append(&kubectl, &ns, history.clone(), record, &dir)?;
    eprintln!("xtask: rolled back to {}", target.tag);
    Ok(())
}

/// Points the api and web Deployments at `release`'s images, waits for both rollouts and
/// verifies the release (`docs`: the overlay's Services and web-config).
pub fn point_at(
    kubectl: &Kubectl,
    ns: &str,
    release: &Record,
    timeout: &str,
    docs: &[Document],
) -> anyhow::Result<()> {
    let mut api = None;
    for name in history::DEPLOYMENTS {
        let image = release
            .images
            .get(name)
            .with_context(|| format!("release {} records no {name} image", release.tag))?;
        let resource = format!("deployment/{name}");
        kubectl.run_in(ns, &["set", "image", &resource, &format!("{name}={image}")])?;
        let json = kubectl.output_in(ns, &["get", "deployment", name, "--output=json"])?;
        let deployment = manifest::parse_all(&json)?
            .into_iter()
            .next()
            .with_context(|| format!("{resource} is gone"))?;
        rollout::roll_out(kubectl, ns, &deployment, timeout)?;
        if name == "api" {
            api = Some(deployment);
        }
    }
    verify::verify(kubectl, ns, &api.context("no api Deployment")?, docs)
}

//! `cargo xtask render <env>`: an overlay's manifests with our images pinned to one version
//! and the migration Job named after it, by kustomize itself: a generated overlay in
//! `target/deploy/<env>/` wraps the tracked one (never edited) with an `images:` transformer
//! and a rename of the Job. The result is kept there too, as `manifests.yaml`.

mod overlay;
mod release;
#[cfg(test)]
#[path = "../../../unit-tests/deploy/render.rs"]
mod tests;

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};

use self::overlay::{check_pinned, generated_overlay, relative};
pub use self::{overlay::kustomize, release::Release};
use super::{
    dev_secret,
    env::Environment,
    manifest::{self, Document},
};
use crate::{images, project};

/// The registry the base manifests name (`registry.example/randoms/api:unpinned`…).
pub const PLACEHOLDER_REGISTRY: &str = "registry.example/randoms";
/// The migration Job's name in the base; the render suffixes it with the version.
pub const BASE_JOB_NAME: &str = "migrate";

#[derive(clap::Args)]
pub struct Args {
    /// The environment (an overlay of deploy/overlays/).
    #[arg(value_enum)]
    pub env: Environment,
    /// Image name prefix: images are REGISTRY/api, REGISTRY/migrator, REGISTRY/web
    /// (default for dev: localhost/randoms).
    #[arg(long)]
    pub registry: Option<String>,
    #[command(flatten)]
    pub version: VersionArgs,
}

/// Which version ships, and how the cluster pulls it: shared by render and deploy.
#[derive(clap::Args)]
pub struct VersionArgs {
    /// Image tag (default: the commit's 12 hex digits, `-dirty-HASH` when the work tree
    /// has changes).
    #[arg(long)]
    pub tag: Option<String>,
    /// A docker-registry Secret in the namespace that the api, migrator and web
    /// ServiceAccounts pull the images with (a private registry; see docs/deploy.md).
    #[arg(long, value_name = "NAME")]
    pub pull_secret: Option<String>,
    /// Optional components to render in (deploy/components/): `monitoring` (ServiceMonitor,
    /// PrometheusRules, Grafana dashboard; needs prometheus-operator's CRDs).
    #[arg(long = "with", value_enum, value_name = "COMPONENT")]
    pub with: Vec<release::Addon>,
}

impl VersionArgs {
    /// The release these flags name, its images under `registry`.
    pub fn release(&self, registry: &str) -> anyhow::Result<Release> {
        let tag = tag_or_default(self.tag.clone())?;
        let mut release =
            Release::new(registry, &tag)?.pulling_with(self.pull_secret.as_deref())?;
        release.components = self.with.clone();
        Ok(release)
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let registry = registry_for(args.env, args.registry.as_deref(), "render")?;
    let release = args.version.release(&registry)?;
    let rendered = render(args.env, &release)?;
    print!("{}", rendered.text);
    Ok(())
}

/// `--registry`, or the environment's default; a missing one is an error naming the flag.
pub fn registry_for(
    env: Environment,
    given: Option<&str>,
    command: &str,
) -> anyhow::Result<String> {
    let Some(registry) = given.or(env.default_registry()) else {
        bail!(
            "--registry: required for `{command} {env}` (where the cluster pulls the images from, e.g. ghcr.io/OWNER/randoms)"
        );
    };
    let registry = registry.trim_end_matches('/');
    let valid = !registry.is_empty()
        && registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c))
        && registry == registry.to_ascii_lowercase();
    if !valid {
        bail!(
            "--registry: {registry:?} is not an image name prefix like ghcr.io/owner/randoms (lower case)"
        );
    }
    Ok(registry.to_owned())
}

/// `--tag`, or the images' default (the short commit).
fn tag_or_default(tag: Option<String>) -> anyhow::Result<String> {
    tag.map_or_else(
        || images::default_tag().context("choosing the image tag (or pass --tag)"),
        Ok,
    )
}

/// An overlay rendered for one release.
#[derive(Debug)]
pub struct Rendered {
    pub env: Environment,
    /// The generated overlay, and `manifests.yaml` beside it.
    pub dir: PathBuf,
    pub text: String,
    pub docs: Vec<Document>,
}

/// The overlay of `env` as plain kustomize renders it (images unpinned).
pub fn overlay_docs(env: Environment) -> anyhow::Result<Vec<Document>> {
    let overlay = env.overlay_dir();
    if env == Environment::Dev {
        super::dev_secret::ensure(&overlay)?;
    }
    Ok(manifest::parse_all(&kustomize(&overlay)?)?)
}

/// The name of the Namespace the `env` overlay declares.
pub fn namespace(docs: &[Document], env: Environment) -> anyhow::Result<&str> {
    docs.iter()
        .find(|d| d.kind == "Namespace")
        .map(|d| d.name.as_str())
        .with_context(|| format!("the {env} overlay declares no Namespace"))
}

/// The `namespace:` of the overlay in `dir`, which the optional components' objects get.
fn overlay_namespace(dir: &Path) -> anyhow::Result<String> {
    let file = dir.join("kustomization.yaml");
    let text = fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("{} is not YAML", file.display()))?;
    let namespace = yaml["namespace"].as_str();
    Ok(namespace
        .with_context(|| format!("{} sets no namespace", file.display()))?
        .to_owned())
}

/// Renders `env` with `release` pinned; creates the dev secret file on first use.
pub fn render(env: Environment, release: &Release) -> anyhow::Result<Rendered> {
    let overlay = env.overlay_dir();
    if env == Environment::Dev
        && let Some(created) = dev_secret::ensure(&overlay)?
    {
        eprintln!(
            "xtask: created {} with a random database password (git-ignored; keep it: the database is initialised with it)",
            created.display()
        );
    }
    let dir = project::target_dir().join("deploy").join(env.name());
    project::create_dir(&dir)?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let overlay = overlay
        .canonicalize()
        .with_context(|| format!("the {env} overlay {} is missing", overlay.display()))?;
    // Generated in a directory of this process's own, so concurrent renders cannot read
    // each other's half-written overlay; the results replace the previous ones atomically.
    let work = dir.join(format!(".kustomize-{}", std::process::id()));
    project::create_dir(&work)?;
    let namespace = overlay_namespace(&overlay)?;
    let kustomization = generated_overlay(&relative(&work, &overlay), &namespace, release)?;
    write(&work.join("kustomization.yaml"), &kustomization)?;
    let text = kustomize(&work);
    let _ = fs::remove_dir_all(&work);
    let text = text?;
    let kept = generated_overlay(&relative(&dir, &overlay), &namespace, release)?;
    write(&dir.join("kustomization.yaml"), &kept)?;
    write(&dir.join("manifests.yaml"), &text)?;
    let docs = manifest::parse_all(&text)
        .with_context(|| format!("reading the rendered {env} manifests"))?;
    check_pinned(&docs, release)?;
    Ok(Rendered {
        env,
        dir,
        text,
        docs,
    })
}

/// Writes aside, then renames into place: a reader sees the old file or the new one.
pub fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    let aside = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&aside, text)
        .and_then(|()| fs::rename(&aside, path))
        .with_context(|| format!("writing {}", path.display()))
}

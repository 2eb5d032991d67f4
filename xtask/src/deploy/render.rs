//! `cargo xtask render <env>`: an overlay's manifests with our images pinned to one version
//! and the migration Job named after it, by kustomize itself: a generated overlay in
//! `target/deploy/<env>/` wraps the tracked one (never edited) with an `images:` transformer
//! and a rename of the Job. The result is kept there too, as `manifests.yaml`.

use std::{
    fs,
    path::{Component, Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use serde_json::json;

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
    /// Image tag (default: the short commit, `-dirty` when the work tree has changes).
    #[arg(long)]
    pub tag: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let registry = registry_for(args.env, args.registry.as_deref(), "render")?;
    let tag = tag_or_default(args.tag)?;
    let release = Release::new(&registry, &tag)?;
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
    match given.or(env.default_registry()) {
        Some(registry) => {
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
        None => bail!(
            "--registry: required for `{command} {env}` (where the cluster pulls the images from, e.g. ghcr.io/OWNER/randoms)"
        ),
    }
}

/// `--tag`, or the images' default (the short commit).
pub fn tag_or_default(tag: Option<String>) -> anyhow::Result<String> {
    match tag {
        Some(tag) => Ok(tag),
        None => images::default_tag().context("choosing the image tag (or pass --tag)"),
    }
}

/// One of our images, as the manifests will name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub component: &'static str,
    /// `REGISTRY/component`.
    pub name: String,
    pub tag: String,
    /// `sha256:…`, when the image was pushed.
    pub digest: Option<String>,
}

impl Pin {
    /// What the pods run: `name:tag`, plus `@digest` when known.
    pub fn reference(&self) -> String {
        match &self.digest {
            Some(digest) => format!("{}:{}@{digest}", self.name, self.tag),
            None => format!("{}:{}", self.name, self.tag),
        }
    }
}

/// The version being rendered: its tag and the three images.
#[derive(Clone, Debug)]
pub struct Release {
    pub tag: String,
    pub pins: Vec<Pin>,
}

impl Release {
    pub fn new(registry: &str, tag: &str) -> anyhow::Result<Self> {
        check_tag(tag)?;
        let pins = images::COMPONENTS
            .iter()
            .map(|&component| Pin {
                component,
                name: format!("{registry}/{component}"),
                tag: tag.to_owned(),
                digest: None,
            })
            .collect();
        Ok(Self {
            tag: tag.to_owned(),
            pins,
        })
    }

    /// The images as built (and pushed): their digests pin them when known.
    pub fn from_built(outcome: &images::Outcome) -> anyhow::Result<Self> {
        check_tag(&outcome.tag)?;
        let mut pins = Vec::new();
        for component in images::COMPONENTS {
            let built = outcome
                .images
                .iter()
                .find(|b| b.component == component)
                .with_context(|| format!("the image build produced no {component} image"))?;
            let suffix = format!(":{}", outcome.tag);
            let Some(name) = built.reference.strip_suffix(&suffix) else {
                bail!(
                    "built image {} does not carry the tag {}",
                    built.reference,
                    outcome.tag
                );
            };
            pins.push(Pin {
                component,
                name: name.to_owned(),
                tag: outcome.tag.clone(),
                digest: built.digest.clone(),
            });
        }
        Ok(Self {
            tag: outcome.tag.clone(),
            pins,
        })
    }

    /// `migrate-<tag>`, as a valid object name: each version gets its own Job.
    pub fn job_name(&self) -> String {
        job_name(&self.tag)
    }
}

/// Docker's rule for tags: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(tag: &str) -> anyhow::Result<()> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !(first_ok && rest_ok && tag.len() <= 128) {
        bail!("--tag: {tag:?} is not an image tag (letters, digits, `_`, `.`, `-`; at most 128)");
    }
    Ok(())
}

/// `migrate-<tag>` squeezed into a DNS label: lower case, `-` for anything else, at most 63.
pub fn job_name(tag: &str) -> String {
    let mut name = format!("{BASE_JOB_NAME}-");
    for c in tag.chars() {
        name.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        });
    }
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
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

impl Rendered {
    pub fn namespace(&self) -> anyhow::Result<&str> {
        self.docs
            .iter()
            .find(|d| d.kind == "Namespace")
            .map(|d| d.name.as_str())
            .with_context(|| format!("the {} overlay declares no Namespace", self.env))
    }
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
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let overlay = overlay
        .canonicalize()
        .with_context(|| format!("the {env} overlay {} is missing", overlay.display()))?;
    // Generated in a directory of this process's own, so concurrent renders cannot read
    // each other's half-written overlay; the results replace the previous ones atomically.
    let work = dir.join(format!(".kustomize-{}", std::process::id()));
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let kustomization = generated_overlay(&relative(&work, &overlay), release)?;
    write(&work.join("kustomization.yaml"), &kustomization)?;
    let text = kustomize(&work);
    let _ = fs::remove_dir_all(&work);
    let text = text?;
    let kept = generated_overlay(&relative(&dir, &overlay), release)?;
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

/// The wrapping overlay: the tracked one as its only resource, images pinned, Job renamed.
fn generated_overlay(overlay: &Path, release: &Release) -> anyhow::Result<String> {
    let images: Vec<_> = release
        .pins
        .iter()
        .map(|pin| {
            let mut image = json!({
                "name": format!("{PLACEHOLDER_REGISTRY}/{}", pin.component),
                "newName": pin.name,
                "newTag": pin.tag,
            });
            if let Some(digest) = &pin.digest {
                image["digest"] = json!(digest);
            }
            image
        })
        .collect();
    let rename = serde_yaml_ng::to_string(&json!([
        { "op": "replace", "path": "/metadata/name", "value": release.job_name() }
    ]))?;
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [overlay.to_string_lossy()],
        "images": images,
        "patches": [{
            "target": { "group": "batch", "version": "v1", "kind": "Job", "name": BASE_JOB_NAME },
            "patch": rename,
            "options": { "allowNameChange": true },
        }],
    });
    Ok(format!(
        "# Generated by `cargo xtask render|deploy`: the tracked overlay, pinned to {}.\n{}",
        release.tag,
        serde_yaml_ng::to_string(&kustomization)?
    ))
}

/// `kubectl kustomize DIR`.
pub fn kustomize(dir: &Path) -> anyhow::Result<String> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => anyhow::anyhow!(
                "kubectl not found on PATH: install it (https://kubernetes.io/docs/tasks/tools/); its built-in kustomize renders the overlays"
            ),
            _ => anyhow::Error::new(e).context("running kubectl kustomize"),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "kubectl kustomize {} failed: {}",
            dir.display(),
            stderr.trim()
        );
    }
    String::from_utf8(output.stdout).context("kubectl kustomize printed something not UTF-8")
}

/// Every one of our images got the release's pin (a new container with another placeholder
/// name would otherwise ship unpinned).
fn check_pinned(docs: &[Document], release: &Release) -> anyhow::Result<()> {
    let text = manifest::to_yaml_stream(docs)?;
    if text.contains(PLACEHOLDER_REGISTRY) {
        bail!("the rendered manifests still name {PLACEHOLDER_REGISTRY}: an image is not pinned");
    }
    for pin in &release.pins {
        if !text.contains(&pin.reference()) {
            bail!("the rendered manifests never run {}", pin.reference());
        }
    }
    Ok(())
}

/// `to` relative to `from` (kustomize refuses absolute resource paths).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    out
}

/// Writes aside, then renames into place: a reader sees the old file or the new one.
pub fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    let aside = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&aside, text)
        .and_then(|()| fs::rename(&aside, path))
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_dns_labels_carrying_the_tag() {
        assert_eq!(job_name("1a2b3c4"), "migrate-1a2b3c4");
        assert_eq!(job_name("1a2b3c4-dirty"), "migrate-1a2b3c4-dirty");
        assert_eq!(job_name("V1.2_rc"), "migrate-v1-2-rc");
        let long = job_name(&"x".repeat(100));
        assert_eq!(long.len(), 63);
        assert_eq!(job_name(&format!("{}.y", "x".repeat(54))).len(), 62);
    }

    #[test]
    fn tags_and_registries_are_checked() {
        assert!(check_tag("abc1234-dirty").is_ok());
        assert!(check_tag("-x").is_err());
        assert!(check_tag("a/b").is_err());
        assert!(check_tag("").is_err());
        assert!(registry_for(Environment::Prod, None, "render").is_err());
        assert_eq!(
            registry_for(Environment::Dev, None, "render").unwrap(),
            "localhost/randoms"
        );
        assert_eq!(
            registry_for(Environment::Prod, Some("ghcr.io/acme/randoms/"), "render").unwrap(),
            "ghcr.io/acme/randoms"
        );
        assert!(registry_for(Environment::Prod, Some("ghcr.io/Acme/x"), "render").is_err());
    }

    #[test]
    fn built_images_keep_their_digests() {
        let outcome = images::Outcome {
            engine: images::Engine::Docker,
            tag: "abc".into(),
            images: images::COMPONENTS
                .iter()
                .map(|&component| images::Built {
                    component,
                    reference: format!("r.io/x/{component}:abc"),
                    digest: Some(format!("sha256:{component}")),
                    pushed_bytes: None,
                })
                .collect(),
        };
        let release = Release::from_built(&outcome).unwrap();
        assert_eq!(release.pins[0].reference(), "r.io/x/api:abc@sha256:api");
        assert_eq!(release.job_name(), "migrate-abc");
    }

    #[test]
    fn relative_paths_climb_then_descend() {
        assert_eq!(
            relative(
                Path::new("/w/target/deploy/dev"),
                Path::new("/w/deploy/overlays/dev")
            ),
            PathBuf::from("../../../deploy/overlays/dev")
        );
    }
}

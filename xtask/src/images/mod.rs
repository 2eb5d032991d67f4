//! `cargo xtask images`: the api, migrator and web container images.
//!
//! By default the static (musl) binaries and the SPA bundle are built on the host, reusing
//! its cargo cache, and copied into `FROM scratch` images (as `ko` does for Go): each
//! Dockerfile's final stage is built from a directory prepared here
//! (`container_engine::host_built`), so
//! nothing is compiled in a container, no base image is pulled, and any builder works
//! (podman, Docker with or without buildx). Without a musl toolchain on the host, or with
//! `--in-container`, the Dockerfiles build everything themselves (cargo-chef dependency
//! layers). Host-built binaries come with a CycloneDX bill of materials, pushed beside each
//! image (`sha256-<digest>.sbom`).

mod host;

use std::path::PathBuf;

use anyhow::Context;
pub use container_engine::{Engine, is_tag};

use crate::{git, project};

/// The images this project ships, in the order they are built.
pub const COMPONENTS: [&str; 3] = ["api", "migrator", "web"];

/// Image names are `PREFIX/<component>`; podman's name for images that live only here.
pub const DEFAULT_REGISTRY: &str = "localhost/randoms";

// What to build: the flags of `cargo xtask images`, and what `deploy` asks for.
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// docker or podman (default: whichever answers, podman first).
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    /// Image name prefix: images are PREFIX/api, PREFIX/migrator, PREFIX/web.
    #[arg(long, default_value = DEFAULT_REGISTRY, value_name = "PREFIX")]
    pub registry: String,
    /// Push the images and print their digests.
    #[arg(long)]
    pub push: bool,
    /// Tag instead of the short git commit (the VERSION-commit tag is added either way).
    #[arg(long)]
    pub tag: Option<String>,
    /// Compile inside the image build (the Dockerfiles' own stages) instead of on the host.
    #[arg(long)]
    pub in_container: bool,
}

/// One built image.
#[derive(Clone, Debug)]
pub struct Built {
    /// One of COMPONENTS.
    pub component: &'static str,
    /// `registry/component:tag`.
    pub reference: String,
    /// `sha256:…` once pushed.
    pub digest: Option<String>,
    /// Layers plus config as the registry stores them (compressed), once pushed.
    pub pushed_bytes: Option<u64>,
}

/// Everything `build` did: which engine, which tag, which images.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub engine: Engine,
    pub tag: String,
    pub images: Vec<Built>,
}

pub fn run(request: Request) -> anyhow::Result<()> {
    let outcome = build(&request)?;
    eprintln!(
        "xtask: images: built with {}, tagged {} and {}-{}",
        outcome.engine.program(),
        outcome.tag,
        env!("CARGO_PKG_VERSION"),
        outcome.tag
    );
    println!(
        "{:<9} {:<60} {:>10}  digest",
        "image", "reference", "pushed"
    );
    for image in &outcome.images {
        let size = image
            .pushed_bytes
            .map_or("-".to_owned(), |b| format!("{:.2} MB", b as f64 / 1e6));
        let digest = image.digest.as_deref().unwrap_or("(not pushed)");
        println!(
            "{:<9} {:<60} {size:>10}  {digest}",
            image.component, image.reference
        );
    }
    Ok(())
}

/// Both names an image gets: `PREFIX/component:TAG` and `PREFIX/component:VERSION-TAG`.
pub fn references(registry: &str, component: &str, tag: &str) -> [String; 2] {
    let name = format!("{}/{component}", registry.trim_end_matches('/'));
    let version = env!("CARGO_PKG_VERSION");
    [format!("{name}:{tag}"), format!("{name}:{version}-{tag}")]
}

/// The tag an image built from the current work tree gets: the commit's 12 hex digits,
/// `-dirty-HASH` if modified.
pub fn default_tag() -> anyhow::Result<String> {
    git::short_commit()
}

/// A tag as registries accept it.
pub fn check_tag(tag: &str) -> anyhow::Result<String> {
    if !is_tag(tag) {
        anyhow::bail!(
            "--tag {tag:?}: a tag is 1–128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
        );
    }
    Ok(tag.to_owned())
}

/// Build (and with `push`, push) all three images.
pub fn build(request: &Request) -> anyhow::Result<Outcome> {
    let registry = request.registry.trim_end_matches('/');
    if registry.is_empty() {
        anyhow::bail!("--registry: empty image name prefix");
    }
    let engine = match request.engine {
        Some(engine) => engine.check()?,
        None => Engine::detect()
            .context("no container engine answers: install podman or docker, or pass --engine")?,
    };
    let tag = request.tag.as_deref().map_or_else(default_tag, check_tag)?;
    // The OCI labels' values, passed to every Dockerfile as build arguments.
    let revision = git::revision().unwrap_or_else(|_| "unknown".to_owned());
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let build_args = [
        ("VERSION", env!("CARGO_PKG_VERSION").to_owned()),
        ("REVISION", revision),
        ("CREATED", created),
        ("SOURCE", env!("CARGO_PKG_REPOSITORY").to_owned()),
    ];

    // The host-built files, `<dist>/<component>/rootfs/`, or None to let the Dockerfiles
    // compile.
    let dist: Option<PathBuf> = if request.in_container {
        None
    } else {
        match host::Toolchain::detect() {
            Ok(toolchain) => Some(
                host::stage_all(&toolchain).context("building the images' contents on the host")?,
            ),
            Err(why) => {
                eprintln!("xtask: images: compiling inside the image builds, since {why}");
                None
            }
        }
    };

    let mut images = Vec::new();
    for component in COMPONENTS {
        let name = format!("{registry}/{component}");
        let tags = references(registry, component, &tag);
        let recipe = project::root().join(format!("docker/{component}.Dockerfile"));
        let (dockerfile, context) = match &dist {
            Some(dist) => {
                let name = format!("docker/{component}.Dockerfile");
                let built = container_engine::host_built(&recipe, &name, &dist.join(component))?;
                (built.dockerfile, built.dir)
            }
            None => (recipe, project::root()),
        };
        eprintln!("xtask: {} build {}", engine.program(), tags[0]);
        engine.build(&container_engine::BuildSpec {
            dockerfile,
            context,
            tags: &tags,
            build_args: &build_args,
        })?;
        let (digest, pushed_bytes) = if request.push {
            let mut digest = None;
            for reference in &tags {
                eprintln!("xtask: {} push {reference}", engine.program());
                digest = Some(engine.push(reference)?);
            }
            let digest = digest.context("no tag to push")?;
            if let Some(dist) = &dist {
                attach_sbom(&name, &digest, &dist.join(component))?;
            }
            let pushed = format!("{name}@{digest}");
            let size = container_engine::pushed_size(engine, &pushed);
            if size.is_none() {
                eprintln!("xtask: images: could not read the pushed size of {pushed}");
            }
            (Some(digest), size)
        } else {
            (None, None)
        };
        images.push(Built {
            component,
            reference: tags[0].clone(),
            digest,
            pushed_bytes,
        });
    }
    Ok(Outcome {
        engine,
        tag,
        images,
    })
}

/// Pushes the host-built bill of materials of `context` as `name:sha256-<hex>.sbom`, where
/// cosign, syft and other tools look for the SBOM of the image `digest`.
fn attach_sbom(name: &str, digest: &str, context: &std::path::Path) -> anyhow::Result<()> {
    let file = context.join(host::SBOM_FILE);
    let document = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let layout = context.join("sbom-layout");
    let reference = container_engine::attach(
        name,
        digest,
        "sbom",
        host::SBOM_MEDIA_TYPE,
        &document,
        &layout,
    )
    .with_context(|| format!("attaching the bill of materials to {name}@{digest}"))?;
    eprintln!("xtask: images: bill of materials (CycloneDX) pushed as {reference}");
    Ok(())
}

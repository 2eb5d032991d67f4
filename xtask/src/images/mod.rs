//! `cargo xtask images`: the api, migrator and web container images.
//!
//! By default each platform's static binaries and the SPA bundle are built on the host
//! (`static-build`) and copied into `FROM scratch` images: each Dockerfile's final stage is
//! built from a directory prepared here (`container_engine::host_built`), so nothing is
//! compiled in a container, no base image is pulled, and any builder works. Without a host
//! toolchain, or with `--in-container`, the Dockerfiles compile for the engine's platform.
//! Several platforms are pushed as one index; each host-built image gets a CycloneDX bill of
//! materials beside it (`sha256-<digest>.sbom`).

mod host;

use std::path::PathBuf;

use anyhow::Context;
pub use container_engine::{Engine, Platform, PlatformImage, is_tag};

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
    /// Compile inside the image build (the Dockerfiles' own stages) instead of on the host
    /// (for the engine's own platform only).
    #[arg(long)]
    pub in_container: bool,
    /// Platforms, comma-separated: linux/amd64, linux/arm64 (default: this machine's). With
    /// more than one, each image is pushed as one multi-platform index.
    #[arg(long, value_delimiter = ',', value_name = "PLATFORMS")]
    pub platform: Vec<Platform>,
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
    /// The image of each platform (one, unless several were asked for).
    pub platforms: Vec<PlatformImage>,
}

impl Built {
    /// Layers plus config as the registry stores them (compressed), once pushed; None for
    /// an index (each platform's is in `platforms`).
    pub fn pushed_bytes(&self) -> Option<u64> {
        match self.platforms.as_slice() {
            [one] => one.pushed_bytes,
            _ => None,
        }
    }
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
        let digest = image.digest.as_deref().unwrap_or("(not pushed)");
        let size = mb(image.pushed_bytes());
        println!(
            "{:<9} {:<60} {size:>10}  {digest}",
            image.component, image.reference
        );
        for one in image.platforms.iter().filter(|_| image.platforms.len() > 1) {
            let pushed = one.pushed.as_deref().unwrap_or("(not pushed)");
            println!(
                "  {:<67} {:>10}  {pushed}",
                one.platform,
                mb(one.pushed_bytes)
            );
        }
    }
    Ok(())
}

fn mb(bytes: Option<u64>) -> String {
    bytes.map_or("-".to_owned(), |b| format!("{:.2} MB", b as f64 / 1e6))
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

    // The engine's platform: a local cluster's nodes run in the engine.
    let own = engine.platform().ok().flatten().or_else(Platform::host);
    let platforms = platforms(own, request)?;
    // The host-built files, `<dist>/<arch>/<component>/rootfs/`, or None to let the
    // Dockerfiles compile.
    let dist: Option<PathBuf> = if request.in_container {
        None
    } else {
        match static_build::Toolchain::detect(&platforms) {
            Ok(toolchain) => Some(
                host::stage_all(&toolchain, &platforms)
                    .context("building the images' contents on the host")?,
            ),
            Err(why) if own.is_some_and(|own| platforms == [own]) => {
                eprintln!("xtask: images: compiling inside the image builds, since {why}");
                None
            }
            Err(why) => anyhow::bail!("--platform: {why}"),
        }
    };

    let mut images = Vec::new();
    for component in COMPONENTS {
        let tags = references(registry, component, &tag);
        let recipe = project::root().join(format!("docker/{component}.Dockerfile"));
        let mut locals = Vec::new();
        for &platform in &platforms {
            let (dockerfile, context) = match &dist {
                Some(dist) => {
                    let name = format!("docker/{component}.Dockerfile");
                    let dir = host::context(dist, platform, component);
                    let built = container_engine::host_built(&recipe, &name, &dir)?;
                    (built.dockerfile, built.dir)
                }
                None => (recipe.clone(), project::root()),
            };
            // One platform: the image gets the tags. Several: each its own, `TAG-linux-arm64`,
            // and the tags go to the index of them all.
            let local = match platforms.len() {
                1 => tags.to_vec(),
                _ => vec![format!("{}-{}", tags[0], platform.tag_suffix())],
            };
            eprintln!(
                "xtask: {} build {} for {platform}",
                engine.program(),
                local[0]
            );
            engine.build(&container_engine::BuildSpec {
                dockerfile,
                context,
                tags: &local,
                platform,
                no_cache: dist.is_some(),
                build_args: &build_args,
            })?;
            locals.push((platform, local[0].clone()));
        }
        let (digest, pushed) = match request.push {
            true => engine
                .publish(&tags, &locals)
                .map(|(d, pushed)| (Some(d), pushed))?,
            false => (
                None,
                locals
                    .iter()
                    .map(|(p, _)| PlatformImage::local(*p))
                    .collect(),
            ),
        };
        if let Some(dist) = &dist {
            for one in &pushed {
                if let Some(image) = &one.pushed {
                    attach_sbom(image, &host::context(dist, one.platform, component))?;
                }
            }
        }
        let built = Built {
            component,
            reference: tags[0].clone(),
            digest,
            platforms: pushed,
        };
        images.push(built);
    }
    Ok(Outcome {
        engine,
        tag,
        images,
    })
}

/// The platforms asked for, each once; by default the engine's own.
fn platforms(own: Option<Platform>, request: &Request) -> anyhow::Result<Vec<Platform>> {
    let mut platforms = request.platform.clone();
    platforms.sort();
    platforms.dedup();
    if platforms.is_empty() {
        platforms.push(own.context(
            "this machine is neither amd64 nor arm64: pass --platform linux/amd64 or linux/arm64",
        )?);
    }
    // Its stages run compilers: for another platform that would take emulation.
    if request.in_container && own.is_none_or(|own| platforms != [own]) {
        anyhow::bail!(
            "--in-container builds for the engine's own platform only; leave out --platform or \
             build on the host"
        );
    }
    Ok(platforms)
}

/// Pushes the host-built bill of materials in `context` as `name:sha256-<hex>.sbom`, where
/// cosign, syft and other tools look for the SBOM of the image `pushed` (`name@digest`).
fn attach_sbom(pushed: &str, context: &std::path::Path) -> anyhow::Result<()> {
    let (name, digest) = pushed.split_once('@').context("a pushed image by digest")?;
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
    .with_context(|| format!("attaching the bill of materials to {pushed}"))?;
    eprintln!("xtask: images: bill of materials (CycloneDX) pushed as {reference}");
    Ok(())
}

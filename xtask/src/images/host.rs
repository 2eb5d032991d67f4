//! Building the images' contents on the host: static musl binaries from the host's cargo
//! cache, the SPA bundle, CA certificates, laid out as each image's root file system, and
//! each binary's bill of materials beside it.
//!
//! The binaries are built with `cargo auditable`, which embeds their resolved dependency
//! list: scanners (syft, trivy, grype) read it from the image, and the `sbom` crate turns
//! it into the CycloneDX document pushed with the image.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::cmd;

use crate::{project, toolchain, web};

/// Where the host's CA bundle is (Debian/Ubuntu `ca-certificates`, Alpine, Fedora).
const CA_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// What compiling static Linux binaries here takes: the musl target and a C compiler for
/// it (ring has C and assembly).
pub struct Toolchain {
    target: String,
}

impl Toolchain {
    /// The host's musl toolchain, or why it has none (then the images compile in-container).
    pub fn detect() -> Result<Self, String> {
        if std::env::consts::OS != "linux" {
            return Err("the host is not Linux".to_owned());
        }
        let arch = std::env::consts::ARCH;
        if !matches!(arch, "x86_64" | "aarch64") {
            return Err(format!("there is no musl setup here for {arch}"));
        }
        let cross = format!("{arch}-linux-musl-gcc");
        if processes::find_program(&cross).is_none()
            && processes::find_program("musl-gcc").is_none()
        {
            return Err(format!(
                "neither musl-gcc nor {cross} is on PATH (Debian: apt-get install musl-tools)"
            ));
        }
        if processes::find_program("cargo-auditable").is_none() {
            return Err(
                "cargo-auditable is not installed (cargo install cargo-auditable --locked)"
                    .to_owned(),
            );
        }
        Ok(Self {
            target: format!("{arch}-unknown-linux-musl"),
        })
    }
}

/// Each image's bill of materials (CycloneDX JSON), beside its `rootfs/`.
pub const SBOM_FILE: &str = "sbom.cdx.json";

/// The media type of `SBOM_FILE`.
pub const SBOM_MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";

/// The binary in each image, by component.
const BINARIES: [(&str, &str); 3] = [
    ("api", "api"),
    ("migrator", "migrator"),
    ("web", "web-server"),
];

/// Builds everything and lays out each image's files in `target/images/dist/<component>/rootfs/`;
/// returns `target/images/dist`.
pub fn stage_all(toolchain: &Toolchain) -> anyhow::Result<PathBuf> {
    let target = toolchain.target.as_str();
    toolchain::ensure_target(target)?;
    let sh = project::shell()?;
    let cargo = project::cargo_program();
    let binaries = BINARIES
        .iter()
        .flat_map(|(_, binary)| ["--package", binary, "--bin", binary]);
    project::run(
        &format!("cargo auditable build --release --target {target} (static binaries)"),
        cmd!(
            sh,
            "{cargo} auditable build --release --locked --target {target} {binaries...}"
        ),
    )?;

    let ca_bundle = CA_BUNDLES
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .context(
            "no CA certificate bundle on this machine (Debian: apt-get install ca-certificates)",
        )?;
    let built = project::target_dir().join(target).join("release");
    let dist = project::target_dir().join("images").join("dist");
    for (component, binary) in BINARIES {
        let context = dist.join(component);
        if context.exists() {
            std::fs::remove_dir_all(&context)
                .with_context(|| format!("clearing {}", context.display()))?;
        }
        let root = context.join("rootfs");
        copy(&built.join(binary), &root.join(binary))?;
        let binary_path = built.join(binary);
        let bom = project::read(
            &format!("the bill of materials of {binary}"),
            cmd!(
                sh,
                "{cargo} run --locked --quiet --package sbom -- {binary_path}"
            ),
        )?;
        std::fs::write(context.join(SBOM_FILE), bom)
            .with_context(|| format!("writing {}", context.join(SBOM_FILE).display()))?;
        copy(ca_bundle, &root.join("etc/ssl/certs/ca-certificates.crt"))?;
        if component == "web" {
            let www = root.join("srv/www");
            let assets = web::build(&www, web::Flavor::Shipped)?;
            if assets.is_empty() {
                bail!("the SPA bundle in {} is empty", www.display());
            }
        }
    }
    Ok(dist)
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(dir) = to.parent() {
        project::create_dir(dir)?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

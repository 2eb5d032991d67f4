//! Building the images' contents on the host: each platform's static binaries (crate
//! `static-build`), the SPA bundle and CA certificates laid out as each image's root file
//! system, and each binary's bill of materials beside it (crate `sbom`, run as a program so
//! xtask does not compile its dependencies).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use static_build::{Platform, Toolchain, Workspace};
use xshell::cmd;

use crate::{project, web};

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

/// Builds everything and lays out each image's files in
/// `target/images/dist/<arch>/<component>/rootfs/`; returns `target/images/dist`.
pub fn stage_all(toolchain: &Toolchain, platforms: &[Platform]) -> anyhow::Result<PathBuf> {
    let workspace = Workspace {
        root: project::root(),
        target_dir: project::target_dir(),
        cargo: project::cargo_program(),
    };
    workspace.build(toolchain, &BINARIES.map(|(_, binary)| binary))?;
    let ca_bundle = static_build::ca_bundle().context(
        "no CA certificate bundle on this machine (Debian: apt-get install ca-certificates)",
    )?;
    let dist = project::target_dir().join("images").join("dist");
    let www = dist.join("www");
    remove(&www)?;
    if web::build(&www, web::Flavor::Shipped)?.is_empty() {
        bail!("the SPA bundle in {} is empty", www.display());
    }
    let sh = project::shell()?;
    let cargo = project::cargo_program();
    for &platform in platforms {
        for (component, binary) in BINARIES {
            let context = context(&dist, platform, component);
            remove(&context)?;
            let root = context.join("rootfs");
            let built = workspace.binary(platform, binary);
            static_build::copy(&built, &root.join(binary))?;
            let bom = project::read(
                &format!("the bill of materials of {binary} for {platform}"),
                cmd!(sh, "{cargo} run --locked --quiet --package sbom -- {built}"),
            )?;
            std::fs::write(context.join(SBOM_FILE), bom)
                .with_context(|| format!("writing {}", context.join(SBOM_FILE).display()))?;
            static_build::copy(ca_bundle, &root.join("etc/ssl/certs/ca-certificates.crt"))?;
            if component == "web" {
                static_build::copy_tree(&www, &root.join("srv/www"))?;
            }
        }
    }
    Ok(dist)
}

/// The build context of one image in `dist`.
pub fn context(dist: &Path, platform: Platform, component: &str) -> PathBuf {
    dist.join(platform.arch()).join(component)
}

fn remove(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    Ok(())
}

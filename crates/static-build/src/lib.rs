//! Static Linux binaries of workspace packages, for each platform, compiled on the host and
//! its cargo cache (as `ko` does for Go): nothing is compiled in a container and no QEMU
//! runs. The host's own platform is built with its musl C compiler (ring has C and
//! assembly), every other one cross-compiled with zig through `cargo zigbuild`.
//!
//! Either way through `cargo auditable`, which embeds each binary's resolved dependency
//! list: scanners (syft, trivy, grype) read it, and the `sbom` crate turns it into CycloneDX.

mod files;

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

pub use container_engine::Platform;
pub use files::{ca_bundle, copy, copy_tree};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Run(#[from] processes::RunError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// How each asked-for platform's binaries are compiled here.
#[derive(Debug)]
pub struct Toolchain {
    /// The host's own platform, with its musl C compiler.
    native: Option<Platform>,
    /// The others, with zig.
    zig: Vec<Platform>,
}

impl Toolchain {
    /// What builds `platforms` here, or why nothing does (one line, with the fix).
    pub fn detect(platforms: &[Platform]) -> std::result::Result<Self, String> {
        if processes::find_program("cargo-auditable").is_none() {
            return Err(
                "cargo-auditable is not installed (cargo install cargo-auditable --locked)"
                    .to_owned(),
            );
        }
        let host = Platform::host().filter(|_| std::env::consts::OS == "linux");
        let musl = host.is_some() && {
            let cross = format!("{}-linux-musl-gcc", std::env::consts::ARCH);
            processes::find_program(&cross).is_some()
                || processes::find_program("musl-gcc").is_some()
        };
        let native = host.filter(|host| musl && platforms.contains(host));
        let zig: Vec<Platform> = platforms
            .iter()
            .copied()
            .filter(|p| Some(*p) != native)
            .collect();
        if !zig.is_empty() && processes::find_program("cargo-zigbuild").is_none() {
            let names: Vec<&str> = zig.iter().map(|p| p.as_str()).collect();
            let missing = if host.is_some() && !musl {
                "neither musl-gcc (Debian: apt-get install musl-tools) nor cargo-zigbuild is on PATH"
            } else {
                "cargo-zigbuild is not on PATH"
            };
            return Err(format!(
                "building for {} needs a cross toolchain: {missing} (pip install ziglang \
                 cargo-zigbuild)",
                names.join(", ")
            ));
        }
        Ok(Self { native, zig })
    }
}

/// The workspace whose packages are built.
pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    /// The cargo to run.
    pub cargo: OsString,
}

impl Workspace {
    /// Builds `binaries` (each a package with a binary of the same name) in release mode for
    /// every platform of `toolchain`, the compilers' output shown as it comes.
    pub fn build(&self, toolchain: &Toolchain, binaries: &[&str]) -> Result<()> {
        let runs = [
            (toolchain.native.into_iter().collect::<Vec<_>>(), "build"),
            (toolchain.zig.clone(), "zigbuild"),
        ];
        for (platforms, subcommand) in runs {
            if platforms.is_empty() {
                continue;
            }
            let mut cargo = Command::new(&self.cargo);
            cargo.current_dir(&self.root);
            cargo.args(["auditable", subcommand, "--release", "--locked"]);
            for platform in &platforms {
                ensure_target(platform.rust_target())?;
                cargo.args(["--target", platform.rust_target()]);
            }
            for binary in binaries {
                cargo.args(["--package", binary, "--bin", binary]);
            }
            let names: Vec<&str> = platforms.iter().map(|p| p.as_str()).collect();
            eprintln!(
                "static-build: cargo auditable {subcommand} --release for {} (static binaries)",
                names.join(", ")
            );
            processes::run(&mut cargo, &format!("cargo auditable {subcommand}"))?;
        }
        Ok(())
    }

    /// Where [`build`](Self::build) leaves `binary` for `platform`.
    pub fn binary(&self, platform: Platform, binary: &str) -> PathBuf {
        self.target_dir
            .join(platform.rust_target())
            .join("release")
            .join(binary)
    }
}

/// Installs a target with rustup when it is missing (targets are cheap to add; toolchains
/// are not auto-installed everywhere).
pub fn ensure_target(target: &str) -> Result<()> {
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"])
        .stderr(Stdio::null());
    let installed = processes::output(&mut list, "rustup target list (is rustup on PATH?)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|t| t.trim() == target)
    {
        return Ok(());
    }
    eprintln!("static-build: installing the {target} target with rustup");
    let mut add = Command::new("rustup");
    add.args(["target", "add", target]);
    Ok(processes::run(
        &mut add,
        &format!("rustup target add {target}"),
    )?)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

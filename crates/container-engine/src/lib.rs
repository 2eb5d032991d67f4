//! docker or podman, driven for our images: finding one that answers, building an image
//! for a platform from a plain context directory, pushing it (or one index of per-platform
//! images) for the digest the registry gave it, reading what the registry stores, and
//! attaching documents (a bill of materials) to an image as scanners expect.
//!
//! Only what every engine has is used: no buildx flag (`--build-context`), so Docker's
//! legacy builder works as well as BuildKit and podman.

mod artifact;
mod context;
mod engine;
mod index;
mod platform;
mod registry;

use std::path::PathBuf;

pub use artifact::{attach, attached_tag};
pub use context::{BuildContext, host_built};
pub use engine::{BuildSpec, Engine, is_loopback, is_tag};
pub use index::PlatformImage;
pub use platform::{Platform, UnknownPlatform};
pub use registry::{manifest_size, platform_images, pushed_size};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("--engine {program}: {program} is not on PATH")]
    NotInstalled { program: &'static str },
    #[error("--engine {program}: `{program} version` failed: {why}")]
    NotAnswering { program: &'static str, why: String },
    #[error(transparent)]
    Run(#[from] processes::RunError),
    #[error("{what}: no digest in its output")]
    NoDigest { what: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{recipe}: no host-built stage: {why}")]
    Recipe { recipe: String, why: String },
}

pub type Result<T> = std::result::Result<T, Error>;

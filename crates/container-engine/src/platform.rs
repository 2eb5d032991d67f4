//! The platforms images are built for, and what each one means to cargo and to an engine.

use std::{fmt, str::FromStr};

/// A Linux platform we build static binaries and images for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Platform {
    Amd64,
    Arm64,
}

/// A `--platform` value that names no platform we build.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a platform the images are built for: linux/amd64 or linux/arm64")]
pub struct UnknownPlatform(pub String);

impl Platform {
    pub const ALL: [Platform; 2] = [Platform::Amd64, Platform::Arm64];

    /// The machine this runs on, if it is one we build for.
    pub fn host() -> Option<Self> {
        Self::from_arch(std::env::consts::ARCH)
    }

    /// From an architecture as Rust (`x86_64`, `aarch64`) or OCI (`amd64`, `arm64`) names it.
    pub fn from_arch(arch: &str) -> Option<Self> {
        match arch {
            "amd64" | "x86_64" => Some(Platform::Amd64),
            "arm64" | "aarch64" => Some(Platform::Arm64),
            _ => None,
        }
    }

    /// The OCI architecture (`amd64`, `arm64`).
    pub fn arch(self) -> &'static str {
        match self {
            Platform::Amd64 => "amd64",
            Platform::Arm64 => "arm64",
        }
    }

    /// As engines and registries write it: `linux/amd64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Amd64 => "linux/amd64",
            Platform::Arm64 => "linux/arm64",
        }
    }

    /// The Rust target of its static binaries.
    pub fn rust_target(self) -> &'static str {
        match self {
            Platform::Amd64 => "x86_64-unknown-linux-musl",
            Platform::Arm64 => "aarch64-unknown-linux-musl",
        }
    }

    /// The suffix of the per-platform tags of a multi-platform build: `linux-arm64`.
    pub fn tag_suffix(self) -> String {
        self.as_str().replace('/', "-")
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    /// `linux/amd64`, `linux/arm64` (`linux/arm64/v8` too: the only arm64 variant).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownPlatform(s.to_owned());
        let mut parts = s.trim().split('/');
        let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
        if os != Some("linux") || parts.next().is_some() {
            return Err(unknown());
        }
        let platform = arch.and_then(Self::from_arch).ok_or_else(unknown)?;
        match (platform, variant) {
            (_, None) | (Platform::Arm64, Some("v8")) => Ok(platform),
            _ => Err(unknown()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse_as_engines_write_them() {
        assert_eq!(
            "linux/amd64".parse::<Platform>().ok(),
            Some(Platform::Amd64)
        );
        assert_eq!(
            "linux/arm64".parse::<Platform>().ok(),
            Some(Platform::Arm64)
        );
        assert_eq!(
            "linux/arm64/v8".parse::<Platform>().ok(),
            Some(Platform::Arm64)
        );
        for bad in [
            "",
            "amd64",
            "linux",
            "linux/arm",
            "darwin/arm64",
            "linux/amd64/v2",
            "linux/arm64/v8/x",
        ] {
            let err = bad.parse::<Platform>().expect_err(bad).to_string();
            assert!(err.contains("linux/amd64 or linux/arm64"), "{err}");
        }
        for platform in Platform::ALL {
            assert_eq!(platform.as_str().parse::<Platform>().ok(), Some(platform));
            assert!(platform.rust_target().ends_with("-unknown-linux-musl"));
        }
        assert_eq!(Platform::Arm64.tag_suffix(), "linux-arm64");
    }
}

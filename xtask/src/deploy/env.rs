//! The environments under `deploy/overlays/`, and what is fixed about each.

use std::{fmt, path::PathBuf};

use crate::{images, project};

/// An overlay of `deploy/overlays/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    /// A laptop cluster: PostgreSQL StatefulSet, port-forwards.
    Dev,
    /// A real cluster: CloudNativePG, Ingress with TLS, HPA.
    Prod,
}

impl Environment {
    pub fn name(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Prod => "prod",
        }
    }

    /// `deploy/overlays/<env>`.
    pub fn overlay_dir(self) -> PathBuf {
        project::root()
            .join("deploy")
            .join("overlays")
            .join(self.name())
    }

    /// Where images go when nobody says: only dev has a default, since a local cluster gets
    /// them loaded rather than pulled.
    pub fn default_registry(self) -> Option<&'static str> {
        match self {
            Environment::Dev => Some(images::DEFAULT_REGISTRY),
            Environment::Prod => None,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

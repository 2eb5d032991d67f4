//! Which cluster a kubectl context points at, and whether deploying there needs a yes.

use anyhow::bail;

use super::env::Environment;

/// The local clusters recognised by their context names, for messages.
pub const LOCAL_NAMES: &str = "kind-*, k3d-*, minikube, docker-desktop, rancher-desktop, orbstack";

/// Where a context points, as far as its name tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cluster {
    /// `kind-NAME`: images are loaded with `kind load image-archive --name NAME`.
    Kind(String),
    /// `k3d-NAME`: images are loaded with `k3d image import -c NAME`.
    K3d(String),
    /// `minikube`: images are loaded with `minikube image load -p minikube`.
    Minikube(String),
    /// Docker Desktop, Rancher Desktop, OrbStack: the cluster sees the engine's own images.
    SharedEngine(String),
    /// Anything else: images are pushed to a registry the cluster pulls from.
    Remote(String),
}

impl Cluster {
    pub fn of(context: &str) -> Self {
        let context = context.to_owned();
        if let Some(name) = context.strip_prefix("kind-").filter(|n| !n.is_empty()) {
            Cluster::Kind(name.to_owned())
        } else if let Some(name) = context.strip_prefix("k3d-").filter(|n| !n.is_empty()) {
            Cluster::K3d(name.to_owned())
        } else if context == "minikube" {
            Cluster::Minikube(context)
        } else if matches!(
            context.as_str(),
            "docker-desktop" | "rancher-desktop" | "orbstack"
        ) {
            Cluster::SharedEngine(context)
        } else {
            Cluster::Remote(context)
        }
    }

    pub fn is_local(&self) -> bool {
        !matches!(self, Cluster::Remote(_))
    }

    pub fn describe(&self) -> String {
        match self {
            Cluster::Kind(name) => format!("local kind cluster {name:?}"),
            Cluster::K3d(name) => format!("local k3d cluster {name:?}"),
            Cluster::Minikube(profile) => format!("local minikube profile {profile:?}"),
            Cluster::SharedEngine(name) => format!("local {name} cluster"),
            Cluster::Remote(_) => "not a local cluster".to_owned(),
        }
    }
}

/// Refuses what must be asked for by name: prod without `--context` and `--yes`, and dev on
/// a cluster that is not a local one without `--yes`.
pub fn check_allowed(
    env: Environment,
    context: &str,
    explicit: bool,
    yes: bool,
) -> anyhow::Result<()> {
    match env {
        Environment::Prod if !explicit => bail!(
            "refusing to deploy prod to the current context ({context:?}): name the cluster with --context and confirm with --yes"
        ),
        Environment::Prod if !yes => bail!(
            "refusing to deploy prod to context {context:?} without --yes: pass --yes to confirm"
        ),
        Environment::Dev if !Cluster::of(context).is_local() && !yes => bail!(
            "refusing to deploy dev to context {context:?}, which is not a local cluster ({LOCAL_NAMES}): pass --yes to deploy there anyway"
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "../../unit-tests/deploy/context.rs"]
mod tests;

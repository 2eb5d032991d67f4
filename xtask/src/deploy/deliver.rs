//! Getting the images to the cluster: built by the images module, then loaded into a local
//! cluster (kind, k3d, minikube) from an archive, or pushed to the registry the cluster
//! pulls from.

use std::path::Path;

use anyhow::Context;
use xshell::{Cmd, Shell, cmd};

use super::context::Cluster;
use crate::{images, project};

/// One sentence for the plan: how the images reach this cluster.
/// Without a cluster (a dry run with no context), both ways are named.
pub fn describe(cluster: Option<&Cluster>, build: bool, registry: &str) -> String {
    if !build {
        return "not built (--no-build): they must already be in the cluster or its registry"
            .to_owned();
    }
    let how = match cluster {
        None => format!(
            "load them into the local cluster (kind, k3d, minikube), or push them to {registry}, as the context says"
        ),
        Some(Cluster::Kind(name)) => {
            format!("load them into kind cluster {name:?} (kind load image-archive)")
        }
        Some(Cluster::K3d(name)) => {
            format!("load them into k3d cluster {name:?} (k3d image import)")
        }
        Some(Cluster::Minikube(profile)) => {
            format!("load them into minikube profile {profile:?} (minikube image load)")
        }
        Some(Cluster::SharedEngine(name)) => {
            format!("{name} runs docker's own images: built with docker, nothing to load")
        }
        Some(Cluster::Remote(_)) => format!("push them to {registry}"),
    };
    format!("build with the container engine (tagged with the commit), then {how}")
}

/// The engine to build with. Docker Desktop, OrbStack and Rancher Desktop (moby) run the
/// images of their docker engine, so there it is docker whatever else is installed: podman's
/// images would never reach the cluster.
pub fn engine_for(
    cluster: &Cluster,
    asked: Option<images::Engine>,
) -> anyhow::Result<Option<images::Engine>> {
    match (cluster, asked) {
        (Cluster::SharedEngine(name), Some(images::Engine::Podman)) => anyhow::bail!(
            "--engine podman: the {name} cluster runs docker's images, not podman's; use --engine docker (or leave it out)"
        ),
        (Cluster::SharedEngine(_), _) => Ok(Some(images::Engine::Docker)),
        _ => Ok(asked),
    }
}

/// Builds the three images (pushing them when the cluster pulls from a registry) and loads
/// them into a local cluster.
pub fn build_and_deliver(
    cluster: &Cluster,
    engine: Option<images::Engine>,
    (in_container, platform): (bool, &[images::Platform]),
    registry: &str,
    tag: &str,
) -> anyhow::Result<images::Outcome> {
    if platform.len() > 1 && !matches!(cluster, Cluster::Remote(_)) {
        anyhow::bail!("--platform: the images are loaded into a local cluster, one platform only");
    }
    let outcome = images::build(&images::Request {
        engine,
        registry: registry.to_owned(),
        tag: Some(tag.to_owned()),
        push: matches!(cluster, Cluster::Remote(_)),
        in_container,
        platform: platform.to_vec(),
    })
    .context("building the images")?;
    load(cluster, &outcome)?;
    Ok(outcome)
}

/// `ENGINE save` each image to an archive, then the cluster's own loader.
fn load(cluster: &Cluster, outcome: &images::Outcome) -> anyhow::Result<()> {
    let sh = project::shell()?;
    let dir = project::target_dir().join("deploy").join("images");
    let engine = outcome.engine.program();
    for image in &outcome.images {
        let archive = dir.join(format!("{}.tar", image.component));
        let Some(load) = loader(&sh, cluster, &archive) else {
            return Ok(());
        };
        project::create_dir(&dir)?;
        let reference = &image.reference;
        project::run(
            &format!("saving {reference}"),
            cmd!(sh, "{engine} save --output {archive} {reference}"),
        )?;
        project::run(
            &format!("loading {reference} into the {}", cluster.describe()),
            load,
        )?;
        let _ = std::fs::remove_file(&archive);
    }
    Ok(())
}

/// The cluster's own loader of an image archive; None when the cluster sees the engine's
/// images or pulls from a registry.
fn loader<'a>(sh: &'a Shell, cluster: &Cluster, archive: &Path) -> Option<Cmd<'a>> {
    Some(match cluster {
        Cluster::Kind(name) => cmd!(sh, "kind load image-archive {archive} --name {name}"),
        Cluster::K3d(name) => cmd!(sh, "k3d image import {archive} --cluster {name}"),
        Cluster::Minikube(profile) => cmd!(sh, "minikube image load {archive} --profile {profile}"),
        Cluster::SharedEngine(_) | Cluster::Remote(_) => return None,
    })
}

#[cfg(test)]
#[path = "../../unit-tests/deploy/deliver.rs"]
mod tests;

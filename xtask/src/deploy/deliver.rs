//! Getting the images to the cluster: built by the images module, then loaded into a local
//! cluster (kind, k3d, minikube) from an archive, or pushed to the registry the cluster
//! pulls from.

use std::process::Command;

use anyhow::Context;

use super::context::Cluster;
use crate::{images, project};

/// One sentence for the plan: how the images reach this cluster.
/// Without a cluster (a dry run with no context), both ways are named.
pub fn describe(cluster: Option<&Cluster>, build: bool, registry: &str) -> String {
    let Some(cluster) = cluster else {
        let how = format!(
            "load them into the local cluster (kind, k3d, minikube), or push them to {registry}, as the context says"
        );
        return with_build(build, &how);
    };
    let how = match cluster {
        Cluster::Kind(name) => {
            format!("load them into kind cluster {name:?} (kind load image-archive)")
        }
        Cluster::K3d(name) => format!("load them into k3d cluster {name:?} (k3d image import)"),
        Cluster::Minikube(profile) => {
            format!("load them into minikube profile {profile:?} (minikube image load)")
        }
        Cluster::SharedEngine(name) => {
            format!("{name} runs the container engine's own images: nothing to load")
        }
        Cluster::Remote(_) => format!("push them to {registry}"),
    };
    with_build(build, &how)
}

fn with_build(build: bool, how: &str) -> String {
    if build {
        format!("build with the container engine (tagged with the commit), then {how}")
    } else {
        "not built (--no-build): they must already be in the cluster or its registry".to_owned()
    }
}

/// Builds the three images (pushing them when the cluster pulls from a registry) and loads
/// them into a local cluster.
pub fn build_and_deliver(
    cluster: &Cluster,
    engine: Option<images::Engine>,
    in_container: bool,
    registry: &str,
    tag: &str,
) -> anyhow::Result<images::Outcome> {
    let outcome = images::build(&images::Request {
        engine,
        registry: registry.to_owned(),
        tag: Some(tag.to_owned()),
        push: matches!(cluster, Cluster::Remote(_)),
        in_container,
    })
    .context("building the images")?;
    load(cluster, &outcome)?;
    Ok(outcome)
}

/// `ENGINE save` each image to an archive, then the cluster's own loader.
fn load(cluster: &Cluster, outcome: &images::Outcome) -> anyhow::Result<()> {
    let Some(loader) = Loader::of(cluster) else {
        return Ok(());
    };
    let dir = project::target_dir().join("deploy").join("images");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for image in &outcome.images {
        let archive = dir.join(format!("{}.tar", image.component));
        let mut save = Command::new(outcome.engine.program());
        save.args(["save", "--output"])
            .arg(&archive)
            .arg(&image.reference);
        project::run(&format!("saving {}", image.reference), save)?;
        let mut load = Command::new(loader.program);
        load.args(loader.subcommand)
            .arg(&archive)
            .args([loader.flag, loader.cluster]);
        project::run(
            &format!(
                "loading {} into the {}",
                image.reference,
                cluster.describe()
            ),
            load,
        )?;
        let _ = std::fs::remove_file(&archive);
    }
    Ok(())
}

/// `PROGRAM SUBCOMMAND… ARCHIVE FLAG CLUSTER`.
struct Loader<'a> {
    program: &'static str,
    subcommand: &'static [&'static str],
    flag: &'static str,
    cluster: &'a str,
}

impl<'a> Loader<'a> {
    fn of(cluster: &'a Cluster) -> Option<Self> {
        let (program, subcommand, flag, name): (_, &'static [&'static str], _, _) = match cluster {
            Cluster::Kind(name) => ("kind", &["load", "image-archive"], "--name", name),
            Cluster::K3d(name) => ("k3d", &["image", "import"], "--cluster", name),
            Cluster::Minikube(profile) => ("minikube", &["image", "load"], "--profile", profile),
            Cluster::SharedEngine(_) | Cluster::Remote(_) => return None,
        };
        Some(Self {
            program,
            subcommand,
            flag,
            cluster: name,
        })
    }
}

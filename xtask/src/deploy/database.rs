//! Waiting for the database before the migration: a StatefulSet's rollout (dev), or a
//! CloudNativePG cluster's primary (prod).

use std::{
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::Value;

use super::{kubectl::Kubectl, manifest::Document, plan};

/// How long a new CloudNativePG cluster may take to get its primary: its instances are
/// created one after another (initdb, then each replica joins), and the images are pulled
/// on every node first.
pub const FIRST_BOOT: Duration = Duration::from_secs(15 * 60);

const POLL: Duration = Duration::from_secs(2);

/// Waits for every database of the plan, each within `timeout` (a new CloudNativePG cluster
/// within [`FIRST_BOOT`] if that is longer).
pub fn wait_for_all(
    kubectl: &Kubectl,
    ns: &str,
    databases: &[Document],
    timeout: Duration,
) -> anyhow::Result<()> {
    for db in databases {
        let resource = db.resource();
        if plan::is_cnpg_cluster(db) {
            wait_for_primary(kubectl, ns, &resource, timeout)
                .with_context(|| format!("{resource} has no ready primary"))?;
        } else {
            let timeout = format!("--timeout={}s", timeout.as_secs());
            kubectl
                .run_in(ns, &["rollout", "status", &resource, &timeout])
                .with_context(|| format!("{resource} did not finish rolling out"))?;
        }
    }
    Ok(())
}

/// A primary accepting connections (`readyInstances` ≥ 1) is all the migration needs; the
/// replicas may still be joining. `condition=Ready` would wait for all three, which on a
/// first boot outlasts any sensible rollout timeout.
fn wait_for_primary(
    kubectl: &Kubectl,
    ns: &str,
    resource: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut limit = timeout;
    let mut last_phase = None;
    loop {
        let json = kubectl.output_in(ns, &["get", resource, "--output=json"])?;
        let cluster: Value = serde_json::from_str(&json).context("reading the cluster's status")?;
        let (ready, phase) = kube_state::cnpg_readiness(&cluster);
        if ready >= 1 {
            eprintln!("xtask: database: {ready} instance(s) ready ({phase})");
            return Ok(());
        }
        if last_phase.is_none() && ready == 0 && limit < FIRST_BOOT {
            // Never ready yet: a first boot (or a cluster down), given the longer limit.
            limit = FIRST_BOOT;
            eprintln!(
                "xtask: database: no instance ready yet; waiting up to {} s for the first boot",
                limit.as_secs()
            );
        }
        if last_phase.as_deref() != Some(phase.as_str()) {
            eprintln!("xtask: database: {phase}");
            last_phase = Some(phase);
        }
        if started.elapsed() > limit {
            bail!("no instance became ready within {} s", limit.as_secs());
        }
        thread::sleep(POLL);
    }
}

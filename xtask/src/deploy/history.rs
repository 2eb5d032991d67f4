//! The namespace's release history (crate `releases`) read and written with kubectl, and
//! what the Deployments run now.

use std::{collections::BTreeMap, path::Path};

use anyhow::Context;
use releases::{CONFIGMAP, History, Record};

use super::{kubectl::Kubectl, manifest, render::Release};
use crate::git;

/// The Deployments whose images say which release is live (the migrator has none).
pub const DEPLOYMENTS: [&str; 2] = ["api", "web"];

pub fn read(kubectl: &Kubectl, ns: &str) -> anyhow::Result<History> {
    let json = kubectl.output_in(
        ns,
        &[
            "get",
            "configmap",
            CONFIGMAP,
            "--ignore-not-found",
            "--output=json",
        ],
    )?;
    History::from_configmap(&json).with_context(|| format!("reading ConfigMap {CONFIGMAP}"))
}

/// Adds `record` and applies the history, failing if another deploy wrote it meanwhile.
pub fn append(
    kubectl: &Kubectl,
    ns: &str,
    mut history: History,
    record: Record,
    dir: &Path,
) -> anyhow::Result<()> {
    let line = format!("{} ({})", record.tag, record.how);
    history.push(record);
    let file = dir.join("4-release-history.json");
    let configmap = history.to_configmap(ns)?;
    std::fs::write(&file, configmap.to_string())
        .with_context(|| format!("writing {}", file.display()))?;
    kubectl
        .apply(&file)
        .context("recording the release (if another deploy ran meanwhile, rerun this one)")?;
    eprintln!("xtask: recorded release {line} in ConfigMap {CONFIGMAP}");
    Ok(())
}

/// Component → the image its Deployment's pods run now (absent Deployments left out).
pub fn live_images(kubectl: &Kubectl, ns: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut images = BTreeMap::new();
    for name in DEPLOYMENTS {
        let json = kubectl.output_in(
            ns,
            &[
                "get",
                "deployment",
                name,
                "--ignore-not-found",
                "--output=json",
            ],
        )?;
        if let Some(doc) = manifest::parse_all(&json)?.first()
            && let Some(image) = kube_state::images_of(&doc.value).into_iter().next()
        {
            images.insert(name.to_owned(), image);
        }
    }
    Ok(images)
}

/// A record of what this deploy ships (this build's migrations and commit), after the live
/// release (or the newest recorded when none is live).
pub fn this_deploy(release: &Release, history: &History, live: Option<usize>) -> Record {
    let images = release
        .pins
        .iter()
        .map(|p| (p.component.to_owned(), p.reference()));
    let previous = live.or(history.records.len().checked_sub(1));
    let previous = previous.and_then(|i| history.records.get(i));
    let (subject, deployed_by) = git::subject_and_author();
    let from = releases::Provenance {
        commit: git::revision().unwrap_or_default(),
        subject,
        deployed_by,
        deployed_at: now(),
    };
    let built = (schema_compat::latest(), schema_compat::breaking());
    Record::deploy(&release.tag, images.collect(), built, previous, from)
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

//! The history as a ConfigMap, newest last; which release is live; the table.

use std::{collections::BTreeMap, fmt::Write as _};

use serde_json::{Value, json};

use crate::{Error, Record};

/// The ConfigMap's name, and its one key.
pub const CONFIGMAP: &str = "releases";
const KEY: &str = "releases.json";

/// Records kept: older ones are dropped as new ones come.
pub const KEEP: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Oldest first.
    pub records: Vec<Record>,
    /// Of the ConfigMap read; an apply with it fails if someone wrote in between.
    pub resource_version: Option<String>,
}

impl History {
    /// From `kubectl get configmap releases -o json --ignore-not-found` (empty: no history).
    pub fn from_configmap(json: &str) -> Result<Self, Error> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        let bad = |e: serde_json::Error| Error::Malformed(e.to_string());
        let configmap: Value = serde_json::from_str(json).map_err(bad)?;
        let records = match configmap.get("data").and_then(|data| data.get(KEY)) {
            Some(Value::String(text)) => serde_json::from_str(text).map_err(bad)?,
            Some(_) => return Err(Error::Malformed(format!("{KEY} is not a string"))),
            None => Vec::new(),
        };
        let resource_version = configmap
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Self {
            records,
            resource_version,
        })
    }

    /// The ConfigMap to apply, in `namespace`.
    pub fn to_configmap(&self, namespace: &str) -> Result<Value, Error> {
        let mut metadata = json!({
            "name": CONFIGMAP,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/part-of": "randoms",
                "app.kubernetes.io/component": "release-history",
            },
        });
        if let Some(version) = &self.resource_version {
            metadata["resourceVersion"] = json!(version);
        }
        let records = serde_json::to_string_pretty(&self.records)
            .map_err(|e| Error::Malformed(e.to_string()))?;
        Ok(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": { KEY: records },
        }))
    }

    pub fn push(&mut self, record: Record) {
        self.records.push(record);
        let excess = self.records.len().saturating_sub(KEEP);
        self.records.drain(..excess);
    }

    /// The index of the live release: the newest whose images are all what the Deployments
    /// run (`live_images`: component → reference), so a rollout undone by hand shows.
    pub fn live(&self, live_images: &BTreeMap<String, String>) -> Option<usize> {
        self.records.iter().rposition(|r| {
            !live_images.is_empty()
                && live_images
                    .iter()
                    .all(|(component, image)| r.images.get(component) == Some(image))
        })
    }

    /// The newest record before `live` with another tag: what a rollback goes back to.
    pub fn previous(&self, live: usize) -> Option<&Record> {
        let tag = &self.records.get(live)?.tag;
        self.records[..live].iter().rev().find(|r| &r.tag != tag)
    }

    /// The newest record of `tag`.
    pub fn find(&self, tag: &str) -> Option<&Record> {
        self.records.iter().rev().find(|r| r.tag == tag)
    }

    /// Newest first, the live one marked `*`.
    pub fn table(&self, live: Option<usize>) -> String {
        let mut out = String::from(
            "  tag                          schema  deployed at           by                   how                commit subject\n",
        );
        for (i, r) in self.records.iter().enumerate().rev() {
            let mark = if Some(i) == live { '*' } else { ' ' };
            let commit = r.commit.get(..12).unwrap_or(&r.commit);
            let _ = writeln!(
                out,
                "{mark} {:<28} {:>6}  {:<20}  {:<20} {:<18} {commit} {}",
                r.tag, r.schema, r.deployed_at, r.deployed_by, r.how, r.subject
            );
        }
        out
    }
}

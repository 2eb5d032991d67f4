//! A namespace's release history, kept where it outlives Jobs and ReplicaSets: one
//! ConfigMap (`releases`) whose `releases.json` lists each deploy and rollback, oldest
//! first, at most [`KEEP`]. One object, so RBAC can name it and an apply replaces it whole,
//! guarded by its resourceVersion against two deploys at once.

mod history;
mod rollback;

use std::collections::BTreeMap;

pub use history::{CONFIGMAP, History, KEEP};
pub use rollback::{NoTarget, Refusal, check_rollback};
use serde::{Deserialize, Serialize};

/// One deploy or rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub tag: String,
    /// Component → the image reference its pods run (digest-pinned when pushed).
    pub images: BTreeMap<String, String>,
    /// The schema version after this release's migration (or as found, for a rollback).
    pub schema: i32,
    /// The oldest schema this release runs on: its newest migration.
    pub requires_schema: i32,
    /// The breaking migrations up to `schema`: `(version, "V{n}__{name}: why")`.
    pub breaking: Vec<(i32, String)>,
    /// RFC 3339, UTC.
    pub deployed_at: String,
    pub commit: String,
    pub subject: String,
    pub deployed_by: String,
    /// `deploy`, or `rollback from TAG`.
    pub how: String,
}

/// Where a deploy comes from: its commit, and who deploys it when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    pub commit: String,
    pub subject: String,
    pub deployed_by: String,
    pub deployed_at: String,
}

impl Record {
    /// What a deploy of `tag` ships, built for schema `built_for` with its `breaking`
    /// migrations, after `previous`: its migrator leaves the schema at `built_for`, or where
    /// a newer release left it (then that release's breaking migrations still count).
    pub fn deploy(
        tag: &str,
        images: BTreeMap<String, String>,
        (built_for, mut breaking): (i32, Vec<(i32, String)>),
        previous: Option<&Record>,
        from: Provenance,
    ) -> Self {
        let mut schema = built_for;
        if let Some(previous) = previous.filter(|p| p.schema > built_for) {
            schema = previous.schema;
            breaking.extend(
                previous
                    .breaking
                    .iter()
                    .filter(|(v, _)| *v > built_for)
                    .cloned(),
            );
        }
        Record {
            tag: tag.to_owned(),
            images,
            schema,
            requires_schema: built_for,
            breaking,
            deployed_at: from.deployed_at,
            commit: from.commit,
            subject: from.subject,
            deployed_by: from.deployed_by,
            how: "deploy".to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the release history is not what this tool writes: {0}")]
    Malformed(String),
}

//! What Kubernetes objects' JSON (`kubectl get -o json`) says, for a deploy that waits on
//! them, and rendered manifests read as documents (`manifest`). Pure functions over `serde_json::Value`: missing fields read as the defaults
//! Kubernetes gives them, so a half-written status is never an error.

mod job;
pub mod manifest;
mod pods;
mod workloads;

pub use job::JobState;
pub use pods::{Problem, problems, pull_failure, recent_events, running};
pub use workloads::{
    cnpg_readiness, hpa_target, images_of, readiness_probe, selector_of, server_version,
};

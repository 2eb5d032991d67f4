//! What real prod deploys need of the cluster. They run against the recording fake
//! cluster: one that succeeds, one whose migration fails, the same again (the failed Job
//! is deleted and rerun), and one whose migration image cannot be pulled; each recorded
//! kubectl call becomes its API requests (kubectl.rs). Writing and binding the Roles they
//! apply needs more: every permission those Roles grant.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::Role;
use serde_json::Value;

use super::{
    kubectl::{self, Existing},
    rbac::Request,
};
use crate::common::{
    self, Manifests, REGISTRY, TAG,
    tools::{Kubectl, Tools},
};

/// The context the deploys name: not a local cluster's, as in CI.
pub const CONTEXT: &str = "gke-fake";

/// Every distinct request the deploys made, with the first call that made it, and every
/// object they applied.
pub struct Recorded {
    pub requests: BTreeMap<Request, String>,
    pub applied: Vec<Value>,
}

/// Runs the deploys; `existing` exists before them (never created by a deploy).
pub fn record(existing: &Existing) -> Recorded {
    let mut requests = BTreeMap::new();
    let mut applied = Vec::new();
    // One after the other: every deploy writes target/deploy/prod.
    for (outcome, runs) in [
        // Two releases, then a rollback to the first.
        ("Complete", 2),
        ("Failed", 2),
        ("ImagePullBackOff", 1),
        ("RolloutPullBackOff", 1),
    ] {
        let tools = Tools::new(Kubectl::FakeCluster {
            job_outcome: outcome,
        });
        if outcome == "Complete" {
            // As prod's restore procedure leaves it: the deploy scales it back up.
            tools.set_replicas("api", 0);
        }
        for run in 1..=runs {
            let tag = if outcome == "Complete" && run == 2 {
                "second-release"
            } else {
                TAG
            };
            let out = tools.run(&deploy_args(tag), None);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let succeeded = outcome == "Complete";
            assert_eq!(
                out.status.success(),
                succeeded,
                "{outcome}, run {run}:\n{stderr}"
            );
        }
        if outcome == "Complete" {
            for args in [
                &["releases", "prod", "--context", CONTEXT][..],
                &["rollback", "prod", "--context", CONTEXT, "--yes"],
            ] {
                let out = tools.run(args, None);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success(), "{args:?}:\n{stderr}");
            }
            // A release that crashes: reported (events, logs, readiness) and undone.
            tools.set_outcome("RolloutCrashLoop");
            let out = tools.run(&deploy_args("third-release"), None);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("is back and serving"), "{stderr}");
        }
        let mut files = tools.applied().into_iter();
        for call in tools.calls() {
            assert!(call.starts_with("kubectl "), "--no-build ran {call}");
            let file = call.contains(" apply ").then(|| {
                let (name, text) = files.next().expect("a copy of each applied file");
                assert!(
                    call.ends_with(&name[5..]),
                    "{name} was applied by `{call}`?"
                );
                applied.extend(common::yaml_values(&text));
                text
            });
            for request in kubectl::requests(&call, file.as_deref(), existing) {
                requests.entry(request).or_insert_with(|| call.clone());
            }
        }
        assert!(files.next().is_none(), "a file applied by no recorded call");
    }
    Recorded { requests, applied }
}

/// What writing and binding the applied Roles needs (granted_by), and why.
pub fn held_for_granting(applied: &[Value]) -> BTreeMap<Request, String> {
    let applied = Manifests::from_values("applied", applied.to_vec()).expect("applied objects");
    let mut out = BTreeMap::new();
    let role_named = |name: &str, ns: &Option<String>| {
        let mut roles = applied.roles();
        roles.find(|r| r.metadata.name.as_deref() == Some(name) && r.metadata.namespace == *ns)
    };
    for role in applied.roles() {
        let why = format!(
            "writing Role {}",
            role.metadata.name.as_deref().unwrap_or_default()
        );
        out.extend(granted_by(role).into_iter().map(|r| (r, why.clone())));
    }
    for binding in applied.role_bindings() {
        let name = &binding.role_ref.name;
        assert_eq!(
            binding.role_ref.kind, "Role",
            "binding a ClusterRole is not modelled"
        );
        let role = role_named(name, &binding.metadata.namespace).unwrap_or_else(|| {
            panic!("a RoleBinding to Role {name}, which the deploy does not apply")
        });
        let why = format!("binding Role {name}");
        out.extend(granted_by(role).into_iter().map(|r| (r, why.clone())));
    }
    out
}

/// Every request a Role's rules allow, one per verb, group, resource and name (any name
/// where it lists none), in its namespace: what RBAC's escalation check asks of whoever
/// writes that Role or binds it, short of `escalate` and `bind`.
pub fn granted_by(role: &Role) -> Vec<Request> {
    let ns = role.metadata.namespace.as_deref();
    let mut out = Vec::new();
    for rule in role.rules.iter().flatten() {
        let names: Vec<Option<&str>> = match rule.resource_names.as_deref() {
            None | Some([]) => vec![None],
            Some(names) => names.iter().map(|n| Some(n.as_str())).collect(),
        };
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                for verb in &rule.verbs {
                    out.extend(
                        names
                            .iter()
                            .map(|name| Request::resource(verb, group, resource, ns, *name)),
                    );
                }
            }
        }
    }
    out
}

/// `cargo xtask deploy prod` of images already pushed under `tag`.
fn deploy_args(tag: &str) -> [&str; 12] {
    [
        "deploy",
        "prod",
        "--context",
        CONTEXT,
        "--yes",
        "--no-build",
        "--tag",
        tag,
        "--registry",
        REGISTRY,
        // What the deployer applies for the optional monitoring too.
        "--with",
        "monitoring",
    ]
}

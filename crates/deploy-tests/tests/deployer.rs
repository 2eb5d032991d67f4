//! The identity CI deploys prod with (deploy/deployer) may make every request a real
//! `cargo xtask deploy prod` makes, and holds nothing that none of them needs.
//!
//! Real deploys run against the recording fake cluster (deployer/deploys.rs), each kubectl
//! call becomes the API requests kubectl makes for it (deployer/kubectl.rs), and each request
//! is decided by Kubernetes' RBAC rules (deployer/rbac.rs) over the rendered
//! `kubectl kustomize deploy/deployer`.

mod common;
#[path = "deployer/deploys.rs"]
mod deploys;
#[path = "deployer/kubectl.rs"]
mod kubectl;
#[path = "deployer/rbac.rs"]
mod rbac;

use std::{collections::BTreeMap, process::Command, sync::OnceLock};

use common::{Manifests, TAG};
use rbac::{Policy, Request, User};

/// `kubectl kustomize deploy/deployer`, every document read losslessly into its type.
fn deployer() -> &'static Manifests {
    static CELL: OnceLock<Manifests> = OnceLock::new();
    CELL.get_or_init(|| {
        let dir = common::root().join("deploy/deployer");
        let output = Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .expect("kubectl renders deploy/deployer (kustomize is built in)");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "kubectl kustomize {}: {stderr}",
            dir.display()
        );
        let text = String::from_utf8(output.stdout).expect("UTF-8 manifests");
        Manifests::parse("deployer", &text).unwrap_or_else(|e| panic!("deploy/deployer: {e}"))
    })
}

/// The deployer's roles and bindings, without the cluster's built-in ones.
fn deployer_policy() -> Policy {
    let m = deployer();
    Policy {
        roles: m.roles().cloned().collect(),
        cluster_roles: m.cluster_roles().cloned().collect(),
        role_bindings: m.role_bindings().cloned().collect(),
        cluster_role_bindings: m.cluster_role_bindings().cloned().collect(),
    }
}

/// The one ServiceAccount of deploy/deployer, as its token authenticates.
fn deployer_user() -> User {
    let accounts: Vec<_> = deployer().service_accounts().collect();
    assert_eq!(accounts.len(), 1, "deploy/deployer has one ServiceAccount");
    let meta = &accounts[0].metadata;
    User::service_account(
        meta.namespace
            .as_deref()
            .expect("the ServiceAccount's namespace"),
        meta.name.as_deref().expect("the ServiceAccount's name"),
    )
}

/// The requests of real prod deploys (deployer/deploys.rs), made once per test process.
fn recorded() -> &'static deploys::Recorded {
    static CELL: OnceLock<deploys::Recorded> = OnceLock::new();
    // What deploy/deployer makes exists before the first deploy.
    let existing = || {
        deployer()
            .values()
            .iter()
            .map(|v| kubectl::id_of(v, None))
            .collect()
    };
    CELL.get_or_init(|| deploys::record(&existing()))
}

/// Everything the deployer must be allowed: the requests, and what granting needs.
fn required() -> BTreeMap<Request, String> {
    let recorded = recorded();
    let mut all = deploys::held_for_granting(&recorded.applied);
    all.extend(recorded.requests.clone());
    all
}

/// `verb` on `resource.group` (`pods/log`: a core subresource).
fn on(verb: &str, resource: &str, ns: Option<&str>, name: Option<&str>) -> Request {
    let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
    Request::resource(verb, group, resource, ns, name)
}

/// Every required request the policy forbids `user`, with why it is required.
fn denied(policy: &Policy, user: &User) -> Vec<String> {
    required()
        .iter()
        .filter(|(request, _)| !policy.allows(user, request))
        .map(|(request, call)| format!("  {request}\n      for `{call}`"))
        .collect()
}

#[test]
fn the_deployer_may_make_every_request_of_a_prod_deploy() {
    let denied = denied(
        &deployer_policy().with_bootstrap_discovery(),
        &deployer_user(),
    );
    assert!(
        denied.is_empty(),
        "deploy/deployer forbids {} request(s) of `cargo xtask deploy prod`:\n{}",
        denied.len(),
        denied.join("\n")
    );
}

#[test]
fn every_verb_resource_and_name_of_the_deployer_is_needed() {
    let user = deployer_user();
    let unneeded: Vec<String> = deployer_policy()
        .narrowed()
        .into_iter()
        .filter(|(_, narrower)| {
            denied(&narrower.clone().with_bootstrap_discovery(), &user).is_empty()
        })
        .map(|(what, _)| format!("  {what}"))
        .collect();
    assert!(
        unneeded.is_empty(),
        "deploy/deployer grants what no request of a prod deploy needs (remove it):\n{}",
        unneeded.join("\n")
    );
}

#[test]
fn the_deployer_names_no_wildcard_and_lists_no_secrets_beyond_randoms() {
    let policy = deployer_policy();
    for (rule_name, rule) in policy.rules() {
        let text = serde_json::to_string(rule).expect("a rule as JSON");
        assert!(!text.contains('*'), "{rule_name}: a wildcard in {text}");
        for verb in ["escalate", "bind", "impersonate"] {
            assert!(!rule.verbs.iter().any(|v| v == verb), "{rule_name}: {verb}");
        }
        // A ClusterRole may be bound in any namespace, or everywhere.
        let secrets = rule
            .resources
            .iter()
            .flatten()
            .any(|r| r.starts_with("secrets"));
        assert!(
            !(rule_name.starts_with("ClusterRole/") && secrets),
            "{rule_name}: Secrets"
        );
    }
    let (policy, user) = (policy.with_bootstrap_discovery(), deployer_user());
    for namespace in [
        None,
        Some("kube-system"),
        Some("randoms-deployer"),
        Some("default"),
    ] {
        for verb in ["list", "watch"] {
            let request = on(verb, "secrets", namespace, None);
            assert!(!policy.allows(&user, &request), "allowed: {request}");
        }
    }
}

/// The checks above cannot pass by checking nothing: the deploys asked for the things that
/// matter, and the checker denies what the rules do not grant.
#[test]
fn the_checker_sees_the_deploy_and_denies_what_the_rules_lack() {
    let job = format!("migrate-{TAG}");
    let ns = Some("randoms");
    let requests = &recorded().requests;
    let expected = [
        on("patch", "deployments.apps", ns, Some("api")),
        on("watch", "deployments.apps", ns, Some("web")),
        on("create", "jobs.batch", ns, Some(&job)),
        on("delete", "jobs.batch", ns, Some(&job)),
        on("patch", "clusters.postgresql.cnpg.io", ns, Some("postgres")),
        on("get", "clusters.postgresql.cnpg.io", ns, Some("postgres")),
        on(
            "create",
            "roles.rbac.authorization.k8s.io",
            ns,
            Some("developer"),
        ),
        on("list", "pods", ns, None),
        on("get", "pods/log", ns, None),
        on("patch", "namespaces", None, Some("randoms")),
        on(
            "get",
            "clusterissuers.cert-manager.io",
            None,
            Some("letsencrypt-prod"),
        ),
        Request::non_resource("/version"),
    ];
    for request in &expected {
        assert!(
            requests.contains_key(request),
            "the deploys never asked: {request}"
        );
    }
    assert!(
        !deploys::held_for_granting(&recorded().applied).is_empty(),
        "no Role was applied"
    );

    let (policy, user) = (
        deployer_policy().with_bootstrap_discovery(),
        deployer_user(),
    );
    let forbidden = [
        on("delete", "namespaces", None, Some("randoms")),
        on("create", "namespaces", None, Some("randoms")),
        on("get", "namespaces", None, Some("kube-system")),
        on(
            "patch",
            "clusters.postgresql.cnpg.io",
            Some("kube-system"),
            Some("postgres"),
        ),
        on("patch", "clusters.postgresql.cnpg.io", ns, Some("other")),
        // Its own Role and binding: the deployer cannot widen its rights.
        on(
            "patch",
            "roles.rbac.authorization.k8s.io",
            ns,
            Some("deployer"),
        ),
        on("create", "rolebindings.rbac.authorization.k8s.io", ns, None),
        on("get", "secrets", ns, Some("postgres-app")),
        on("create", "pods/exec", ns, None),
        Request::non_resource("/metrics"),
    ];
    for request in &forbidden {
        assert!(!policy.allows(&user, request), "allowed: {request}");
    }
    // Someone else, and the deployer without its RoleBinding, may do nothing in randoms.
    let deployment = &expected[0];
    assert!(!policy.allows(&User::service_account("randoms", "deployer"), deployment));
    let mut unbound = deployer_policy().with_bootstrap_discovery();
    unbound.role_bindings.clear();
    assert!(
        !unbound.allows(&user, deployment),
        "allowed without the RoleBinding"
    );
}

/// deploy/deployer creates namespace randoms so that its RoleBinding has a home: exactly as
/// the prod overlay declares it. The ServiceAccount lives elsewhere, out of reach of whoever
/// may run pods in randoms.
#[test]
fn the_deployer_makes_the_prod_namespace_as_prod_declares_it() {
    let prod = common::rendered("prod");
    let ns = prod.namespace();
    let declared = prod
        .objects
        .iter()
        .find(|o| o.kind == "Namespace")
        .expect("prod's Namespace");
    let ours = deployer()
        .objects
        .iter()
        .find(|o| o.kind == "Namespace" && o.name == ns)
        .unwrap_or_else(|| panic!("deploy/deployer makes no Namespace {ns}"));
    assert_eq!(
        ours.value, declared.value,
        "Namespace {ns} differs from the prod overlay's"
    );
    for binding in deployer().role_bindings() {
        assert_eq!(
            binding.metadata.namespace.as_deref(),
            Some(ns),
            "a RoleBinding outside {ns}"
        );
    }
    for account in deployer().service_accounts() {
        assert_ne!(
            account.metadata.namespace.as_deref(),
            Some(ns),
            "the deployer lives in {ns}, where whoever may create pods could run one as it"
        );
    }
}

//! A real `cargo xtask deploy` (images not built: `--no-build`) against a fake cluster that
//! records every kubectl call: the database is waited for before the migration, the
//! migration must succeed before any Deployment is applied, and a failed migration shows
//! its logs and stops with the Deployments untouched.

mod common;

use common::{
    REGISTRY, TAG,
    tools::{Kubectl, Tools},
};

/// `cargo xtask deploy prod` on the fake cluster `gke-fake`, of images already pushed.
const PROD: [&str; 10] = [
    "deploy",
    "prod",
    "--context",
    "gke-fake",
    "--yes",
    "--no-build",
    "--tag",
    TAG,
    "--registry",
    REGISTRY,
];

/// The calls that reached the cluster (rendering and the kubeconfig are local).
fn cluster_calls(tools: &Tools, context: &str) -> Vec<String> {
    let prefix = format!("kubectl --context {context} ");
    tools
        .calls()
        .into_iter()
        .filter(|c| !c.starts_with("kubectl kustomize ") && !c.starts_with("kubectl config "))
        .map(|c| {
            c.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("a call without --context {context}: {c}"))
                .to_owned()
        })
        .collect()
}

/// Index of the first call containing every part.
fn first(calls: &[String], parts: &[&str]) -> usize {
    calls
        .iter()
        .position(|c| parts.iter().all(|p| c.contains(p)))
        .unwrap_or_else(|| panic!("no call with {parts:?} in:\n{}", calls.join("\n")))
}

/// `cargo xtask deploy dev --no-build` on a fake kind cluster whose Job ends in `outcome`.
fn deploy_dev_on_a_fake_cluster(outcome: &'static str) -> (Tools, std::process::Output) {
    let tools = Tools::new(Kubectl::FakeCluster {
        job_outcome: outcome,
    });
    let args = [
        "deploy",
        "dev",
        "--context",
        "kind-fake",
        "--no-build",
        "--tag",
        TAG,
    ];
    let out = tools.run(&args, None);
    (tools, out)
}

#[test]
fn dev_waits_for_the_database_then_migrates_then_rolls_out() {
    let (tools, out) = deploy_dev_on_a_fake_cluster("Complete");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let calls = cluster_calls(&tools, "kind-fake");
    let job = format!("migrate-{TAG}");
    let order = [
        first(&calls, &["version"]),
        first(&calls, &["api-versions"]),
        first(&calls, &["apply --server-side", "1-foundation.yaml"]),
        first(&calls, &["rollout status statefulset/postgres"]),
        first(&calls, &["get job", &job]),
        first(&calls, &["apply --server-side", "2-migration.yaml"]),
        first(&calls, &["apply --server-side", "3-workloads.yaml"]),
        first(&calls, &["rollout status deployment/api"]),
        first(&calls, &["rollout status deployment/web"]),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "out of order:\n{}",
        calls.join("\n")
    );
    // The migration was seen complete between its apply and the Deployments' apply.
    let migrated = calls.iter().rposition(|c| c.contains("get job")).unwrap();
    assert!(order[5] < migrated && migrated < order[6]);
    assert!(
        calls
            .iter()
            .all(|c| !c.contains("rollout status deployment") || c.contains("--timeout=300s")),
        "rollouts wait with a timeout"
    );
    assert!(
        stderr.contains("port-forward svc/web 8080:8080"),
        "{stderr}"
    );
    // Verified through port-forwards after the rollouts, before the release is recorded.
    assert!(
        stderr.contains(
            "xtask: verified: 1 api pod(s) ready, GET /randoms lists 1, the page and its config name http://localhost:3080"
        ),
        "{stderr}"
    );
    let web_rolled = first(&calls, &["rollout status deployment/web"]);
    let recorded = first(&calls, &["apply --server-side", "4-release-history.json"]);
    for target in [
        "port-forward pod/api-new-1 ",
        "port-forward svc/api ",
        "port-forward svc/web ",
    ] {
        let at = first(&calls, &[target]);
        assert!(web_rolled < at && at < recorded, "{target}: {calls:#?}");
    }
    // Nothing was built or loaded.
    assert!(tools.calls().iter().all(|c| c.starts_with("kubectl ")));
}

#[test]
fn a_failed_migration_prints_its_logs_and_leaves_the_deployments_alone() {
    let (tools, out) = deploy_dev_on_a_fake_cluster("Failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("migration Job migrate-{TAG} failed")),
        "{stderr}"
    );
    assert!(stderr.contains("Nothing was rolled out"), "{stderr}");
    assert!(
        stdout.contains("fake failure"),
        "the Job's logs are shown: {stdout}"
    );
    let calls = cluster_calls(&tools, "kind-fake");
    first(
        &calls,
        &[
            "logs",
            &format!("batch.kubernetes.io/job-name=migrate-{TAG}"),
        ],
    );
    for call in &calls {
        assert!(
            !call.contains("3-workloads.yaml") && !call.contains("deployment/"),
            "the Deployments were touched after a failed migration: {call}"
        );
    }
}

#[test]
fn prod_waits_for_cloudnativepg_and_checks_the_certificate_issuer() {
    let tools = Tools::new(Kubectl::FakeCluster {
        job_outcome: "Complete",
    });
    let out = tools.run(&PROD, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let calls = cluster_calls(&tools, "gke-fake");
    let issuer = first(&calls, &["get clusterissuer letsencrypt-prod"]);
    let foundation = first(&calls, &["apply --server-side", "1-foundation.yaml"]);
    // A ready primary is what the migration needs (not all three instances Ready).
    let database = first(
        &calls,
        &["get cluster.postgresql.cnpg.io/postgres --output=json"],
    );
    let migration = first(&calls, &["apply --server-side", "2-migration.yaml"]);
    let workloads = first(&calls, &["apply --server-side", "3-workloads.yaml"]);
    assert!(
        issuer < foundation
            && foundation < database
            && database < migration
            && migration < workloads
    );
    assert!(stderr.contains("https://randoms.example.com/"), "{stderr}");
}

/// prod's restore procedure leaves the API at 0 replicas, where its HPA never scales it up
/// from: the deploy scales it to the HPA's minimum, after applying it, and says so.
#[test]
fn a_deployment_left_at_zero_under_an_hpa_is_scaled_to_its_minimum() {
    let tools = Tools::new(Kubectl::FakeCluster {
        job_outcome: "Complete",
    });
    tools.set_replicas("api", 0);
    let out = tools.run(&PROD, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let calls = cluster_calls(&tools, "gke-fake");
    let workloads = first(&calls, &["apply --server-side", "3-workloads.yaml"]);
    let scale = first(&calls, &["scale deployment/api --replicas=3"]);
    let rollout = first(&calls, &["rollout status deployment/api"]);
    assert!(workloads < scale && scale < rollout, "{calls:#?}");
    assert!(stderr.contains("minReplicas, 3"), "{stderr}");
    assert!(!calls.iter().any(|c| c.contains("scale deployment/web")));
}

/// An image the cluster cannot pull (a private registry without `--pull-secret`) is named
/// at the first look at the Job, not after its deadline, with the way out.
#[test]
fn an_image_the_cluster_cannot_pull_stops_the_deploy_at_once() {
    let (tools, out) = deploy_dev_on_a_fake_cluster("ImagePullBackOff");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot pull") && stderr.contains("pull access denied"),
        "{stderr}"
    );
    assert!(stderr.contains("--pull-secret"), "{stderr}");
    assert!(!stderr.contains("did not finish within"), "{stderr}");
    for call in cluster_calls(&tools, "kind-fake") {
        assert!(
            !call.contains("3-workloads.yaml"),
            "the Deployments were applied: {call}"
        );
    }
}

/// A new api pod that cannot pull its image stops the rollout wait within seconds (the
/// previous pods keep serving), with the way out; web is not waited for.
#[test]
fn a_deployment_whose_image_cannot_be_pulled_stops_the_rollout_at_once() {
    let (tools, out) = deploy_dev_on_a_fake_cluster("RolloutPullBackOff");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("a new pod of deployment/api is stuck: the cluster cannot pull")
            && stderr.contains("pull access denied")
            && stderr.contains("--pull-secret"),
        "{stderr}"
    );
    // Waited out, the fake's `rollout status` would end well after 300 s, and the deploy
    // would succeed. With no earlier release recorded, nothing is put back.
    assert!(
        stderr.contains("no earlier release is recorded"),
        "{stderr}"
    );
    let calls = cluster_calls(&tools, "kind-fake");
    first(&calls, &["rollout status deployment/api"]);
    first(&calls, &["get pods --selector", "--output=json"]);
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("rollout status deployment/web")),
        "{calls:#?}"
    );
}

/// Docker Desktop's cluster runs docker's images: they are built with docker even though
/// podman is on PATH too (both are recording fakes here, and docker answers nothing).
#[test]
fn a_shared_engine_cluster_builds_with_docker() {
    let tools = Tools::new(Kubectl::FakeCluster {
        job_outcome: "Complete",
    });
    let args = ["deploy", "dev", "--context", "docker-desktop", "--tag", TAG];
    let out = tools.run(&args, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the fake docker cannot build: {stderr}"
    );
    assert!(stderr.contains("--engine docker"), "{stderr}");
    let calls = tools.calls();
    assert!(calls.iter().any(|c| c == "docker version"), "{calls:#?}");
    assert!(!calls.iter().any(|c| c.starts_with("podman")), "{calls:#?}");
    assert!(
        !calls.iter().any(|c| c.contains(" apply ")),
        "applied without images: {calls:#?}"
    );
}

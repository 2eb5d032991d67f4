//! `cargo xtask deploy` without a cluster: the dry run plans the right images, Job and
//! rollouts in the right order and touches nothing (kubectl, the container engines and the
//! cluster loaders are wrapped to record every call); the refusals come before any call
//! to a cluster.

mod common;

use std::path::Path;

use common::{
    REGISTRY, TAG,
    tools::{Kubectl, Tools as Recorder},
};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The numbered plan lines, by step number.
fn step(plan: &str, n: u8) -> &str {
    plan.lines()
        .find(|l| l.trim_start().starts_with(&format!("{n}. ")))
        .unwrap_or_else(|| panic!("no step {n} in:\n{plan}"))
}

#[test]
fn dev_dry_run_plans_images_then_database_then_migration_then_rollouts() {
    let rec = Recorder::new(Kubectl::Real);
    let kubeconfig = rec.kubeconfig("kind-randoms");
    let out = rec.run(
        &["deploy", "dev", "--dry-run", "--tag", TAG],
        Some(&kubeconfig),
    );
    let plan = text(&out.stderr);
    assert!(out.status.success(), "{plan}");
    rec.assert_touched_nothing();

    // The manifests on stdout are the pinned render.
    let manifests = common::Manifests::parse("dev", &text(&out.stdout)).expect("manifests");
    assert_eq!(
        manifests
            .jobs()
            .next()
            .and_then(|j| j.metadata.name.clone()),
        Some(format!("migrate-{TAG}"))
    );

    assert!(
        plan.contains("context kind-randoms (local kind cluster \"randoms\")"),
        "{plan}"
    );
    let images: Vec<&str> = plan
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("localhost/randoms/"))
        .collect();
    assert_eq!(
        images,
        [
            format!("localhost/randoms/api:{TAG}"),
            format!("localhost/randoms/migrator:{TAG}"),
            format!("localhost/randoms/web:{TAG}"),
        ]
    );
    assert!(step(&plan, 1).contains("load them into kind cluster \"randoms\""));
    let foundation = step(&plan, 2);
    for present in [
        "Namespace/randoms-dev",
        "StatefulSet/postgres",
        "Service/api",
        "NetworkPolicy/",
    ] {
        assert!(
            foundation.contains(present),
            "step 2 lacks {present}: {foundation}"
        );
    }
    let objects: Vec<&str> = foundation
        .split_once(": ")
        .map(|(_, list)| list.split(", ").collect())
        .unwrap_or_default();
    for absent in ["Deployment/", "Job/"] {
        assert!(
            !objects.iter().any(|o| o.starts_with(absent)),
            "step 2 applies a {absent} too early: {foundation}"
        );
    }
    assert!(step(&plan, 3).contains("statefulset/postgres"));
    assert!(step(&plan, 4).contains(&format!("Job migrate-{TAG}")));
    assert!(step(&plan, 4).contains("print its logs and stop"));
    assert!(step(&plan, 5).contains("Deployment/api, Deployment/web"));
    assert!(step(&plan, 6).contains("deployment/api, deployment/web"));
    assert!(step(&plan, 7).contains("ConfigMap releases"));
    assert!(step(&plan, 8).contains("port-forward svc/web 8080"));
    let order: Vec<usize> = (1..=7)
        .map(|n| plan.find(step(&plan, n)).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "steps out of order:\n{plan}"
    );
    assert!(plan.contains("nothing was built, no cluster was contacted"));

    // The three phase files a real run applies hold exactly the rendered objects.
    let dir = plan
        .lines()
        .find_map(|l| l.trim().strip_prefix("manifests: "))
        .expect("the plan names its directory");
    let mut phases = Vec::new();
    for file in ["1-foundation.yaml", "2-migration.yaml", "3-workloads.yaml"] {
        let text = std::fs::read_to_string(Path::new(dir).join(file)).expect(file);
        phases.extend(common::yaml_values(&text));
    }
    let key = |v: &serde_json::Value| (v["kind"].to_string(), v["metadata"]["name"].to_string());
    let mut rendered = manifests.values();
    rendered.sort_by_key(key);
    phases.sort_by_key(key);
    assert_eq!(
        phases, rendered,
        "the phases are not the rendered manifests"
    );
}

#[test]
fn prod_dry_run_waits_for_cloudnativepg_and_says_what_a_real_run_needs() {
    let rec = Recorder::new(Kubectl::Real);
    let out = rec.run(
        &[
            "deploy",
            "prod",
            "--dry-run",
            "--tag",
            TAG,
            "--context",
            "gke_acme_prod",
            "--registry",
            REGISTRY,
        ],
        None,
    );
    let plan = text(&out.stderr);
    assert!(out.status.success(), "{plan}");
    rec.assert_touched_nothing();
    assert!(step(&plan, 1).contains(&format!("push them to {REGISTRY}")));
    assert!(step(&plan, 3).contains("cluster.postgresql.cnpg.io/postgres"));
    assert!(step(&plan, 5).contains("HorizontalPodAutoscaler/api"));
    assert!(step(&plan, 8).contains("https://randoms.example.com/"));
    assert!(plan.contains("without --yes"), "{plan}");
}

/// Each refusal is one line naming the flag that decides, and nothing ran before it.
#[test]
fn unsafe_deploys_are_refused_before_anything_runs() {
    let rec = Recorder::new(Kubectl::Real);
    let remote = rec.kubeconfig("gke_acme_prod");
    for (args, kubeconfig, says) in [
        (
            vec!["deploy", "prod", "--registry", REGISTRY, "--tag", TAG],
            Some(remote.as_path()),
            "--context",
        ),
        (
            vec![
                "deploy",
                "prod",
                "--context",
                "gke_acme_prod",
                "--registry",
                REGISTRY,
                "--tag",
                TAG,
            ],
            None,
            "--yes",
        ),
        (
            vec!["deploy", "dev", "--registry", REGISTRY, "--tag", TAG],
            Some(remote.as_path()),
            "not a local cluster",
        ),
        (
            vec![
                "deploy",
                "dev",
                "--context",
                "gke_acme_prod",
                "--yes",
                "--tag",
                TAG,
            ],
            None,
            "--registry",
        ),
        (
            vec![
                "deploy",
                "dev",
                "--context",
                "orbstack",
                "--engine",
                "podman",
                "--tag",
                TAG,
            ],
            None,
            "--engine podman",
        ),
        (vec!["render", "prod", "--tag", TAG], None, "--registry"),
        (vec!["render", "dev", "--tag", "not/a/tag"], None, "--tag"),
    ] {
        let out = rec.run(&args, kubeconfig);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} was not refused");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{args:?}: one line expected:\n{stderr}"
        );
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    rec.assert_touched_nothing();
}

/// An empty context (an unset CI variable, say) is a mistake, not "the current one".
#[test]
fn an_empty_context_is_refused_naming_the_flag() {
    let rec = Recorder::new(Kubectl::Real);
    let kubeconfig = rec.kubeconfig("kind-randoms");
    for env in ["dev", "prod"] {
        let args = [
            "deploy",
            env,
            "--context",
            "",
            "--registry",
            REGISTRY,
            "--yes",
        ];
        let out = rec.run(&args, Some(&kubeconfig));
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} was not refused");
        assert!(stderr.contains("--context"), "{args:?}: {stderr}");
    }
    rec.assert_touched_nothing();
}

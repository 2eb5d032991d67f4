//! The release history and `cargo xtask rollback` against the fake cluster: each deploy
//! records its release, `releases` lists them with the live one marked, a rollback puts the
//! previous release's images back without its migrator and records itself, and one across
//! a breaking migration is refused, naming it, before anything changes.

mod common;

use common::{
    REGISTRY,
    tools::{Kubectl, Tools},
};

const CONTEXT: &str = "gke-fake";

fn run(tools: &Tools, args: &[&str]) -> (bool, String, String) {
    let mut all = args.to_vec();
    all.extend(["--context", CONTEXT]);
    let out = tools.run(&all, None);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// `cargo xtask deploy prod` of images already pushed under `tag`.
fn deploy_args(tag: &str) -> [&str; 8] {
    [
        "deploy",
        "prod",
        "--yes",
        "--no-build",
        "--tag",
        tag,
        "--registry",
        REGISTRY,
    ]
}

fn deploy(tools: &Tools, tag: &str) {
    let (ok, _, stderr) = run(tools, &deploy_args(tag));
    assert!(ok, "deploy {tag}: {stderr}");
}

/// The releases table's rows: (live, tag, how).
fn rows(table: &str) -> Vec<(bool, String, String)> {
    table
        .lines()
        .skip(1)
        .map(|l| {
            let words: Vec<&str> = l[2..].split_whitespace().collect();
            let how = if l.contains("rollback from") {
                "rollback"
            } else {
                "deploy"
            };
            (l.starts_with('*'), words[0].to_owned(), how.to_owned())
        })
        .collect()
}

#[test]
fn deploys_are_recorded_and_a_rollback_puts_the_previous_images_back() {
    let tools = Tools::new(Kubectl::FakeCluster {
        job_outcome: "Complete",
    });
    deploy(&tools, "aaaa11112222");
    deploy(&tools, "bbbb33334444");
    let (ok, table, stderr) = run(&tools, &["releases", "prod"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        rows(&table),
        [
            (true, "bbbb33334444".into(), "deploy".into()),
            (false, "aaaa11112222".into(), "deploy".into())
        ],
        "{table}"
    );

    let before = tools.calls().len();
    let (ok, _, stderr) = run(&tools, &["rollback", "prod", "--yes"]);
    assert!(ok, "{stderr}");
    // Verified as a deploy is, before it is recorded.
    assert!(
        stderr.contains("xtask: verified: 1 api pod(s) ready"),
        "{stderr}"
    );
    let calls = tools.calls()[before..].to_vec();
    for name in ["api", "web"] {
        let set = format!("set image deployment/{name} {name}={REGISTRY}/{name}:aaaa11112222");
        assert!(
            calls.iter().any(|c| c.contains(&set)),
            "{set} in {calls:#?}"
        );
        assert!(
            calls
                .iter()
                .any(|c| c.contains(&format!("rollout status deployment/{name}")))
        );
    }
    assert!(
        !calls.iter().any(|c| c.contains("migration")),
        "ran a migration: {calls:#?}"
    );
    let (_, table, _) = run(&tools, &["releases", "prod"]);
    assert_eq!(
        rows(&table)[0],
        (true, "aaaa11112222".into(), "rollback".into()),
        "{table}"
    );

    // The rollback's own tag is refused as a target, and an unknown one is named.
    let (ok, _, stderr) = run(
        &tools,
        &["rollback", "prod", "--yes", "--to", "aaaa11112222"],
    );
    assert!(!ok && stderr.contains("is the live one"), "{stderr}");
    let (ok, _, stderr) = run(&tools, &["rollback", "prod", "--yes", "--to", "nope"]);
    assert!(
        !ok && stderr.contains("--to nope") && stderr.contains("bbbb33334444"),
        "{stderr}"
    );
    // prod without --yes is refused before anything.
    let (ok, _, stderr) = run(&tools, &["rollback", "prod"]);
    assert!(!ok && stderr.contains("--yes"), "{stderr}");
}

#[test]
fn a_rollback_across_a_breaking_migration_is_refused_naming_it() {
    let tools = Tools::new(Kubectl::FakeCluster {
        job_outcome: "Complete",
    });
    let image = |c: &str, tag: &str| format!("{REGISTRY}/{c}:{tag}");
    let record = |tag: &str, schema: i32, breaking: Vec<(i32, String)>| releases::Record {
        tag: tag.to_owned(),
        images: ["api", "migrator", "web"]
            .map(|c| (c.to_owned(), image(c, tag)))
            .into(),
        schema,
        requires_schema: schema,
        breaking,
        deployed_at: "2026-12-01T10:00:00Z".into(),
        commit: "c".repeat(40),
        subject: "a release".into(),
        deployed_by: "test".into(),
        how: "deploy".into(),
    };
    let mut history = releases::History::default();
    history.push(record("old", 3, vec![]));
    let dropped = "V4__drop_name: drops column name".to_owned();
    history.push(record("new", 4, vec![(4, dropped)]));
    let configmap = history.to_configmap("randoms").expect("a ConfigMap");
    tools.set_history(
        &configmap.to_string(),
        &[("api", &image("api", "new")), ("web", &image("web", "new"))],
    );
    let before = tools.calls().len();
    let (ok, _, stderr) = run(&tools, &["rollback", "prod", "--yes"]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("V4__drop_name: drops column name"),
        "{stderr}"
    );
    assert!(stderr.contains("migrator down --target 3"), "{stderr}");
    let calls = &tools.calls()[before..];
    assert!(
        !calls
            .iter()
            .any(|c| c.contains(" set ") || c.contains(" apply ")),
        "{calls:#?}"
    );
}

/// A release whose new api pods crash: the wait stops at once, the report names each failing
/// pod with its events, its last log lines and what its readiness endpoint says, the
/// previous release is put back and waited for, the undo is recorded, and the deploy fails.
#[test]
fn a_failed_rollout_is_reported_and_undone() {
    let tools = Tools::new(Kubectl::FakeCluster {
        job_outcome: "Complete",
    });
    deploy(&tools, "good11112222");
    tools.set_outcome("RolloutCrashLoop");
    let before = tools.calls().len();
    let (ok, _, stderr) = run(&tools, &deploy_args("bad333334444"));
    assert!(!ok, "{stderr}");
    for says in [
        "a new pod of deployment/api is stuck: pod api-new-1 cannot run (CrashLoopBackOff",
        "pod api-new-1 container api: CrashLoopBackOff: back-off 40s; last exit: Error (code 1), 3 restart(s)",
        "event: Warning BackOff: Back-off restarting failed container api (×3)",
        "log: api: error: fake crash",
        "pod api-new-2 container api: NotReady",
        "readiness: {\"status\":\"not ready\",\"reason\":\"fake: the database is unreachable\"}",
        "bad333334444 was not deployed: release good11112222 is back and serving",
    ] {
        assert!(stderr.contains(says), "{says:?} in:\n{stderr}");
    }
    // Serving again: the undone release is verified as a deploy is.
    let undo_at = stderr.find("undo: putting release good11112222 back");
    let verified_at = stderr.rfind("xtask: verified: 1 api pod(s) ready");
    assert!(undo_at.is_some() && undo_at < verified_at, "{stderr}");
    let calls = tools.calls()[before..].to_vec();
    let undo = format!("set image deployment/api api={REGISTRY}/api:good11112222");
    assert!(calls.iter().any(|c| c.contains(&undo)), "{calls:#?}");
    assert!(
        calls
            .iter()
            .any(|c| c.contains("logs api-new-1 --container api --tail=20 --previous"))
    );
    let (_, table, _) = run(&tools, &["releases", "prod"]);
    let newest = table.lines().nth(1).unwrap_or_default();
    assert!(
        newest.starts_with("* good11112222") && newest.contains("undo of failed bad333334444"),
        "{table}"
    );
}

/// Rolled out but not serving (the API answers 404 where it must be ready): the verification
/// fails naming the check and what it got, and the live release is put back.
#[test]
fn a_release_that_fails_its_verification_is_undone() {
    let tools = Tools::new(Kubectl::FakeCluster {
        job_outcome: "Complete",
    });
    deploy(&tools, "good11112222");
    tools.set_outcome("VerifyFails");
    let (ok, _, stderr) = run(&tools, &deploy_args("bad333334444"));
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("/ready: 404"), "{stderr}");
    assert!(
        stderr.contains("release good11112222 is back and serving"),
        "{stderr}"
    );
    let (_, table, _) = run(&tools, &["releases", "prod"]);
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("* good11112222")),
        "{table}"
    );
}

/// Readiness that never passes: the rollout ends at the progress deadline, the report says
/// what the unready pod's readiness endpoint answers, and the live release is put back.
#[test]
fn a_rollout_past_its_progress_deadline_is_reported_and_undone() {
    let tools = Tools::new(Kubectl::FakeCluster {
        job_outcome: "Complete",
    });
    deploy(&tools, "good11112222");
    tools.set_outcome("RolloutDeadline");
    let (ok, _, stderr) = run(&tools, &deploy_args("bad333334444"));
    assert!(!ok, "{stderr}");
    for says in [
        "deployment/api did not roll out",
        "pod api-new-1 container api: NotReady",
        "readiness: {\"status\":\"not ready\"",
        "release good11112222 is back and serving",
    ] {
        assert!(stderr.contains(says), "{says:?} in:\n{stderr}");
    }
}

//! Looking at the pods behind a Job or a Deployment while a deploy waits for them: a pull
//! that fails is known within seconds, where waiting would take the whole deadline.

use serde_json::Value;

use super::{kubectl::Kubectl, manifest::Document};

/// The pods of Job `name`.
pub fn of_job(name: &str) -> String {
    format!("batch.kubernetes.io/job-name={name}")
}

/// The pods of a Deployment, from its `matchLabels`.
pub fn of_deployment(deployment: &Document) -> Option<String> {
    kube_state::selector_of(&deployment.value)
}

/// Why a selected pod cannot get one of `images` (any image when empty), if that is the
/// trouble: pods of an earlier version failing to pull are not this deploy's. Best effort:
/// a failed look is no answer.
pub fn pull_failure(
    kubectl: &Kubectl,
    ns: &str,
    selector: &str,
    images: &[String],
) -> Option<String> {
    let json = kubectl
        .output_in(
            ns,
            &["get", "pods", "--selector", selector, "--output=json"],
        )
        .ok()?;
    let pods: Value = serde_json::from_str(&json).ok()?;
    kube_state::pull_failure(&pods, images)
}

/// What to do about a pull failure.
pub fn pull_advice(ns: &str) -> String {
    format!(
        "If the registry is private, create a docker-registry Secret in namespace {ns} and deploy \
         with --pull-secret NAME (docs/deploy.md, \"Private registries\"); if the image is not \
         there, deploy without --no-build to push it"
    )
}

/// The last lines of every container of the selected pods.
pub fn print_logs(kubectl: &Kubectl, ns: &str, what: &str, selector: &str) {
    eprintln!("xtask: logs of {what}:");
    let logs = [
        "logs",
        "--selector",
        selector,
        "--all-containers",
        "--prefix",
        "--tail=200",
    ];
    if let Err(e) = kubectl.run_in(ns, &logs) {
        eprintln!("xtask: could not read the logs: {e:#}");
    }
}

/// The selected pods, one line each (`get pods -o wide`).
pub fn show(kubectl: &Kubectl, ns: &str, selector: &str) {
    let _ = kubectl.run_in(ns, &["get", "pods", "--selector", selector, "-o", "wide"]);
}

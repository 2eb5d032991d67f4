//! Looking at the pods behind a Job or a Deployment while a deploy waits for them (a pod
//! that cannot pull or start is known within seconds, where waiting would take the whole
//! deadline), and reporting what the failing ones say.

use kube_state::Problem;
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

/// The selected pods' containers running one of `images` (any when empty) that are in
/// trouble. Best effort: a failed look finds nothing.
pub fn problems(kubectl: &Kubectl, ns: &str, selector: &str, images: &[String]) -> Vec<Problem> {
    list(kubectl, ns, selector).map_or_else(Vec::new, |pods| kube_state::problems(&pods, images))
}

/// The selected pods (a PodList), if kubectl answers.
pub fn list(kubectl: &Kubectl, ns: &str, selector: &str) -> Option<Value> {
    let args = ["get", "pods", "--selector", selector, "--output=json"];
    let json = kubectl.output_in(ns, &args).ok()?;
    serde_json::from_str(&json).ok()
}

/// The first container that waiting cannot fix, as one sentence with its way out.
pub fn stuck(kubectl: &Kubectl, ns: &str, selector: &str, images: &[String]) -> Option<String> {
    let pods = list(kubectl, ns, selector)?;
    if let Some(why) = kube_state::pull_failure(&pods, images) {
        let advice = pull_advice(ns);
        return Some(format!("the cluster cannot pull ({why}). {advice}"));
    }
    let problems = kube_state::problems(&pods, images);
    let p = problems.into_iter().find(|p| p.stuck)?;
    Some(format!("pod {} cannot run ({})", p.pod, describe(&p)))
}

fn describe(p: &Problem) -> String {
    let message = if p.message.is_empty() {
        String::new()
    } else {
        format!(": {}", p.message)
    };
    format!("{}{message}, {} restart(s)", p.reason, p.restarts)
}

/// What to do about a pull failure.
pub fn pull_advice(ns: &str) -> String {
    format!(
        "If the registry is private, create a docker-registry Secret in namespace {ns} and deploy \
         with --pull-secret NAME (docs/deploy.md, \"Private registries\"); if the image is not \
         there, deploy without --no-build to push it"
    )
}

/// For each failing container of the Deployment's new pods: its reason, the pod's recent
/// events, its last log lines and, when it is not ready, what its readiness endpoint says.
pub fn report(kubectl: &Kubectl, ns: &str, deployment: &Document) {
    let Some(selector) = of_deployment(deployment) else {
        return;
    };
    let images = kube_state::images_of(&deployment.value);
    let problems = problems(kubectl, ns, &selector, &images);
    if problems.is_empty() {
        eprintln!(
            "xtask: {}: no failing container found",
            deployment.resource()
        );
    }
    for p in &problems {
        let (pod, container) = (&p.pod, &p.container);
        eprintln!("xtask: pod {pod} container {container}: {}", describe(p));
        let field = format!("involvedObject.name={pod}");
        let events = ["get", "events", "--field-selector", &field, "--output=json"];
        let events = kubectl.output_in(ns, &events).ok();
        let events: Option<Value> = events.and_then(|json| serde_json::from_str(&json).ok());
        for event in events.iter().flat_map(|e| kube_state::recent_events(e, 5)) {
            eprintln!("  event: {event}");
        }
        // A crashing container's own last words are in its previous run.
        let mut logs = vec!["logs", &p.pod, "--container", &p.container, "--tail=20"];
        logs.extend((p.restarts > 0).then_some("--previous"));
        if let Ok(text) = kubectl.output_in(ns, &logs) {
            text.lines().for_each(|line| eprintln!("  log: {line}"));
        }
        if p.reason == "NotReady"
            && let Some((path, port)) = kube_state::readiness_probe(&deployment.value, &p.container)
        {
            let path = format!("/api/v1/namespaces/{ns}/pods/{}:{port}/proxy{path}", p.pod);
            match kubectl.output(&["get", "--raw", &path]) {
                Ok(body) => eprintln!("  readiness: {}", body.trim()),
                Err(e) => eprintln!("  readiness: could not ask ({e:#})"),
            }
        }
    }
}

/// The last lines of every container of the selected pods.
pub fn print_logs(kubectl: &Kubectl, ns: &str, what: &str, selector: &str) {
    eprintln!("xtask: logs of {what}:");
    let logs = ["logs", "--selector", selector];
    if let Err(e) = kubectl.run_in(
        ns,
        &[&logs[..], &["--all-containers", "--prefix", "--tail=200"]].concat(),
    ) {
        eprintln!("xtask: could not read the logs: {e:#}");
    }
}

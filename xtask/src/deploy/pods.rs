//! Looking at the pods behind a Job or a Deployment while a deploy waits for them: a pull
//! that fails is known within seconds, where waiting would take the whole deadline.

use serde_json::Value;

use super::{kubectl::Kubectl, manifest::Document};

/// The waiting reasons that mean the image will not come (the kubelet retries forever).
const PULL_ERRORS: [&str; 3] = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"];

/// The pods of Job `name`.
pub fn of_job(name: &str) -> String {
    format!("batch.kubernetes.io/job-name={name}")
}

/// The pods of a Deployment, from its `matchLabels`.
pub fn of_deployment(deployment: &Document) -> Option<String> {
    let labels = deployment
        .get("/spec/selector/matchLabels")
        .and_then(Value::as_object)?;
    let selector = labels
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(",");
    (!selector.is_empty()).then_some(selector)
}

/// The images a pod template runs (init containers too).
pub fn images_of(workload: &Document) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|field| {
            workload
                .get(&format!("/spec/template/spec/{field}"))?
                .as_array()
        })
        .flatten()
        .filter_map(|c| c.get("image")?.as_str().map(str::to_owned))
        .collect()
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
    pull_failure_in(&pods, images)
}

/// What to do about a pull failure.
pub fn pull_advice(ns: &str) -> String {
    format!(
        "If the registry is private, create a docker-registry Secret in namespace {ns} and deploy \
         with --pull-secret NAME (docs/deploy.md, \"Private registries\"); if the image is not \
         there, deploy without --no-build to push it"
    )
}

fn pull_failure_in(pods: &Value, images: &[String]) -> Option<String> {
    let items = pods.get("items")?.as_array()?;
    items.iter().find_map(|pod| {
        ["initContainerStatuses", "containerStatuses"]
            .iter()
            .filter_map(|field| pod.pointer(&format!("/status/{field}"))?.as_array())
            .flatten()
            .find_map(|container| {
                let waiting = container.pointer("/state/waiting")?;
                let reason = waiting.get("reason")?.as_str()?;
                let image = container.get("image").and_then(Value::as_str);
                let ours =
                    images.is_empty() || image.is_some_and(|i| images.iter().any(|m| m == i));
                (ours && PULL_ERRORS.contains(&reason)).then(|| {
                    let message = waiting.get("message").and_then(Value::as_str);
                    [Some(reason), image, message]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": ")
                })
            })
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_error_is_found_in_any_container_of_any_pod() {
        let pods = |status: &str| {
            serde_json::from_str::<Value>(&format!(r#"{{"items":[{{"status":{{}}}},{status}]}}"#))
                .unwrap()
        };
        let backoff = pods(
            r#"{"status":{"containerStatuses":[{"image":"ghcr.io/a/migrator:t","state":{"waiting":{"reason":"ImagePullBackOff","message":"denied"}}}]}}"#,
        );
        assert_eq!(
            pull_failure_in(&backoff, &[]).as_deref(),
            Some("ImagePullBackOff: ghcr.io/a/migrator:t: denied")
        );
        let this = ["ghcr.io/a/migrator:t".to_owned()];
        assert!(pull_failure_in(&backoff, &this).is_some());
        let other = ["ghcr.io/a/migrator:newer".to_owned()];
        assert_eq!(
            pull_failure_in(&backoff, &other),
            None,
            "an older pod's trouble"
        );
        let creating = pods(
            r#"{"status":{"containerStatuses":[{"state":{"waiting":{"reason":"ContainerCreating"}}}]}}"#,
        );
        assert_eq!(pull_failure_in(&creating, &[]), None);
        assert_eq!(pull_failure_in(&serde_json::json!({}), &[]), None);
    }
}

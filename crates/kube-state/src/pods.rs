//! Why pods wait, and what is wrong with them.

use serde_json::Value;

/// The waiting reasons that mean the image will not come (the kubelet retries forever).
const PULL_ERRORS: [&str; 3] = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"];

/// Waiting reasons that do not resolve by waiting: the image, or a container that cannot
/// start or keeps crashing.
const STUCK: [&str; 7] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// One container in trouble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pod: String,
    pub container: String,
    pub image: String,
    /// The waiting reason (`CrashLoopBackOff`…), or `NotReady`.
    pub reason: String,
    /// The kubelet's message, and the last exit of a crashing container.
    pub message: String,
    pub restarts: u64,
    /// Whether waiting cannot fix it (see [`STUCK`]).
    pub stuck: bool,
}

/// Every container of `pods` (a PodList) running one of `images` (any when empty) that is
/// waiting or not ready, in pod order.
pub fn problems(pods: &Value, images: &[String]) -> Vec<Problem> {
    let items = pods.get("items").and_then(Value::as_array);
    let mut out = Vec::new();
    for pod in items.into_iter().flatten() {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let statuses = ["initContainerStatuses", "containerStatuses"]
            .iter()
            .filter_map(|field| pod.pointer(&format!("/status/{field}"))?.as_array())
            .flatten();
        for container in statuses {
            let text = |pointer: &str| container.pointer(pointer).and_then(Value::as_str);
            let image = text("/image").unwrap_or_default();
            if !images.is_empty() && !images.iter().any(|i| i == image) {
                continue;
            }
            let waiting = text("/state/waiting/reason");
            let ready = container
                .get("ready")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let reason = match waiting {
                Some("ContainerCreating" | "PodInitializing") => continue,
                Some(reason) => reason,
                None if !ready && text("/state/running/startedAt").is_some() => "NotReady",
                None => continue,
            };
            let last_exit = text("/lastState/terminated/reason").map(|r| {
                let code = container.pointer("/lastState/terminated/exitCode");
                format!("last exit: {r} (code {})", code.unwrap_or(&Value::Null))
            });
            let message = [text("/state/waiting/message"), last_exit.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            out.push(Problem {
                pod: name.to_owned(),
                container: text("/name").unwrap_or("?").to_owned(),
                image: image.to_owned(),
                reason: reason.to_owned(),
                message,
                restarts: container
                    .get("restartCount")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                stuck: STUCK.contains(&reason),
            });
        }
    }
    out
}

/// The newest `limit` events of an EventList, as `Type Reason: message (×count)`.
pub fn recent_events(events: &Value, limit: usize) -> Vec<String> {
    let mut items: Vec<&Value> = events
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let when = |e: &Value| {
        [
            "/lastTimestamp",
            "/eventTime",
            "/metadata/creationTimestamp",
        ]
        .iter()
        .find_map(|p| e.pointer(p).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned()
    };
    items.sort_by_key(|e| when(e));
    let skip = items.len().saturating_sub(limit);
    items[skip..]
        .iter()
        .map(|e| {
            let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
            let count = e.get("count").and_then(Value::as_u64).unwrap_or(1);
            let times = if count > 1 {
                format!(" (×{count})")
            } else {
                String::new()
            };
            format!(
                "{} {}: {}{times}",
                text("type"),
                text("reason"),
                text("message").trim()
            )
        })
        .collect()
}

/// Why a pod of `pods` (a PodList) cannot get one of `images` (any image when empty), as
/// `reason: image: message`: pods of an earlier version failing to pull are not the
/// caller's trouble.
pub fn pull_failure(pods: &Value, images: &[String]) -> Option<String> {
    let problem = problems(pods, images)
        .into_iter()
        .find(|p| PULL_ERRORS.contains(&p.reason.as_str()))?;
    Some(
        [problem.reason, problem.image, problem.message]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(": "),
    )
}

/// The names of the pods of `pods` (a PodList) whose containers include one running one of
/// `images`: the pods of a release.
pub fn running(pods: &Value, images: &[String]) -> Vec<String> {
    let items = pods.get("items").and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter(|pod| {
            let specs = pod.pointer("/spec/containers").and_then(Value::as_array);
            let statuses = pod
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            specs.into_iter().chain(statuses).flatten().any(|c| {
                c.get("image")
                    .and_then(Value::as_str)
                    .is_some_and(|i| images.iter().any(|m| m == i))
            })
        })
        .filter_map(|pod| pod.pointer("/metadata/name")?.as_str().map(str::to_owned))
        .collect()
}

//! Why pods wait.

use serde_json::Value;

/// The waiting reasons that mean the image will not come (the kubelet retries forever).
const PULL_ERRORS: [&str; 3] = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"];

/// Why a pod of `pods` (a PodList) cannot get one of `images` (any image when empty), as
/// `reason: image: message`: pods of an earlier version failing to pull are not the
/// caller's trouble.
pub fn pull_failure(pods: &Value, images: &[String]) -> Option<String> {
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

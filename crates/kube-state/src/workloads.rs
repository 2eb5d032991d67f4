//! What workload objects name: their pods, their images, their scaler, their readiness.

use serde_json::Value;

/// The label selector of a Deployment's pods, from its `matchLabels` (`a=b,c=d`).
pub fn selector_of(deployment: &Value) -> Option<String> {
    let labels = deployment
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)?;
    let selector = labels
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(",");
    (!selector.is_empty()).then_some(selector)
}

/// The images a workload's pod template runs, init containers too.
pub fn images_of(workload: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|field| {
            workload
                .pointer(&format!("/spec/template/spec/{field}"))?
                .as_array()
        })
        .flatten()
        .filter_map(|c| c.get("image")?.as_str().map(str::to_owned))
        .collect()
}

/// The Deployment an HPA scales and its `minReplicas` (1 when unset, as Kubernetes has it).
pub fn hpa_target(hpa: &Value) -> Option<(String, u64)> {
    let target = hpa.pointer("/spec/scaleTargetRef")?;
    if target.get("kind")?.as_str()? != "Deployment" {
        return None;
    }
    let name = target.get("name")?.as_str()?.to_owned();
    let min = hpa
        .pointer("/spec/minReplicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    Some((name, min))
}

/// `readyInstances` and `phase` of a CloudNativePG Cluster (0 and "starting" before the
/// operator wrote any status).
pub fn cnpg_readiness(cluster: &Value) -> (u64, String) {
    let ready = cluster
        .pointer("/status/readyInstances")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let phase = cluster
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("starting")
        .to_owned();
    (ready, phase)
}

/// Where a workload's container `container` is probed for readiness over HTTP: its path
/// and port number (a named port resolved through the container's ports).
pub fn readiness_probe(workload: &Value, container: &str) -> Option<(String, u16)> {
    let containers = workload
        .pointer("/spec/template/spec/containers")?
        .as_array()?;
    let c = containers
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))?;
    let probe = c.pointer("/readinessProbe/httpGet")?;
    let path = probe.get("path").and_then(Value::as_str).unwrap_or("/");
    let port = match probe.get("port")? {
        Value::String(name) => c.get("ports")?.as_array()?.iter().find_map(|p| {
            (p.get("name")?.as_str()? == name).then(|| p.get("containerPort")?.as_u64())?
        })?,
        number => number.as_u64()?,
    };
    Some((path.to_owned(), u16::try_from(port).ok()?))
}

/// The server's minor version and `gitVersion`, from `kubectl version -o json` (`"33+"`
/// reads as 33).
pub fn server_version(version: &Value) -> Option<(u64, String)> {
    let server = version.get("serverVersion")?;
    let minor = server
        .get("minor")?
        .as_str()?
        .trim_end_matches('+')
        .parse()
        .ok()?;
    let git = server
        .get("gitVersion")
        .and_then(Value::as_str)
        .unwrap_or("?");
    Some((minor, git.to_owned()))
}

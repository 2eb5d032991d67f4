//! Each reading against the JSON Kubernetes writes, half-written statuses included.

use kube_state::{
    JobState, cnpg_readiness, hpa_target, images_of, problems, pull_failure, readiness_probe,
    recent_events, running, selector_of, server_version,
};
use serde_json::{Value, json};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

#[test]
fn job_states_come_from_conditions_then_counts() {
    let state = |status: &str| JobState::of(&parse(status));
    assert_eq!(
        state(r#"{"status":{"conditions":[{"type":"Complete","status":"True"}]}}"#),
        JobState::Complete
    );
    assert_eq!(
        state(
            r#"{"status":{"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded"}]}}"#
        ),
        JobState::Failed("BackoffLimitExceeded".into())
    );
    assert_eq!(
        state(r#"{"status":{"active":1,"failed":1}}"#),
        JobState::Running {
            active: 1,
            failed: 1
        }
    );
    assert_eq!(
        state(r#"{"status":{"conditions":[{"type":"FailureTarget","status":"True"}],"failed":3}}"#),
        JobState::Running {
            active: 0,
            failed: 3
        }
    );
    assert_eq!(
        state("{}"),
        JobState::Running {
            active: 0,
            failed: 0
        }
    );
}

#[test]
fn a_pull_error_is_found_in_any_container_of_any_pod_running_an_image_asked_about() {
    let pods = |status: &str| parse(&format!(r#"{{"items":[{{"status":{{}}}},{status}]}}"#));
    let backoff = pods(
        r#"{"status":{"containerStatuses":[{"image":"ghcr.io/a/migrator:t","state":{"waiting":{"reason":"ImagePullBackOff","message":"denied"}}}]}}"#,
    );
    assert_eq!(
        pull_failure(&backoff, &[]).as_deref(),
        Some("ImagePullBackOff: ghcr.io/a/migrator:t: denied")
    );
    assert!(pull_failure(&backoff, &["ghcr.io/a/migrator:t".to_owned()]).is_some());
    let newer = ["ghcr.io/a/migrator:newer".to_owned()];
    assert_eq!(
        pull_failure(&backoff, &newer),
        None,
        "an older pod's trouble"
    );
    let init = pods(
        r#"{"status":{"initContainerStatuses":[{"image":"x","state":{"waiting":{"reason":"ErrImagePull"}}}]}}"#,
    );
    assert_eq!(pull_failure(&init, &[]).as_deref(), Some("ErrImagePull: x"));
    let creating = pods(
        r#"{"status":{"containerStatuses":[{"state":{"waiting":{"reason":"ContainerCreating"}}}]}}"#,
    );
    assert_eq!(pull_failure(&creating, &[]), None);
    assert_eq!(pull_failure(&json!({}), &[]), None);
}

#[test]
fn a_deployment_names_its_pods_and_images() {
    let deployment = json!({"spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "api", "tier": "backend"}},
        "template": {"spec": {
            "initContainers": [{"name": "wait", "image": "busybox:1"}],
            "containers": [{"name": "api", "image": "ghcr.io/a/api:t"}],
        }},
    }});
    assert_eq!(
        selector_of(&deployment).as_deref(),
        Some("app.kubernetes.io/name=api,tier=backend")
    );
    assert_eq!(images_of(&deployment), ["busybox:1", "ghcr.io/a/api:t"]);
    assert_eq!(selector_of(&json!({"spec": {}})), None);
    assert!(images_of(&json!({})).is_empty());
}

#[test]
fn an_hpa_names_its_deployment_and_minimum() {
    let hpa = json!({"spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
        "minReplicas": 3,
    }});
    assert_eq!(hpa_target(&hpa), Some(("api".to_owned(), 3)));
    let statefulset = json!({"spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "x"}}});
    assert_eq!(hpa_target(&statefulset), None);
    let unset = json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}}});
    assert_eq!(hpa_target(&unset), Some(("web".to_owned(), 1)));
}

#[test]
fn a_cnpg_cluster_reads_as_starting_until_its_operator_writes_a_status() {
    assert_eq!(cnpg_readiness(&json!({})), (0, "starting".to_owned()));
    let healthy = json!({"status": {"readyInstances": 2, "phase": "Cluster in healthy state"}});
    assert_eq!(
        cnpg_readiness(&healthy),
        (2, "Cluster in healthy state".to_owned())
    );
}

#[test]
fn problems_are_stuck_waiting_crashing_or_unready_containers_of_the_images_asked_about() {
    let pods = json!({"items": [
        {"metadata": {"name": "api-new-1"}, "status": {"containerStatuses": [{
            "name": "api", "image": "api:new", "ready": false, "restartCount": 4,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 1}},
        }]}},
        {"metadata": {"name": "api-new-2"}, "status": {"containerStatuses": [{
            "name": "api", "image": "api:new", "ready": false, "restartCount": 0,
            "state": {"running": {"startedAt": "2026-12-02T10:00:00Z"}},
        }]}},
        {"metadata": {"name": "api-new-3"}, "status": {"containerStatuses": [{
            "name": "api", "image": "api:new", "ready": false,
            "state": {"waiting": {"reason": "ContainerCreating"}},
        }]}},
        {"metadata": {"name": "api-old"}, "status": {"containerStatuses": [{
            "name": "api", "image": "api:old", "ready": false,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        }]}},
    ]});
    let found = problems(&pods, &["api:new".to_owned()]);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        (
            found[0].pod.as_str(),
            found[0].reason.as_str(),
            found[0].stuck,
            found[0].restarts
        ),
        ("api-new-1", "CrashLoopBackOff", true, 4)
    );
    assert_eq!(found[0].message, "back-off 40s; last exit: Error (code 1)");
    assert_eq!(
        (found[1].reason.as_str(), found[1].stuck),
        ("NotReady", false)
    );
    assert_eq!(problems(&pods, &[]).len(), 3, "any image: the old pod too");
    assert!(problems(&json!({}), &[]).is_empty());
}

#[test]
fn recent_events_are_the_newest_in_time_order() {
    let events = json!({"items": [
        {"type": "Warning", "reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed with statuscode: 503", "count": 7, "lastTimestamp": "2026-12-02T10:03:00Z"},
        {"type": "Normal", "reason": "Pulled", "message": "Container image pulled", "lastTimestamp": "2026-12-02T10:01:00Z"},
        {"type": "Normal", "reason": "Scheduled", "message": "Successfully assigned", "lastTimestamp": "2026-12-02T10:00:00Z"},
    ]});
    assert_eq!(
        recent_events(&events, 2),
        [
            "Normal Pulled: Container image pulled",
            "Warning Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503 (×7)"
        ]
    );
    assert!(recent_events(&json!({}), 5).is_empty());
}

#[test]
fn a_readiness_probe_resolves_its_named_port() {
    let deployment = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "api", "ports": [{"name": "http", "containerPort": 3080}],
         "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}}},
        {"name": "sidecar", "readinessProbe": {"httpGet": {"port": 9000}}},
    ]}}}});
    assert_eq!(
        readiness_probe(&deployment, "api"),
        Some(("/ready".to_owned(), 3080))
    );
    assert_eq!(
        readiness_probe(&deployment, "sidecar"),
        Some(("/".to_owned(), 9000))
    );
    assert_eq!(readiness_probe(&deployment, "nope"), None);
}

#[test]
fn the_pods_of_a_release_are_those_running_its_images() {
    let pods = json!({"items": [
        {"metadata": {"name": "new-1"}, "spec": {"containers": [{"image": "api:new"}]}},
        {"metadata": {"name": "old-1"}, "spec": {"containers": [{"image": "api:old"}]}},
        {"metadata": {"name": "new-2"}, "status": {"containerStatuses": [{"image": "api:new"}]}},
    ]});
    assert_eq!(running(&pods, &["api:new".to_owned()]), ["new-1", "new-2"]);
    assert!(running(&pods, &[]).is_empty());
}

#[test]
fn the_server_version_reads_a_plus_suffixed_minor() {
    let eks = json!({"serverVersion": {"major": "1", "minor": "31+", "gitVersion": "v1.31.4-eks-2d5f260"}});
    assert_eq!(
        server_version(&eks),
        Some((31, "v1.31.4-eks-2d5f260".to_owned()))
    );
    assert_eq!(server_version(&json!({"clientVersion": {}})), None);
}

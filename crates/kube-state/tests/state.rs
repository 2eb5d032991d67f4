//! Each reading against the JSON Kubernetes writes, half-written statuses included.

use kube_state::{JobState, cnpg_readiness, hpa_target, images_of, pull_failure, selector_of};
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

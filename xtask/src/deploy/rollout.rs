//! Following a [`Plan`] on a cluster: apply, wait for the database, migrate, roll out.

use std::{
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::Value;

use super::{
    kubectl::Kubectl,
    manifest::Document,
    plan::{self, Plan},
};

/// How often the migration Job is looked at.
const POLL: Duration = Duration::from_secs(2);

/// Steps 2 to 6 of the plan; the images are already where the cluster finds them.
pub fn execute(plan: &Plan, kubectl: &Kubectl) -> anyhow::Result<()> {
    let ns = plan.namespace.as_str();
    let timeout = format!("--timeout={}s", plan.timeout.as_secs());

    step(
        2,
        "applying everything but the Deployments and the migration",
    );
    kubectl.apply(&plan.dir.join(plan::FOUNDATION_FILE))?;

    step(3, "waiting for the database");
    for db in &plan.databases {
        let resource = db.resource();
        let (wait, failed) = if plan::is_cnpg_cluster(db) {
            (["wait", "--for=condition=Ready"], "did not become Ready")
        } else {
            (["rollout", "status"], "did not finish rolling out")
        };
        kubectl
            .run_in(ns, &[&wait[..], &[&resource, &timeout]].concat())
            .with_context(|| format!("{resource} {failed}"))?;
    }

    step(4, &format!("migrating: Job {}", plan.job.name));
    migrate(plan, kubectl)?;

    step(5, "applying the Deployments");
    kubectl.apply(&plan.dir.join(plan::WORKLOADS_FILE))?;

    step(6, "waiting for the rollouts");
    for deployment in &plan.rollouts {
        let resource = deployment.resource();
        if let Err(e) = kubectl.run_in(ns, &["rollout", "status", &resource, &timeout]) {
            show_pods(kubectl, ns, deployment);
            return Err(e).with_context(|| {
                format!(
                    "{resource} did not roll out; its previous pods keep serving (maxUnavailable 0). \
                     Roll back with `kubectl --context {} -n {ns} rollout undo {resource}` or redeploy a previous tag with --no-build --tag",
                    kubectl.context
                )
            });
        }
    }
    Ok(())
}

fn step(n: u8, what: &str) {
    eprintln!("xtask: [{n}/7] {what}");
}

/// The state of a Job, from its status.
#[derive(Debug, PartialEq, Eq)]
enum JobState {
    Absent,
    Running { active: u64, failed: u64 },
    Complete,
    Failed(String),
}

fn job_state(kubectl: &Kubectl, ns: &str, name: &str) -> anyhow::Result<JobState> {
    let json = kubectl.output_in(
        ns,
        &["get", "job", name, "--ignore-not-found", "--output=json"],
    )?;
    if json.trim().is_empty() {
        return Ok(JobState::Absent);
    }
    let job: Value = serde_json::from_str(&json).context("reading the Job's status")?;
    Ok(state_of(&job))
}

fn state_of(job: &Value) -> JobState {
    let conditions = job
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let holds = |kind: &str| {
        conditions.iter().find(|c| {
            c.get("type").and_then(Value::as_str) == Some(kind)
                && c.get("status").and_then(Value::as_str) == Some("True")
        })
    };
    if holds("Complete").is_some() {
        return JobState::Complete;
    }
    if let Some(failed) = holds("Failed") {
        let reason = ["reason", "message"]
            .iter()
            .filter_map(|k| failed.get(*k).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(": ");
        return JobState::Failed(reason);
    }
    let count = |field: &str| {
        job.pointer(&format!("/status/{field}"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    JobState::Running {
        active: count("active"),
        failed: count("failed"),
    }
}

/// Runs this version's Job to completion. A Job of this name that failed before (or was
/// made from another `-dirty` tree) is deleted first; one that succeeded is not rerun; one
/// still running from an interrupted deploy is waited for.
fn migrate(plan: &Plan, kubectl: &Kubectl) -> anyhow::Result<()> {
    let ns = plan.namespace.as_str();
    let name = plan.job.name.as_str();
    let dirty = plan.tag.ends_with("-dirty");
    match job_state(kubectl, ns, name)? {
        JobState::Complete if !dirty => {
            eprintln!("xtask: Job {name} already succeeded for this version");
            return Ok(());
        }
        JobState::Absent => kubectl.apply(&plan.dir.join(plan::MIGRATION_FILE))?,
        JobState::Running { .. } => {
            eprintln!("xtask: Job {name} is already running (an earlier attempt): waiting for it");
        }
        state => {
            // Failed, or made from another `-dirty` tree under the same name.
            eprintln!("xtask: deleting the earlier Job {name} ({state:?}) to run it again");
            kubectl.run_in(ns, &["delete", "job", name, "--wait=true"])?;
            kubectl.apply(&plan.dir.join(plan::MIGRATION_FILE))?;
        }
    }

    let started = Instant::now();
    let mut last = None;
    loop {
        let state = job_state(kubectl, ns, name)?;
        match &state {
            JobState::Complete => {
                eprintln!(
                    "xtask: migration Job {name} succeeded in {} s",
                    started.elapsed().as_secs()
                );
                return Ok(());
            }
            JobState::Failed(reason) => {
                print_logs(kubectl, ns, name);
                bail!(
                    "migration Job {name} failed ({reason}); its logs are above. Nothing was rolled out: the Deployments still run the previous version"
                );
            }
            JobState::Absent => bail!("migration Job {name} disappeared while running"),
            JobState::Running { active, failed } => {
                if let Some(why) = pull_failure(kubectl, ns, name) {
                    bail!(
                        "the cluster cannot pull the migrator's image ({why}); nothing was rolled out. \
                         If the registry is private, create a docker-registry Secret in namespace {ns} \
                         and deploy with --pull-secret NAME (docs/deploy.md, \"Private registries\"); \
                         if the image is not there, deploy without --no-build to push it"
                    );
                }
                if last.as_ref() != Some(&state) {
                    eprintln!(
                        "xtask: migration: {active} pod(s) running, {failed} failed attempt(s) ({} s)",
                        started.elapsed().as_secs()
                    );
                }
            }
        }
        if started.elapsed() > plan.job_timeout() {
            print_logs(kubectl, ns, name);
            bail!(
                "migration Job {name} did not finish within {} s; nothing was rolled out",
                plan.job_timeout().as_secs()
            );
        }
        last = Some(state);
        thread::sleep(POLL);
    }
}

/// Why a pod of the Job cannot start its image, if that is the trouble: a pull fails
/// within seconds, where waiting for the Job would take its whole deadline. Best effort:
/// a failed look is no answer.
fn pull_failure(kubectl: &Kubectl, ns: &str, job: &str) -> Option<String> {
    let selector = format!("batch.kubernetes.io/job-name={job}");
    let json = kubectl
        .output_in(
            ns,
            &["get", "pods", "--selector", &selector, "--output=json"],
        )
        .ok()?;
    let pods: Value = serde_json::from_str(&json).ok()?;
    pull_failure_in(&pods)
}

fn pull_failure_in(pods: &Value) -> Option<String> {
    const PULL_ERRORS: [&str; 3] = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"];
    let items = pods.get("items")?.as_array()?;
    items.iter().find_map(|pod| {
        ["initContainerStatuses", "containerStatuses"]
            .iter()
            .filter_map(|field| pod.pointer(&format!("/status/{field}"))?.as_array())
            .flatten()
            .find_map(|container| {
                let waiting = container.pointer("/state/waiting")?;
                let reason = waiting.get("reason")?.as_str()?;
                PULL_ERRORS.contains(&reason).then(|| {
                    let image = container.get("image").and_then(Value::as_str);
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

fn print_logs(kubectl: &Kubectl, ns: &str, job: &str) {
    let selector = format!("batch.kubernetes.io/job-name={job}");
    eprintln!("xtask: logs of Job {job}:");
    let logs = [
        "logs",
        "--selector",
        &selector,
        "--all-containers",
        "--prefix",
        "--tail=200",
    ];
    if let Err(e) = kubectl.run_in(ns, &logs) {
        eprintln!("xtask: could not read the logs: {e:#}");
    }
}

fn show_pods(kubectl: &Kubectl, ns: &str, deployment: &Document) {
    let Some(labels) = deployment
        .get("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    else {
        return;
    };
    let selector = labels
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(",");
    let _ = kubectl.run_in(ns, &["get", "pods", "--selector", &selector, "-o", "wide"]);
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
            pull_failure_in(&backoff).as_deref(),
            Some("ImagePullBackOff: ghcr.io/a/migrator:t: denied")
        );
        let creating = pods(
            r#"{"status":{"containerStatuses":[{"state":{"waiting":{"reason":"ContainerCreating"}}}]}}"#,
        );
        assert_eq!(pull_failure_in(&creating), None);
        assert_eq!(pull_failure_in(&serde_json::json!({})), None);
    }

    #[test]
    fn job_states_come_from_conditions_then_counts() {
        let job = |status: &str| serde_json::from_str::<Value>(status).unwrap();
        assert_eq!(
            state_of(&job(
                r#"{"status":{"conditions":[{"type":"Complete","status":"True"}]}}"#
            )),
            JobState::Complete
        );
        assert_eq!(
            state_of(&job(
                r#"{"status":{"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded"}]}}"#
            )),
            JobState::Failed("BackoffLimitExceeded".into())
        );
        assert_eq!(
            state_of(&job(r#"{"status":{"active":1,"failed":1}}"#)),
            JobState::Running {
                active: 1,
                failed: 1
            }
        );
        assert_eq!(
            state_of(&job(
                r#"{"status":{"conditions":[{"type":"FailureTarget","status":"True"}],"failed":3}}"#
            )),
            JobState::Running {
                active: 0,
                failed: 3
            }
        );
    }
}

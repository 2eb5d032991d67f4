//! Following a [`Plan`] on a cluster: apply, wait for the database, migrate, roll out.

use std::{
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use kube_state::JobState;
use processes::{Process, Signal, Stop};
use serde_json::Value;

use super::{
    autoscaling, database,
    kubectl::Kubectl,
    manifest::Document,
    plan::{self, Plan},
    pods, verify,
};

/// How often the migration Job and the pods of a rollout are looked at.
const POLL: Duration = Duration::from_secs(2);

/// Steps 2 to 5 of the plan: everything before the rollouts. The images are already where
/// the cluster finds them.
pub fn prepare(plan: &Plan, kubectl: &Kubectl) -> anyhow::Result<()> {
    let ns = plan.namespace.as_str();

    step(
        2,
        "applying everything but the Deployments and the migration",
    );
    kubectl.apply(&plan.dir.join(plan::FOUNDATION_FILE))?;

    step(3, "waiting for the database");
    database::wait_for_all(kubectl, ns, &plan.databases, plan.timeout)?;

    step(4, &format!("migrating: Job {}", plan.job.name));
    migrate(plan, kubectl)?;

    step(5, "applying the Deployments");
    kubectl.apply(&plan.dir.join(plan::WORKLOADS_FILE))?;
    autoscaling::wake_scaled_to_zero(kubectl, ns, &plan.workloads)
}

/// Step 6: each rollout, against `--timeout` and the Deployments' progress deadline, then
/// the release verified end to end.
pub fn roll_out_all(plan: &Plan, kubectl: &Kubectl) -> anyhow::Result<()> {
    step(6, "waiting for the rollouts");
    let timeout = format!("--timeout={}s", plan.timeout.as_secs());
    for deployment in &plan.rollouts {
        roll_out(kubectl, &plan.namespace, deployment, &timeout)
            .with_context(|| format!("{} did not roll out", deployment.resource()))?;
    }
    let api = plan.rollouts.iter().find(|d| d.name == "api");
    let api = api.context("the plan rolls out no Deployment api")?;
    verify::verify(kubectl, &plan.namespace, api, &plan.foundation)
}

/// `kubectl rollout status`, while the new pods are looked at: one that cannot pull its
/// image, or start, or keeps crashing stops the wait at once instead of at the deadline.
pub(super) fn roll_out(
    kubectl: &Kubectl,
    ns: &str,
    deployment: &Document,
    timeout: &str,
) -> anyhow::Result<()> {
    let resource = deployment.resource();
    let mut status = kubectl.command(&["-n", ns, "rollout", "status", &resource, timeout]);
    let mut watch = Process::spawn(
        &mut status,
        Stop::group(Signal::SIGTERM, Duration::from_secs(2)),
    )
    .context("starting kubectl rollout status")?;
    let selector = pods::of_deployment(deployment);
    let images = kube_state::images_of(&deployment.value);
    loop {
        if let Some(status) = watch.wait_timeout(POLL)? {
            if status.success() {
                return Ok(());
            }
            bail!("kubectl rollout status {resource} failed ({status})");
        }
        let stuck = selector
            .as_deref()
            .and_then(|s| pods::stuck(kubectl, ns, s, &images));
        if let Some(why) = stuck {
            let _ = watch.stop();
            bail!("a new pod of {resource} is stuck: {why}");
        }
    }
}

fn step(n: u8, what: &str) {
    eprintln!("xtask: [{n}/8] {what}");
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
    Ok(JobState::of(&job))
}

/// Runs this version's Job to completion. A Job of this name that failed before is deleted
/// first; one that succeeded is not rerun (tags name content, `-dirty-<hash>` included);
/// one still running from an interrupted deploy is waited for.
fn migrate(plan: &Plan, kubectl: &Kubectl) -> anyhow::Result<()> {
    let ns = plan.namespace.as_str();
    let name = plan.job.name.as_str();
    let selector = pods::of_job(name);
    match job_state(kubectl, ns, name)? {
        JobState::Complete => {
            eprintln!("xtask: Job {name} already succeeded for this version");
            return Ok(());
        }
        JobState::Absent => kubectl.apply(&plan.dir.join(plan::MIGRATION_FILE))?,
        JobState::Running { .. } => {
            eprintln!("xtask: Job {name} is already running (an earlier attempt): waiting for it");
        }
        state => {
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
                pods::print_logs(kubectl, ns, &format!("Job {name}"), &selector);
                bail!(
                    "migration Job {name} failed ({reason}); its logs are above. Nothing was rolled out: the Deployments still run the previous version"
                );
            }
            JobState::Absent => bail!("migration Job {name} disappeared while running"),
            JobState::Running { active, failed } => {
                if let Some(why) = pods::stuck(kubectl, ns, &selector, &[]) {
                    pods::print_logs(kubectl, ns, &format!("Job {name}"), &selector);
                    bail!("migration Job {name} is stuck: {why}; nothing was rolled out");
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
            pods::print_logs(kubectl, ns, &format!("Job {name}"), &selector);
            bail!(
                "migration Job {name} did not finish within {} s; nothing was rolled out",
                plan.job_timeout().as_secs()
            );
        }
        last = Some(state);
        thread::sleep(POLL);
    }
}

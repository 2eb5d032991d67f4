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
    pods,
};

/// How often the migration Job and the pods of a rollout are looked at.
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
    database::wait_for_all(kubectl, ns, &plan.databases, plan.timeout)?;

    step(4, &format!("migrating: Job {}", plan.job.name));
    migrate(plan, kubectl)?;

    step(5, "applying the Deployments");
    kubectl.apply(&plan.dir.join(plan::WORKLOADS_FILE))?;
    autoscaling::wake_scaled_to_zero(kubectl, ns, &plan.workloads)?;

    step(6, "waiting for the rollouts");
    for deployment in &plan.rollouts {
        let resource = deployment.resource();
        if let Err(e) = roll_out(kubectl, ns, deployment, &timeout) {
            if let Some(selector) = pods::of_deployment(deployment) {
                pods::show(kubectl, ns, &selector);
            }
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

/// `kubectl rollout status`, while the new pods are looked at: one that cannot pull its
/// image stops the wait at once instead of at the deadline.
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
        let pull = selector
            .as_deref()
            .and_then(|s| pods::pull_failure(kubectl, ns, s, &images));
        if let Some(why) = pull {
            let _ = watch.stop();
            bail!(
                "the cluster cannot pull an image of {resource} ({why}). {}",
                pods::pull_advice(ns)
            );
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
                if let Some(why) = pods::pull_failure(kubectl, ns, &selector, &[]) {
                    bail!(
                        "the cluster cannot pull the migrator's image ({why}); nothing was rolled out. {}",
                        pods::pull_advice(ns)
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

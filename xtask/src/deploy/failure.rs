//! A rollout or verification that failed: what the failing pods say, then the live release
//! put back (when it runs on the schema this deploy left) and waited for.

use releases::{History, Record};

use super::{history, kubectl::Kubectl, plan::Plan, pods, rollback};

/// Reports, undoes, and returns the error to exit with.
pub fn recover(
    kubectl: &Kubectl,
    plan: &Plan,
    error: anyhow::Error,
    previous: Option<&Record>,
    this: &Record,
    history: &History,
) -> anyhow::Error {
    let ns = plan.namespace.as_str();
    eprintln!("xtask: the rollout failed: {error:#}");
    eprintln!("xtask: failure report:");
    for deployment in &plan.rollouts {
        pods::report(kubectl, ns, deployment);
    }
    let Some(previous) = previous else {
        return error.context(
            "no earlier release is recorded to put back; the previous pods, if any, keep serving (maxUnavailable 0), and `kubectl rollout undo` restores their template",
        );
    };
    if let Err(refusal) = releases::check_rollback(previous, this) {
        return error.context(format!("the live release cannot be put back: {refusal}"));
    }
    let tag = &previous.tag;
    eprintln!("xtask: undo: putting release {tag} back");
    let timeout = format!("--timeout={}s", plan.timeout.as_secs());
    // Back, and serving again: rolled out and verified as a deploy is.
    let back = rollback::point_at(kubectl, ns, previous, &timeout, &plan.foundation);
    if let Err(e) = back {
        return error.context(format!("and putting release {tag} back failed too: {e:#}"));
    }
    let undo = Record {
        deployed_at: history::now(),
        how: format!("undo of failed {}", this.tag),
        schema: this.schema,
        breaking: this.breaking.clone(),
        ..previous.clone()
    };
    if let Err(e) = history::append(kubectl, ns, history.clone(), undo, &plan.dir) {
        eprintln!("xtask: could not record the undo: {e:#}");
    }
    let message = format!(
        "{} was not deployed: release {tag} is back and serving",
        this.tag
    );
    error.context(format!("{message} (the report is above)"))
}

//! A Deployment an HPA scales must not stay at 0 replicas: an HPA never scales up from 0
//! (prod's restore procedure leaves the API there), and `rollout status` of 0/0 passes.

use anyhow::Context;

use super::{kubectl::Kubectl, manifest::Document};

/// For each HPA among `workloads` whose Deployment runs 0 replicas, scales that Deployment
/// to the HPA's `minReplicas`, and says so.
pub fn wake_scaled_to_zero(
    kubectl: &Kubectl,
    ns: &str,
    workloads: &[Document],
) -> anyhow::Result<()> {
    for hpa in workloads
        .iter()
        .filter(|d| d.kind == "HorizontalPodAutoscaler")
    {
        let Some((deployment, min)) = kube_state::hpa_target(&hpa.value) else {
            continue;
        };
        let resource = format!("deployment/{deployment}");
        let replicas = kubectl.output_in(
            ns,
            &[
                "get",
                "deployment",
                &deployment,
                "--output=jsonpath={.spec.replicas}",
            ],
        )?;
        if replicas.trim() != "0" {
            continue;
        }
        let to = format!("--replicas={min}");
        kubectl
            .run_in(ns, &["scale", &resource, &to])
            .with_context(|| format!("scaling {resource} up from 0"))?;
        eprintln!(
            "xtask: {resource} was scaled to 0 (a restore?), which its HPA {} never scales up from: scaled it to the HPA's minReplicas, {min}",
            hpa.name
        );
    }
    Ok(())
}

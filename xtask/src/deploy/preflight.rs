//! Before anything is built or changed: kubectl is there, the context is allowed, the
//! cluster answers and serves every kind of object the manifests hold.

use std::collections::BTreeSet;

use anyhow::{Context, bail};
use serde_json::Value;

use super::{context::Cluster, kubectl::Kubectl, manifest::Document};

/// The sleep action of `preStop` (the images have no shell) is on by default from 1.30.
const MIN_MINOR: u64 = 30;

/// How to install what a manifest needs, by API group.
const INSTALL_HINTS: &[(&str, &str)] = &[
    (
        "postgresql.cnpg.io",
        "install the CloudNativePG operator: kubectl apply --server-side -f https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/release-1.29/releases/cnpg-1.29.1.yaml (docs/deploy.md)",
    ),
    (
        "monitoring.coreos.com",
        "install prometheus-operator (e.g. the kube-prometheus-stack chart), or leave out --with monitoring",
    ),
    (
        "cert-manager.io",
        "install cert-manager: kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/v1.19.1/cert-manager.yaml (docs/deploy.md)",
    ),
];

pub fn require_kubectl() -> anyhow::Result<()> {
    if processes::find_program("kubectl").is_none() {
        bail!("kubectl not found on PATH: install it (https://kubernetes.io/docs/tasks/tools/)");
    }
    Ok(())
}

/// The tools that load images into a local cluster must be there before we build.
pub fn require_loader(cluster: &Cluster) -> anyhow::Result<()> {
    let tool = match cluster {
        Cluster::Kind(_) => "kind",
        Cluster::K3d(_) => "k3d",
        Cluster::Minikube(_) => "minikube",
        Cluster::SharedEngine(_) | Cluster::Remote(_) => return Ok(()),
    };
    if processes::find_program(tool).is_none() {
        bail!(
            "{tool} not found on PATH: it loads the images into the {}",
            cluster.describe()
        );
    }
    Ok(())
}

/// The cluster answers, is recent enough, and serves every apiVersion the manifests use.
pub fn check_cluster(kubectl: &Kubectl, docs: &[Document]) -> anyhow::Result<()> {
    let context = &kubectl.context;
    let version = kubectl
        .output(&["version", "--output=json"])
        .with_context(|| format!("the cluster of context {context:?} does not answer"))?;
    let version: Value = serde_json::from_str(&version).context("reading kubectl version")?;
    let (minor, git) =
        kube_state::server_version(&version).context("the cluster did not report its version")?;
    if minor < MIN_MINOR {
        bail!(
            "the cluster runs Kubernetes {git}; the manifests need 1.{MIN_MINOR} or later (preStop sleep action)"
        );
    }
    eprintln!("xtask: cluster {context:?} runs Kubernetes {git}");

    let served: BTreeSet<String> = kubectl
        .output(&["api-versions"])?
        .lines()
        .map(str::to_owned)
        .collect();
    let mut needed: BTreeSet<(&str, &str)> = docs
        .iter()
        .map(|d| (d.api_version.as_str(), d.kind.as_str()))
        .collect();
    let issuers = cluster_issuers(docs);
    if !issuers.is_empty() {
        needed.insert(("cert-manager.io/v1", "ClusterIssuer"));
    }
    for (api_version, kind) in needed {
        if !served.contains(api_version) {
            let group = api_version.split('/').next().unwrap_or_default();
            let hint = INSTALL_HINTS
                .iter()
                .find(|(g, _)| *g == group)
                .map(|(_, hint)| format!(": {hint}"))
                .unwrap_or_default();
            bail!("the cluster does not serve {api_version} (for {kind}){hint}");
        }
    }
    for issuer in issuers {
        match kubectl.output(&["get", "clusterissuer", &issuer, "--output=name"]) {
            Ok(_) => {}
            Err(e) if e.to_string().contains("NotFound") => bail!(
                "ClusterIssuer {issuer} (named by the Ingress) does not exist: create it (docs/deploy.md, \"cert-manager\")"
            ),
            Err(e) => eprintln!("xtask: warning: could not check ClusterIssuer {issuer}: {e}"),
        }
    }
    if docs.iter().any(|d| d.kind == "HorizontalPodAutoscaler")
        && !served.iter().any(|v| v.starts_with("metrics.k8s.io/"))
    {
        eprintln!(
            "xtask: warning: the cluster serves no metrics.k8s.io: the HPA keeps its minimum until metrics-server is installed"
        );
    }
    Ok(())
}

/// ClusterIssuers named by `cert-manager.io/cluster-issuer` annotations.
fn cluster_issuers(docs: &[Document]) -> BTreeSet<String> {
    docs.iter()
        .filter_map(|d| d.str_at("/metadata/annotations/cert-manager.io~1cluster-issuer"))
        .map(str::to_owned)
        .collect()
}

//! What a deploy does, in order, derived from the rendered manifests alone: printed by
//! `--dry-run`, then followed step by step by a real deploy.
//!
//! The order keeps the API from changing before its schema exists: everything but the
//! Deployments and the migration Job first (the database, its Secret, the new ConfigMaps
//! under new hashed names, so running pods are untouched); then the database must be ready;
//! then this version's migration Job must succeed; only then do the Deployments change.

use std::{fmt::Write as _, path::PathBuf, time::Duration};

use anyhow::{Context, bail};

use super::{
    manifest::{self, Document},
    render::{self, Release, Rendered},
};

/// The phases of a deploy and what each waits for.
#[derive(Debug)]
pub struct Plan {
    pub env: String,
    pub namespace: String,
    /// `kind-randoms (local kind cluster "randoms")`, or how the context will be chosen.
    pub target: String,
    /// How the images reach the cluster, one sentence.
    pub delivery: String,
    pub tag: String,
    pub images: Vec<String>,
    /// Applied first: everything the new version needs, none of what changes the old one.
    pub foundation: Vec<Document>,
    /// Waited for after the foundation: StatefulSets and CloudNativePG clusters.
    pub databases: Vec<Document>,
    /// This version's migration Job.
    pub job: Document,
    /// Applied after the migration succeeded: Deployments and their autoscalers.
    pub workloads: Vec<Document>,
    /// Rollouts waited for at the end.
    pub rollouts: Vec<Document>,
    pub timeout: Duration,
    pub access: Access,
    /// Where the manifests of each phase are written.
    pub dir: PathBuf,
}

/// How to reach the app once deployed.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    Ingress { urls: Vec<String> },
    PortForward { services: Vec<(String, u16)> },
}

/// Files of the three apply phases, under the render directory.
pub const FOUNDATION_FILE: &str = "1-foundation.yaml";
pub const MIGRATION_FILE: &str = "2-migration.yaml";
pub const WORKLOADS_FILE: &str = "3-workloads.yaml";

impl Plan {
    pub fn new(
        rendered: &Rendered,
        release: &Release,
        target: String,
        delivery: String,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut foundation = Vec::new();
        let mut workloads = Vec::new();
        let mut jobs = Vec::new();
        for doc in &rendered.docs {
            match doc.kind.as_str() {
                "Deployment" | "HorizontalPodAutoscaler" => workloads.push(doc.clone()),
                "Job" => jobs.push(doc.clone()),
                _ => foundation.push(doc.clone()),
            }
        }
        let job = match jobs.as_slice() {
            [job] if job.name == release.job_name() => job.clone(),
            [job] => bail!(
                "the migration Job is named {}, expected {}",
                job.name,
                release.job_name()
            ),
            _ => bail!(
                "the {} overlay must render exactly one Job (the migration), found {}",
                rendered.env,
                jobs.len()
            ),
        };
        let databases = foundation
            .iter()
            .filter(|d| d.kind == "StatefulSet" || is_cnpg_cluster(d))
            .cloned()
            .collect();
        let namespace = render::namespace(&rendered.docs, rendered.env)?.to_owned();
        if let Some(stray) = rendered
            .docs
            .iter()
            .find(|d| d.kind != "Namespace" && d.namespace.as_deref() != Some(&namespace))
        {
            bail!(
                "{} is not in the namespace {namespace} of the {} overlay",
                stray.id(),
                rendered.env
            );
        }
        let rollouts = workloads
            .iter()
            .filter(|d| d.kind == "Deployment")
            .cloned()
            .collect();
        Ok(Self {
            env: rendered.env.to_string(),
            namespace,
            target,
            delivery,
            tag: release.tag.clone(),
            images: release.pins.iter().map(|p| p.reference()).collect(),
            foundation,
            databases,
            job,
            workloads,
            rollouts,
            timeout,
            access: access(&rendered.docs)?,
            dir: rendered.dir.clone(),
        })
    }

    /// Writes the manifests of each phase next to the rendered ones.
    pub fn write_phases(&self) -> anyhow::Result<()> {
        for (file, docs) in [
            (FOUNDATION_FILE, self.foundation.as_slice()),
            (MIGRATION_FILE, std::slice::from_ref(&self.job)),
            (WORKLOADS_FILE, self.workloads.as_slice()),
        ] {
            render::write(&self.dir.join(file), &manifest::to_yaml_stream(docs)?)?;
        }
        Ok(())
    }

    /// How long to wait for the migration: its own deadline, plus time to be scheduled.
    pub fn job_timeout(&self) -> Duration {
        let deadline = self
            .job
            .get("/spec/activeDeadlineSeconds")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(600);
        Duration::from_secs(deadline + 60)
    }

    /// The plan as numbered steps.
    pub fn describe(&self) -> String {
        let secs = self.timeout.as_secs();
        let (env, job) = (&self.env, &self.job.name);
        let steps = [
            format!("images: {}", self.delivery),
            format!(
                "apply (server-side) {} objects: {}",
                self.foundation.len(),
                list(&self.foundation, Document::id, "")
            ),
            format!(
                "wait for the database: {} (timeout {secs} s)",
                list(&self.databases, Document::resource, "nothing to wait for")
            ),
            format!(
                "run the migration Job {job} and wait for it (timeout {} s); if it fails or is stuck, print its logs and stop: the Deployments keep their version",
                self.job_timeout().as_secs()
            ),
            format!(
                "apply (server-side) {} objects: {}",
                self.workloads.len(),
                list(&self.workloads, Document::id, "")
            ),
            format!(
                "wait for the rollouts: {} (timeout {secs} s each; a new pod that cannot pull, start or stay up stops the wait), then verify the release through port-forwards: each API pod's readiness 200, GET /randoms a JSON array, the page and its /config.json naming API_BASE_URL. If a rollout or the verification fails: report each failing pod (reason, events, last log lines, readiness), put the live release back when it runs on the schema, wait for it, record the undo, exit non-zero",
                list(&self.rollouts, Document::resource, "none")
            ),
            format!(
                "record the release (tag, images, schema, who, when) in ConfigMap releases: `cargo xtask releases {env}` lists them, `cargo xtask rollback {env}` goes back"
            ),
            format!("print how to reach the app ({})", self.access.summary()),
        ];
        let mut out = format!(
            "plan: deploy {env} (namespace {}) to {}\n  images, tag {}:\n",
            self.namespace, self.target, self.tag
        );
        for image in &self.images {
            let _ = writeln!(out, "    {image}");
        }
        for (n, step) in steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", n + 1);
        }
        let _ = writeln!(out, "  manifests: {}", self.dir.display());
        out
    }
}

impl Access {
    pub fn summary(&self) -> String {
        match self {
            Access::Ingress { urls } => urls.join(", "),
            Access::PortForward { services } => services
                .iter()
                .map(|(svc, port)| format!("port-forward svc/{svc} {port}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// What to tell the user once the rollout is done.
    pub fn instructions(&self, context: &str, namespace: &str, env: &str) -> String {
        match self {
            Access::Ingress { urls } => {
                format!("the app is at {}", urls.join(" and "))
            }
            Access::PortForward { services } => {
                let mut out = format!(
                    "reach the app with `cargo xtask port-forward {env} --context {context}`, or run each of these in its own terminal:\n"
                );
                for (svc, port) in services {
                    let _ = writeln!(
                        out,
                        "  kubectl --context {context} -n {namespace} port-forward svc/{svc} {port}:{port}"
                    );
                }
                if let Some((_, port)) = services.iter().find(|(svc, _)| svc == "web") {
                    let _ = write!(out, "then open http://localhost:{port}");
                }
                out
            }
        }
    }
}

/// The Ingress URLs (https where the Ingress has TLS for the host), else the port-forwards
/// of the page and the API, whose local ports are the ones the dev config expects.
pub fn access(docs: &[Document]) -> anyhow::Result<Access> {
    let mut urls = Vec::new();
    for ingress in docs.iter().filter(|d| d.kind == "Ingress") {
        let tls_hosts: Vec<&str> = ingress
            .get("/spec/tls")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("hosts").and_then(|h| h.as_array()))
            .flatten()
            .filter_map(|h| h.as_str())
            .collect();
        let rules = ingress.get("/spec/rules").and_then(|r| r.as_array());
        for rule in rules.into_iter().flatten() {
            if let Some(host) = rule.get("host").and_then(|h| h.as_str()) {
                let scheme = if tls_hosts.contains(&host) {
                    "https"
                } else {
                    "http"
                };
                urls.push(format!("{scheme}://{host}/"));
            }
        }
    }
    if !urls.is_empty() {
        return Ok(Access::Ingress { urls });
    }
    let mut services = Vec::new();
    for name in ["web", "api"] {
        let svc = docs
            .iter()
            .find(|d| d.kind == "Service" && d.name == name)
            .with_context(|| format!("no Ingress and no Service {name} to port-forward"))?;
        let port = svc
            .port()
            .with_context(|| format!("Service {name} has no port"))?;
        services.push((name.to_owned(), port));
    }
    Ok(Access::PortForward { services })
}

pub fn is_cnpg_cluster(doc: &Document) -> bool {
    doc.kind == "Cluster" && doc.api_version.starts_with("postgresql.cnpg.io/")
}

/// The documents' names, comma-separated; `none` when there are none.
fn list(docs: &[Document], name: fn(&Document) -> String, none: &str) -> String {
    if docs.is_empty() {
        return none.to_owned();
    }
    docs.iter().map(name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
#[path = "../../unit-tests/deploy/plan.rs"]
mod tests;

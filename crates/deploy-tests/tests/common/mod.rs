//! Shared by the deploy tests: rendering the overlays with the real xtask binary (or plain
//! kustomize), and reading the result into typed Kubernetes objects (k8s-openapi).
// Each test binary uses its own part of this module.
#![allow(dead_code)]

pub mod checks;
pub mod monitoring;
pub mod tools;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

use k8s_openapi::{
    api::{
        apps::v1::{Deployment, StatefulSet},
        autoscaling::v2::HorizontalPodAutoscaler,
        batch::v1::{CronJob, Job},
        core::v1::{
            ConfigMap, Namespace, PersistentVolumeClaim, PodTemplateSpec, Secret, Service,
            ServiceAccount,
        },
        networking::v1::{Ingress, NetworkPolicy},
        policy::v1::PodDisruptionBudget,
        rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding},
    },
    apimachinery::pkg::apis::meta::v1::LabelSelector,
};
use serde::Deserialize;
use serde_json::Value;

/// What the tests pin the images to.
pub const TAG: &str = "t3st-c0mmit";
pub const REGISTRY: &str = "registry.test/randoms";
pub const ENVS: [&str; 2] = ["dev", "prod"];

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/deploy-tests is inside the workspace")
        .to_path_buf()
}

/// The real xtask executable: `XTASK_BIN` when set (`cargo xtask test` sets it to itself),
/// otherwise built once per test process with `cargo build --locked -q -p xtask` in the
/// workspace root, into `CARGO_TARGET_DIR` (or `target/`).
pub fn xtask_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("XTASK_BIN") {
            return Ok(PathBuf::from(bin));
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(&cargo)
            .args(["build", "--locked", "-q", "-p", "xtask"])
            .current_dir(root())
            .status()
            .map_err(|e| format!("could not run {}: {e}", Path::new(&cargo).display()))?;
        if !status.success() {
            return Err(format!(
                "`cargo build --locked -q -p xtask` failed ({status}); set XTASK_BIN to an xtask executable to skip the build"
            ));
        }
        // A relative CARGO_TARGET_DIR is relative to where cargo ran: the workspace root.
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(|dir| root().join(dir))
            .unwrap_or_else(|| root().join("target"));
        Ok(target.join("debug").join("xtask"))
    });
    match bin {
        Ok(bin) => bin,
        Err(e) => panic!("no xtask binary for the deploy tests: {e}"),
    }
}

/// The xtask binary, kept away from the user's kubeconfig.
pub fn xtask(args: &[&str]) -> Command {
    let mut cmd = Command::new(xtask_bin());
    cmd.args(args).current_dir(root()).env(
        "KUBECONFIG",
        root().join("target/deploy-tests-no-kubeconfig"),
    );
    cmd
}

pub fn run(mut cmd: Command) -> Output {
    let output = cmd.output().expect("running xtask");
    if !output.status.success() {
        panic!(
            "{cmd:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// `cargo xtask render <env> --tag TAG --registry REGISTRY`, once per test process.
/// `cargo xtask render <env>` with the tests' tag and registry: the manifests as YAML.
pub fn render(env: &str) -> Vec<u8> {
    render_with(env, &[])
}

/// [`render`] with more arguments.
pub fn render_with(env: &str, more: &[&str]) -> Vec<u8> {
    let args = [&["render", env, "--tag", TAG, "--registry", REGISTRY], more].concat();
    run(xtask(&args)).stdout
}

pub fn rendered(env: &str) -> &'static Manifests {
    static DEV: OnceLock<Manifests> = OnceLock::new();
    static PROD: OnceLock<Manifests> = OnceLock::new();
    let cell = match env {
        "dev" => &DEV,
        "prod" => &PROD,
        other => panic!("no environment {other}"),
    };
    cell.get_or_init(|| {
        let text = String::from_utf8(render(env)).expect("UTF-8 manifests");
        Manifests::parse(env, &text).unwrap_or_else(|e| panic!("rendered {env}: {e}"))
    })
}

/// `kubectl kustomize deploy/overlays/<env>`: the overlay with no xtask involved (the dev
/// secret file is made by the xtask render above, as on a developer's machine).
pub fn plain(env: &str) -> Manifests {
    rendered(env);
    let overlay = root().join("deploy/overlays").join(env);
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(&overlay)
        .output()
        .expect("kubectl is needed to render the overlays (it has kustomize built in)");
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}",
        overlay.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8 manifests");
    Manifests::parse(env, &text).unwrap_or_else(|e| panic!("plain {env}: {e}"))
}

/// Every document of a YAML stream, as JSON values.
pub fn yaml_values(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The documents of a YAML file up to the first that does not parse.
pub fn yaml_values_lenient(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map_while(|doc| Value::deserialize(doc).ok())
        .filter(|v| !v.is_null())
        .collect()
}

/// One document, typed.
// A few dozen objects per test: their sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Typed {
    Namespace(Namespace),
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    Secret(Secret),
    Service(Service),
    PersistentVolumeClaim(PersistentVolumeClaim),
    Deployment(Deployment),
    StatefulSet(StatefulSet),
    Job(Job),
    CronJob(CronJob),
    PodDisruptionBudget(PodDisruptionBudget),
    Ingress(Ingress),
    NetworkPolicy(NetworkPolicy),
    Role(Role),
    RoleBinding(RoleBinding),
    ClusterRole(ClusterRole),
    ClusterRoleBinding(ClusterRoleBinding),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    /// A CloudNativePG `Cluster`: no Rust type; checked field by field.
    CnpgCluster,
    ServiceMonitor(monitoring::ServiceMonitor),
    PrometheusRule(monitoring::PrometheusRule),
}

#[derive(Clone, Debug)]
pub struct Object {
    pub kind: String,
    pub name: String,
    pub value: Value,
    pub typed: Typed,
}

/// The rendered overlay of one environment.
#[derive(Clone, Debug)]
pub struct Manifests {
    pub env: String,
    pub objects: Vec<Object>,
}

macro_rules! typed {
    ($value:expr, $variant:ident, $ty:ty) => {
        serde_json::from_value::<$ty>($value.clone())
            .map(|t| (Typed::$variant(t.clone()), serde_json::to_value(&t)))
    };
}

impl Manifests {
    pub fn parse(env: &str, text: &str) -> Result<Self, String> {
        Self::from_values(env, yaml_values(text))
    }

    /// Every document must be a known kind and read into its k8s-openapi type losing
    /// nothing: a field the type does not know (a typo, a wrong level) is an error, since
    /// the API server would ignore it silently.
    pub fn from_values(env: &str, values: Vec<Value>) -> Result<Self, String> {
        let mut objects = Vec::new();
        let mut problems = Vec::new();
        for value in values {
            let api_version = value["apiVersion"].as_str().unwrap_or_default().to_owned();
            let kind = value["kind"].as_str().unwrap_or_default().to_owned();
            let name = value["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let id = format!("{kind}/{name}");
            let parsed = match (api_version.as_str(), kind.as_str()) {
                ("v1", "Namespace") => typed!(value, Namespace, Namespace),
                ("v1", "ServiceAccount") => typed!(value, ServiceAccount, ServiceAccount),
                ("v1", "ConfigMap") => typed!(value, ConfigMap, ConfigMap),
                ("v1", "Secret") => typed!(value, Secret, Secret),
                ("v1", "Service") => typed!(value, Service, Service),
                ("v1", "PersistentVolumeClaim") => {
                    typed!(value, PersistentVolumeClaim, PersistentVolumeClaim)
                }
                ("apps/v1", "Deployment") => typed!(value, Deployment, Deployment),
                ("apps/v1", "StatefulSet") => typed!(value, StatefulSet, StatefulSet),
                ("batch/v1", "Job") => typed!(value, Job, Job),
                ("batch/v1", "CronJob") => typed!(value, CronJob, CronJob),
                ("policy/v1", "PodDisruptionBudget") => {
                    typed!(value, PodDisruptionBudget, PodDisruptionBudget)
                }
                ("networking.k8s.io/v1", "Ingress") => typed!(value, Ingress, Ingress),
                ("networking.k8s.io/v1", "NetworkPolicy") => {
                    typed!(value, NetworkPolicy, NetworkPolicy)
                }
                ("rbac.authorization.k8s.io/v1", "Role") => typed!(value, Role, Role),
                ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
                    typed!(value, RoleBinding, RoleBinding)
                }
                ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
                    typed!(value, ClusterRole, ClusterRole)
                }
                ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
                    typed!(value, ClusterRoleBinding, ClusterRoleBinding)
                }
                ("autoscaling/v2", "HorizontalPodAutoscaler") => {
                    typed!(value, HorizontalPodAutoscaler, HorizontalPodAutoscaler)
                }
                ("postgresql.cnpg.io/v1", "Cluster") => Ok((Typed::CnpgCluster, Ok(value.clone()))),
                ("monitoring.coreos.com/v1", "ServiceMonitor") => {
                    typed!(value, ServiceMonitor, monitoring::ServiceMonitor)
                }
                ("monitoring.coreos.com/v1", "PrometheusRule") => {
                    typed!(value, PrometheusRule, monitoring::PrometheusRule)
                }
                _ => {
                    problems.push(format!(
                        "{id}: {api_version} {kind} is not a kind these tests know; add it to the typed parser"
                    ));
                    continue;
                }
            };
            match parsed {
                Ok((typed, Ok(back))) => {
                    let mut lost = Vec::new();
                    dropped(&value, &back, "", &mut lost);
                    if !lost.is_empty() {
                        problems.push(format!(
                            "{id}: not read by the {kind} type: {}",
                            lost.join(", ")
                        ));
                    }
                    objects.push(Object {
                        kind,
                        name,
                        value,
                        typed,
                    });
                }
                Ok((_, Err(e))) => problems.push(format!("{id}: cannot serialize back: {e}")),
                Err(e) => problems.push(format!("{id}: not a valid {kind}: {e}")),
            }
        }
        if problems.is_empty() {
            Ok(Self {
                env: env.to_owned(),
                objects,
            })
        } else {
            Err(problems.join("\n"))
        }
    }

    pub fn values(&self) -> Vec<Value> {
        self.objects.iter().map(|o| o.value.clone()).collect()
    }

    pub fn namespace(&self) -> &str {
        self.namespaces()
            .next()
            .and_then(|n| n.metadata.name.as_deref())
            .expect("a Namespace")
    }

    /// The one object of a kind whose name is `base`, or `base` plus kustomize's hash.
    pub fn named<'a, T>(&'a self, items: impl Iterator<Item = &'a T>, base: &str) -> Option<&'a T>
    where
        T: k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>
            + 'a,
    {
        let mut found = items.filter(|item| {
            item.metadata()
                .name
                .as_deref()
                .is_some_and(|n| same_base(n, base))
        });
        let first = found.next();
        assert!(found.next().is_none(), "two objects named {base}");
        first
    }

    /// Every pod template with the name of its owner: Deployments, StatefulSets, Jobs and
    /// the Jobs of CronJobs.
    pub fn pod_templates(&self) -> Vec<(String, &PodTemplateSpec)> {
        let mut out = Vec::new();
        for o in &self.objects {
            let id = format!("{}/{}", o.kind, o.name);
            let template = match &o.typed {
                Typed::Deployment(d) => d.spec.as_ref().map(|s| &s.template),
                Typed::StatefulSet(s) => s.spec.as_ref().map(|s| &s.template),
                Typed::Job(j) => j.spec.as_ref().map(|s| &s.template),
                Typed::CronJob(c) => c
                    .spec
                    .as_ref()
                    .and_then(|s| s.job_template.spec.as_ref())
                    .map(|s| &s.template),
                _ => None,
            };
            if let Some(template) = template {
                out.push((id, template));
            }
        }
        out
    }

    /// The data of a ConfigMap found by its base name.
    pub fn config(&self, base: &str) -> std::collections::BTreeMap<String, String> {
        self.named(self.config_maps(), base)
            .unwrap_or_else(|| panic!("{}: no ConfigMap {base}", self.env))
            .data
            .clone()
            .unwrap_or_default()
    }

    pub fn cnpg_clusters(&self) -> impl Iterator<Item = &Value> {
        self.objects
            .iter()
            .filter(|o| matches!(o.typed, Typed::CnpgCluster))
            .map(|o| &o.value)
    }
}

macro_rules! accessor {
    ($fn:ident, $variant:ident, $ty:ty) => {
        impl Manifests {
            pub fn $fn(&self) -> impl Iterator<Item = &$ty> {
                self.objects.iter().filter_map(|o| match &o.typed {
                    Typed::$variant(t) => Some(t),
                    _ => None,
                })
            }
        }
    };
}
accessor!(namespaces, Namespace, Namespace);
accessor!(service_accounts, ServiceAccount, ServiceAccount);
accessor!(config_maps, ConfigMap, ConfigMap);
accessor!(secrets, Secret, Secret);
accessor!(services, Service, Service);
accessor!(pvcs, PersistentVolumeClaim, PersistentVolumeClaim);
accessor!(deployments, Deployment, Deployment);
accessor!(stateful_sets, StatefulSet, StatefulSet);
accessor!(jobs, Job, Job);
accessor!(cron_jobs, CronJob, CronJob);
accessor!(pdbs, PodDisruptionBudget, PodDisruptionBudget);
accessor!(ingresses, Ingress, Ingress);
accessor!(network_policies, NetworkPolicy, NetworkPolicy);
accessor!(roles, Role, Role);
accessor!(role_bindings, RoleBinding, RoleBinding);
accessor!(cluster_roles, ClusterRole, ClusterRole);
accessor!(
    cluster_role_bindings,
    ClusterRoleBinding,
    ClusterRoleBinding
);
accessor!(hpas, HorizontalPodAutoscaler, HorizontalPodAutoscaler);
accessor!(service_monitors, ServiceMonitor, monitoring::ServiceMonitor);
accessor!(prometheus_rules, PrometheusRule, monitoring::PrometheusRule);

/// `name` is `base` or `base-<kustomize hash>`.
pub fn same_base(name: &str, base: &str) -> bool {
    name == base
        || name.strip_prefix(base).is_some_and(|rest| {
            rest.len() == 11
                && rest.starts_with('-')
                && rest[1..].chars().all(|c| c.is_ascii_alphanumeric())
        })
}

/// Paths present in `original` that the typed round trip lost or changed.
fn dropped(original: &Value, back: &Value, path: &str, out: &mut Vec<String>) {
    match (original, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let here = format!("{path}/{key}");
                match b.get(key) {
                    Some(other) => dropped(value, other, &here, out),
                    None if value.is_null() => {}
                    None => out.push(here),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                dropped(x, y, &format!("{path}/{i}"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path} ({a} became {b})")),
        _ => {}
    }
}

/// Whether a selector's `matchLabels` and `matchExpressions` (In, NotIn, Exists,
/// DoesNotExist) accept these labels. An empty selector accepts everything.
pub fn selects(
    selector: &LabelSelector,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = selector.match_expressions.iter().flatten().all(|e| {
        let value = labels.get(&e.key);
        let values = e.values.clone().unwrap_or_default();
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            other => panic!("unknown selector operator {other}"),
        }
    });
    by_labels && by_expressions
}

pub fn labels_of(template: &PodTemplateSpec) -> std::collections::BTreeMap<String, String> {
    template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

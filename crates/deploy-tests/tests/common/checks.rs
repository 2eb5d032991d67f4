//! The rules the manifests must follow. Each check returns the problems it found (empty:
//! fine) and panics when it finds nothing to check at all, so a check cannot pass by
//! looking at nothing. The mutation tests in manifests.rs break each rule on purpose.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::{
    api::core::v1::{Container, EnvVar, PodSpec, PodTemplateSpec, Probe},
    apimachinery::pkg::util::intstr::IntOrString,
};
use serde_json::Value;
use settings::Variable;

use super::{Manifests, labels_of, same_base, selects};

pub type Problems = Vec<String>;

/// Keys of the Secret CloudNativePG creates as `<cluster>-app`.
const CNPG_APP_SECRET_KEYS: &[&str] = &[
    "username", "password", "dbname", "host", "port", "uri", "jdbc-uri", "pgpass",
];

fn ensure_found(what: &str, count: usize) {
    assert!(count > 0, "nothing to check: no {what}");
}

fn containers(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
}

fn spec(template: &PodTemplateSpec) -> &PodSpec {
    template.spec.as_ref().expect("a pod template has a spec")
}

/// The pod template of a workload by name (`Deployment/api`…).
pub fn template<'a>(m: &'a Manifests, id: &str) -> &'a PodTemplateSpec {
    m.pod_templates()
        .into_iter()
        .find(|(owner, _)| owner == id)
        .map(|(_, t)| t)
        .unwrap_or_else(|| panic!("{}: no {id}", m.env))
}

pub fn container<'a>(m: &'a Manifests, id: &str) -> &'a Container {
    spec(template(m, id))
        .containers
        .first()
        .unwrap_or_else(|| panic!("{id} has no container"))
}

fn env_value<'a>(c: &'a Container, name: &str) -> Option<&'a EnvVar> {
    c.env.iter().flatten().find(|e| e.name == name)
}

/// One namespace, not `default`, holding every object.
pub fn namespaces(m: &Manifests) -> Problems {
    let mut problems = Vec::new();
    let names: Vec<_> = m
        .namespaces()
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    if names.len() != 1 {
        return vec![format!("expected one Namespace, found {names:?}")];
    }
    let ns = &names[0];
    if ns == "default" || ns.starts_with("kube-") {
        problems.push(format!("namespace {ns} is not one of our own"));
    }
    for o in m.objects.iter().filter(|o| o.kind != "Namespace") {
        if o.value["metadata"]["namespace"].as_str() != Some(ns) {
            problems.push(format!("{}/{} is not in namespace {ns}", o.kind, o.name));
        }
    }
    problems
}

/// Every Service selects a pod template, and each of its target ports is a container port.
pub fn service_selectors_and_ports(m: &Manifests) -> Problems {
    let mut problems = Vec::new();
    let workloads: Vec<_> = m
        .pod_templates()
        .into_iter()
        .filter(|(id, _)| id.starts_with("Deployment/") || id.starts_with("StatefulSet/"))
        .collect();
    let mut count = 0;
    for svc in m.services() {
        count += 1;
        let name = svc.metadata.name.clone().unwrap_or_default();
        let spec = svc.spec.clone().unwrap_or_default();
        let Some(selector) = spec.selector.filter(|s| !s.is_empty()) else {
            problems.push(format!("Service {name} has no selector"));
            continue;
        };
        let selected: Vec<_> = workloads
            .iter()
            .filter(|(_, t)| {
                let labels = labels_of(t);
                selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .collect();
        if selected.is_empty() {
            problems.push(format!("Service {name} selects no pod ({selector:?})"));
        }
        for port in spec.ports.iter().flatten() {
            for (owner, t) in &selected {
                let target = port
                    .target_port
                    .clone()
                    .unwrap_or(IntOrString::Int(port.port));
                if container_port(spec_of(t), &target).is_none() {
                    problems.push(format!(
                        "Service {name} port {}: target port {target:?} is no container port of {owner}",
                        port.port
                    ));
                }
            }
        }
    }
    ensure_found("Service", count);
    problems
}

fn spec_of(t: &PodTemplateSpec) -> &PodSpec {
    spec(t)
}

/// The container port a name or number designates.
pub fn container_port(spec: &PodSpec, port: &IntOrString) -> Option<i32> {
    containers(spec)
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| match port {
            IntOrString::Int(n) => p.container_port == *n,
            IntOrString::String(name) => p.name.as_deref() == Some(name.as_str()),
        })
        .map(|p| p.container_port)
}

/// The ports the programs are configured with are the ports their containers declare, and
/// the database the API is pointed at exists on the port it is told.
pub fn configured_ports(m: &Manifests) -> Problems {
    let mut problems = Vec::new();
    let api_config = m.config("api-config");
    let web_config = m.config("web-config");
    for (id, key, config) in [
        ("Deployment/api", "API_PORT", &api_config),
        ("Deployment/web", "WEB_PORT", &web_config),
    ] {
        let want = config.get(key).and_then(|p| p.parse::<i32>().ok());
        let http = container_port(spec(template(m, id)), &IntOrString::String("http".into()));
        if want.is_none() || want != http {
            problems.push(format!(
                "{id}: {key} is {want:?} but its `http` container port is {http:?}"
            ));
        }
    }
    let host = api_config.get("DB_HOST").cloned().unwrap_or_default();
    let port = api_config
        .get("DB_PORT")
        .and_then(|p| p.parse::<i32>().ok());
    let clusters: Vec<_> = m.cnpg_clusters().collect();
    if let Some(cluster) = clusters.first() {
        let name = cluster["metadata"]["name"].as_str().unwrap_or_default();
        if host != format!("{name}-rw") {
            problems.push(format!(
                "DB_HOST is {host:?}, not CloudNativePG's read-write Service {name}-rw"
            ));
        }
        if port != Some(5432) {
            problems.push(format!(
                "DB_PORT is {port:?}; CloudNativePG listens on 5432"
            ));
        }
    } else {
        let Some(svc) = m
            .services()
            .find(|s| s.metadata.name.as_deref() == Some(&host))
        else {
            return vec![format!("DB_HOST {host:?} is no Service")];
        };
        let svc_spec = svc.spec.clone().unwrap_or_default();
        if !svc_spec
            .ports
            .iter()
            .flatten()
            .any(|p| Some(p.port) == port)
        {
            problems.push(format!("Service {host} has no port DB_PORT={port:?}"));
        }
        let selector = svc_spec.selector.unwrap_or_default();
        let db = template(m, "StatefulSet/postgres");
        let labels = labels_of(db);
        if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            problems.push(format!(
                "Service {host} does not select the PostgreSQL pods"
            ));
        }
        let served = container_port(spec(db), &IntOrString::String("postgres".into()));
        if served != port {
            problems.push(format!(
                "PostgreSQL listens on {served:?}, DB_PORT is {port:?}"
            ));
        }
        if let Some(db_name) = env_value(container(m, "StatefulSet/postgres"), "POSTGRES_DB") {
            if db_name.value.as_deref() != api_config.get("DB_NAME").map(String::as_str) {
                problems.push(format!(
                    "the server creates database {:?}, the API uses DB_NAME {:?}",
                    db_name.value,
                    api_config.get("DB_NAME")
                ));
            }
        } else {
            problems.push("StatefulSet/postgres sets no POSTGRES_DB".into());
        }
    }
    problems
}

/// Every ConfigMap, Secret, PVC, ServiceAccount and volume a pod names exists in the
/// manifests or is made by a controller the manifests name (CloudNativePG's app Secret,
/// cert-manager's TLS Secret); every key read from one exists in it.
pub fn references(m: &Manifests) -> Problems {
    let mut problems = Vec::new();
    let mut count = 0;
    let config_maps: BTreeMap<String, BTreeSet<String>> = m
        .config_maps()
        .map(|c| {
            let keys = c.data.iter().flatten().map(|(k, _)| k.clone());
            let binary = c.binary_data.iter().flatten().map(|(k, _)| k.clone());
            (
                c.metadata.name.clone().unwrap_or_default(),
                keys.chain(binary).collect(),
            )
        })
        .collect();
    let mut secrets: BTreeMap<String, BTreeSet<String>> = m
        .secrets()
        .map(|s| {
            let keys = s.data.iter().flatten().map(|(k, _)| k.clone());
            let strings = s.string_data.iter().flatten().map(|(k, _)| k.clone());
            (
                s.metadata.name.clone().unwrap_or_default(),
                keys.chain(strings).collect(),
            )
        })
        .collect();
    for cluster in m.cnpg_clusters() {
        if cluster.pointer("/spec/bootstrap/initdb").is_some() {
            let name = cluster["metadata"]["name"].as_str().unwrap_or_default();
            secrets.insert(
                format!("{name}-app"),
                CNPG_APP_SECRET_KEYS.iter().map(|k| k.to_string()).collect(),
            );
        }
    }
    for ingress in m.ingresses() {
        let annotations = ingress.metadata.annotations.clone().unwrap_or_default();
        let issued = annotations.contains_key("cert-manager.io/cluster-issuer")
            || annotations.contains_key("cert-manager.io/issuer");
        for tls in ingress.spec.iter().flat_map(|s| s.tls.iter().flatten()) {
            count += 1;
            let Some(secret) = &tls.secret_name else {
                continue;
            };
            if issued {
                secrets
                    .entry(secret.clone())
                    .or_insert_with(|| ["tls.crt", "tls.key"].map(String::from).into());
            } else if !secrets.contains_key(secret) {
                problems.push(format!(
                    "Ingress TLS Secret {secret} exists nowhere and no issuer makes it"
                ));
            }
        }
    }
    let pvcs: BTreeSet<String> = m.pvcs().filter_map(|p| p.metadata.name.clone()).collect();
    let accounts: BTreeSet<String> = m
        .service_accounts()
        .filter_map(|a| a.metadata.name.clone())
        .collect();
    let claim_templates: BTreeMap<String, BTreeSet<String>> = m
        .stateful_sets()
        .map(|s| {
            let names = s
                .spec
                .iter()
                .flat_map(|s| s.volume_claim_templates.iter().flatten())
                .filter_map(|t| t.metadata.name.clone())
                .collect();
            (
                format!(
                    "StatefulSet/{}",
                    s.metadata.name.clone().unwrap_or_default()
                ),
                names,
            )
        })
        .collect();

    // (owner, kind, name, key) of every ConfigMap and Secret a pod reads.
    let mut wanted: Vec<(String, &str, String, Option<String>)> = Vec::new();
    for (owner, t) in m.pod_templates() {
        let spec = spec(t);
        match &spec.service_account_name {
            Some(sa) if accounts.contains(sa) => {}
            other => problems.push(format!("{owner}: ServiceAccount {other:?} exists nowhere")),
        }
        for c in containers(spec) {
            for from in c.env_from.iter().flatten() {
                if let Some(r) = &from.config_map_ref {
                    wanted.push((owner.clone(), "ConfigMap", r.name.clone(), None));
                }
                if let Some(r) = &from.secret_ref {
                    wanted.push((owner.clone(), "Secret", r.name.clone(), None));
                }
            }
            for var in c.env.iter().flatten() {
                let Some(from) = &var.value_from else {
                    continue;
                };
                if let Some(r) = &from.config_map_key_ref {
                    wanted.push((
                        owner.clone(),
                        "ConfigMap",
                        r.name.clone(),
                        Some(r.key.clone()),
                    ));
                }
                if let Some(r) = &from.secret_key_ref {
                    wanted.push((owner.clone(), "Secret", r.name.clone(), Some(r.key.clone())));
                }
            }
        }
        let mut volumes = BTreeSet::new();
        for v in spec.volumes.iter().flatten() {
            volumes.insert(v.name.clone());
            if let Some(cm) = &v.config_map {
                wanted.push((owner.clone(), "ConfigMap", cm.name.clone(), None));
            }
            if let Some(secret) = v.secret.as_ref().and_then(|s| s.secret_name.as_ref()) {
                wanted.push((owner.clone(), "Secret", secret.clone(), None));
            }
            if let Some(claim) = &v.persistent_volume_claim {
                count += 1;
                if !pvcs.contains(&claim.claim_name) {
                    problems.push(format!(
                        "{owner}: PersistentVolumeClaim {} exists nowhere",
                        claim.claim_name
                    ));
                }
            }
        }
        volumes.extend(claim_templates.get(&owner).cloned().unwrap_or_default());
        for c in containers(spec) {
            for mount in c.volume_mounts.iter().flatten() {
                count += 1;
                if !volumes.contains(&mount.name) {
                    problems.push(format!(
                        "{owner}: container {} mounts {} which is no volume of the pod",
                        c.name, mount.name
                    ));
                }
            }
        }
    }
    for (owner, kind, name, key) in wanted {
        count += 1;
        let store = if kind == "ConfigMap" {
            &config_maps
        } else {
            &secrets
        };
        match (store.get(&name), key) {
            (None, _) => problems.push(format!("{owner}: {kind} {name} exists nowhere")),
            (Some(keys), Some(key)) if !keys.contains(&key) => {
                problems.push(format!("{owner}: {kind} {name} has no key {key}"))
            }
            _ => {}
        }
    }
    ensure_found("reference", count);
    problems
}

/// Every container runs unprivileged, read-only, with all capabilities dropped, the
/// runtime's seccomp profile, bounded resources and a pinned image; no pod gets an API
/// token or service-link variables (a Service named `api` would inject API_PORT).
pub fn hardening(m: &Manifests) -> Problems {
    let mut problems = Vec::new();
    let mut count = 0;
    for (owner, t) in m.pod_templates() {
        let spec = spec(t);
        let pod = spec.security_context.clone().unwrap_or_default();
        if spec.automount_service_account_token != Some(false) {
            problems.push(format!(
                "{owner}: automountServiceAccountToken is not false"
            ));
        }
        if spec.enable_service_links != Some(false) {
            problems.push(format!("{owner}: enableServiceLinks is not false"));
        }
        for (flag, set) in [
            ("hostNetwork", spec.host_network),
            ("hostPID", spec.host_pid),
            ("hostIPC", spec.host_ipc),
        ] {
            if set == Some(true) {
                problems.push(format!("{owner}: {flag}"));
            }
        }
        for c in containers(spec) {
            count += 1;
            let at = format!("{owner} container {}", c.name);
            let sc = c.security_context.clone().unwrap_or_default();
            if sc.run_as_non_root.or(pod.run_as_non_root) != Some(true) {
                problems.push(format!("{at}: runAsNonRoot is not true"));
            }
            if sc.run_as_user.or(pod.run_as_user) == Some(0) {
                problems.push(format!("{at}: runs as uid 0"));
            }
            let seccomp = sc
                .seccomp_profile
                .clone()
                .or(pod.seccomp_profile.clone())
                .map(|p| p.type_);
            if seccomp.as_deref() != Some("RuntimeDefault") {
                problems.push(format!(
                    "{at}: seccompProfile is {seccomp:?}, not RuntimeDefault"
                ));
            }
            if sc.allow_privilege_escalation != Some(false) {
                problems.push(format!("{at}: allowPrivilegeEscalation is not false"));
            }
            if sc.privileged == Some(true) {
                problems.push(format!("{at}: privileged"));
            }
            if sc.read_only_root_filesystem != Some(true) {
                problems.push(format!("{at}: readOnlyRootFilesystem is not true"));
            }
            let caps = sc.capabilities.clone().unwrap_or_default();
            if !caps.drop.iter().flatten().any(|d| d == "ALL") {
                problems.push(format!("{at}: capabilities do not drop ALL"));
            }
            if caps.add.iter().flatten().next().is_some() {
                problems.push(format!("{at}: adds capabilities {:?}", caps.add));
            }
            let resources = c.resources.clone().unwrap_or_default();
            for (what, set) in [
                ("requests", &resources.requests),
                ("limits", &resources.limits),
            ] {
                for r in ["cpu", "memory"] {
                    if !set.as_ref().is_some_and(|s| s.contains_key(r)) {
                        problems.push(format!("{at}: no {r} in resources.{what}"));
                    }
                }
            }
            problems.extend(image_pinned(&at, c.image.as_deref().unwrap_or_default()));
        }
    }
    for cluster in m.cnpg_clusters() {
        count += 1;
        for pointer in [
            "/spec/resources/requests/cpu",
            "/spec/resources/requests/memory",
            "/spec/resources/limits/memory",
        ] {
            if cluster.pointer(pointer).is_none() {
                problems.push(format!("Cluster: no {pointer}"));
            }
        }
        let image = cluster
            .pointer("/spec/imageName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        problems.extend(image_pinned("Cluster", image));
        if !image.contains("@sha256:") {
            problems.push(format!("Cluster: image {image} is not pinned by digest"));
        }
    }
    ensure_found("container", count);
    problems
}

/// A tag that names a release (a digit in it) or a digest; never `latest`.
fn image_pinned(at: &str, image: &str) -> Problems {
    let name = image.split('@').next().unwrap_or_default();
    let tag = name
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .map(|(_, t)| t);
    match tag {
        _ if image.contains("@sha256:") => vec![],
        Some(tag) if tag != "latest" && tag.chars().any(|c| c.is_ascii_digit()) => vec![],
        _ => vec![format!("{at}: image {image:?} is not pinned to a version")],
    }
}

/// Probes: the API's readiness is `/ready`, its liveness `/healthz`, both real routes of
/// the API (`api_routes`); the static server's probes are paths it answers itself
/// (`web_answers`), not its SPA fallback; PostgreSQL's are `pg_isready`.
pub fn probes(
    m: &Manifests,
    api_routes: &BTreeSet<String>,
    web_answers: &dyn Fn(&str) -> bool,
) -> Problems {
    let mut problems = Vec::new();
    let path = |probe: &Option<Probe>| {
        probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.clone())
    };
    for id in ["Deployment/api", "Deployment/web"] {
        let t = template(m, id);
        let c = container(m, id);
        for (kind, probe) in [
            ("startup", &c.startup_probe),
            ("readiness", &c.readiness_probe),
            ("liveness", &c.liveness_probe),
        ] {
            let Some(get) = probe.as_ref().and_then(|p| p.http_get.as_ref()) else {
                problems.push(format!("{id}: no HTTP {kind} probe"));
                continue;
            };
            if container_port(spec(t), &get.port).is_none() {
                problems.push(format!(
                    "{id}: {kind} probe port {:?} is no container port",
                    get.port
                ));
            }
            let p = get.path.clone().unwrap_or_default();
            let real = if id == "Deployment/api" {
                api_routes.contains(&p)
            } else {
                web_answers(&p)
            };
            if !real {
                problems.push(format!(
                    "{id}: {kind} probe path {p:?} is not a route of the program"
                ));
            }
        }
    }
    let api = container(m, "Deployment/api");
    if path(&api.readiness_probe).as_deref() != Some("/ready") {
        problems.push("Deployment/api: readiness must be /ready (database and schema)".into());
    }
    if path(&api.liveness_probe).as_deref() != Some("/healthz") {
        problems.push("Deployment/api: liveness must be /healthz (never the database)".into());
    }
    if m.stateful_sets().next().is_some() {
        let db = container(m, "StatefulSet/postgres");
        for (kind, probe) in [
            ("startup", &db.startup_probe),
            ("readiness", &db.readiness_probe),
            ("liveness", &db.liveness_probe),
        ] {
            let command = probe
                .as_ref()
                .and_then(|p| p.exec.as_ref())
                .and_then(|e| e.command.clone())
                .unwrap_or_default()
                .join(" ");
            if !command.contains("pg_isready") {
                problems.push(format!(
                    "StatefulSet/postgres: {kind} probe is not pg_isready"
                ));
            }
        }
    }
    problems
}

/// ConfigMap keys are exactly the variables the programs read, less those that come from a
/// Secret or the image; nothing else is set on their containers.
pub fn config_keys(
    m: &Manifests,
    api_vars: &[Variable],
    web_vars: &[Variable],
    migrator_vars: &[Variable],
) -> Problems {
    let mut problems = Vec::new();
    let keys = |base: &str| m.config(base).keys().cloned().collect::<BTreeSet<_>>();
    let expect = |vars: &[Variable], not: &[&str]| {
        vars.iter()
            .map(|v| v.name)
            .filter(|name| !not.contains(name))
            .map(str::to_owned)
            .collect::<BTreeSet<_>>()
    };
    // DB_USER and DB_PASS come from the Secret, DATABASE_URL is not used (the split form is),
    // CONFIG_FILE is not used (the environment is the configuration).
    let api_want = expect(
        api_vars,
        &["DB_USER", "DB_PASS", "DATABASE_URL", "CONFIG_FILE"],
    );
    let api_have = keys("api-config");
    if api_have != api_want {
        problems.push(format!(
            "api-config keys differ from the API's variables: extra {:?}, missing {:?}",
            api_have.difference(&api_want).collect::<Vec<_>>(),
            api_want.difference(&api_have).collect::<Vec<_>>()
        ));
    }
    // WEB_ROOT is the image's (where the bundle is); WEB_DEV_RELOAD is for debug builds only.
    let web_want = expect(web_vars, &["WEB_ROOT", "CONFIG_FILE", "WEB_DEV_RELOAD"]);
    let web_have = keys("web-config");
    if web_have != web_want {
        problems.push(format!(
            "web-config keys differ from the static server's variables: extra {:?}, missing {:?}",
            web_have.difference(&web_want).collect::<Vec<_>>(),
            web_want.difference(&web_have).collect::<Vec<_>>()
        ));
    }
    for (id, allowed) in [
        ("Deployment/api", api_vars),
        ("Deployment/web", web_vars),
        ("Job/", migrator_vars),
    ] {
        let Some((owner, t)) = m
            .pod_templates()
            .into_iter()
            .find(|(owner, _)| owner.starts_with(id))
        else {
            problems.push(format!("no {id}"));
            continue;
        };
        for c in containers(spec(t)) {
            for var in c.env.iter().flatten() {
                if !allowed.iter().any(|v| v.name == var.name) || var.name == "WEB_DEV_RELOAD" {
                    problems.push(format!("{owner}: sets {} which it does not read", var.name));
                }
                let secret = var
                    .value_from
                    .as_ref()
                    .is_some_and(|f| f.secret_key_ref.is_some());
                if ["DB_PASS", "DB_USER"].contains(&var.name.as_str()) && !secret {
                    problems.push(format!("{owner}: {} must come from a Secret", var.name));
                }
            }
        }
    }
    problems
}

/// The API rolls without losing capacity and drains before it is killed; the web likewise.
/// ingress-nginx's default `proxy-read-timeout`.
const PROXY_IDLE_TIMEOUT_SECS: u64 = 60;

pub fn rollout_safety(m: &Manifests, shutdown_drain_web_secs: u64) -> Problems {
    let mut problems = Vec::new();
    let api_shutdown: i64 = m
        .config("api-config")
        .get("SHUTDOWN_TIMEOUT_SECS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(25);
    for (name, drain) in [
        ("api", api_shutdown),
        ("web", shutdown_drain_web_secs as i64),
    ] {
        let d = m
            .deployments()
            .find(|d| d.metadata.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no Deployment {name}"));
        let spec = d.spec.clone().unwrap_or_default();
        let strategy = spec.strategy.clone().unwrap_or_default();
        let unavailable = strategy
            .rolling_update
            .as_ref()
            .and_then(|r| r.max_unavailable.clone());
        if strategy.type_.as_deref() != Some("RollingUpdate")
            || !matches!(unavailable, Some(IntOrString::Int(0)))
        {
            problems.push(format!(
                "Deployment {name}: not a RollingUpdate with maxUnavailable 0 ({unavailable:?})"
            ));
        }
        let pod = spec.template.spec.clone().unwrap_or_default();
        let c = &pod.containers[0];
        let pause = c
            .lifecycle
            .as_ref()
            .and_then(|l| l.pre_stop.as_ref())
            .and_then(|p| p.sleep.as_ref())
            .map(|s| s.seconds);
        let Some(pause) = pause.filter(|s| *s > 0) else {
            problems.push(format!("Deployment {name}: no preStop sleep"));
            continue;
        };
        let grace = pod.termination_grace_period_seconds.unwrap_or(30);
        if grace <= pause + drain {
            problems.push(format!(
                "Deployment {name}: terminationGracePeriodSeconds {grace} is not above the preStop pause {pause} s plus the {drain} s drain"
            ));
        }
        let labels = labels_of(&spec.template);
        let spread = pod.topology_spread_constraints.clone().unwrap_or_default();
        if spread.is_empty()
            || !spread.iter().all(|t| {
                t.label_selector
                    .as_ref()
                    .is_some_and(|s| selects(s, &labels))
            })
        {
            problems.push(format!(
                "Deployment {name}: no topology spread over its own pods"
            ));
        }
        let guarded = m.pdbs().any(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|s| selects(s, &labels))
        });
        if !guarded {
            problems.push(format!(
                "Deployment {name}: no PodDisruptionBudget selects its pods"
            ));
        }
    }
    // An idle event stream must hear from the API well before a proxy on the way cuts it
    // (ingress-nginx's proxy-read-timeout, the tightest default we know of).
    let heartbeat = m
        .config("api-config")
        .get("API_STREAM_HEARTBEAT_SECS")
        .cloned();
    match heartbeat.as_deref().map(str::parse::<u64>) {
        Some(Ok(secs)) if secs * 2 <= PROXY_IDLE_TIMEOUT_SECS => {}
        other => problems.push(format!(
            "api-config: API_STREAM_HEARTBEAT_SECS {other:?} is not at most half the \
             {PROXY_IDLE_TIMEOUT_SECS} s proxy idle timeout"
        )),
    }
    let api = m
        .deployments()
        .find(|d| d.metadata.name.as_deref() == Some("api"))
        .and_then(|d| d.spec.clone())
        .unwrap_or_default();
    let hpa = m.hpas().find(|h| {
        h.spec.as_ref().is_some_and(|s| {
            s.scale_target_ref.kind == "Deployment" && s.scale_target_ref.name == "api"
        })
    });
    match (m.env.as_str(), api.replicas, hpa) {
        ("dev", Some(2), None) => {}
        ("prod", None, Some(hpa)) => {
            let spec = hpa.spec.clone().unwrap_or_default();
            if spec.min_replicas != Some(3) || spec.max_replicas < 3 {
                problems.push(format!(
                    "prod: the API's HPA must keep at least 3 pods ({:?}..{})",
                    spec.min_replicas, spec.max_replicas
                ));
            }
        }
        (env, replicas, hpa) => problems.push(format!(
            "{env}: API replicas {replicas:?} with HPA {}: expected 2 in dev, an HPA from 3 (and no fixed count) in prod",
            hpa.is_some()
        )),
    }
    problems
}

/// One migration Job, named after the version, which runs once and cleans up after itself.
pub fn migration_job(m: &Manifests, expected_name: &str, expected_image: &str) -> Problems {
    let mut problems = Vec::new();
    let jobs: Vec<_> = m.jobs().collect();
    let [job] = jobs.as_slice() else {
        return vec![format!("expected one Job, found {}", jobs.len())];
    };
    let name = job.metadata.name.clone().unwrap_or_default();
    if name != expected_name {
        problems.push(format!("the Job is {name}, expected {expected_name}"));
    }
    let spec = job.spec.clone().unwrap_or_default();
    let pod = spec.template.spec.clone().unwrap_or_default();
    if pod.restart_policy.as_deref() != Some("Never") {
        problems.push("Job: restartPolicy is not Never".into());
    }
    let wait: i64 = pod.containers[0]
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "MIGRATE_WAIT_SECS")
        .and_then(|e| e.value.as_deref())
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    match spec.active_deadline_seconds {
        Some(deadline) if deadline > wait => {}
        other => problems.push(format!(
            "Job: activeDeadlineSeconds {other:?} must exceed MIGRATE_WAIT_SECS {wait}"
        )),
    }
    if spec.backoff_limit.is_none() {
        problems.push("Job: no backoffLimit".into());
    }
    if spec.ttl_seconds_after_finished.is_none() {
        problems.push("Job: no ttlSecondsAfterFinished".into());
    }
    let image = pod.containers[0].image.clone().unwrap_or_default();
    if image != expected_image {
        problems.push(format!("Job: image {image}, expected {expected_image}"));
    }
    problems
}

/// Dev: PostgreSQL as a StatefulSet on a ReadWriteOnce claim, with backups; no Deployment
/// holds a volume claim. Prod: a three-instance CloudNativePG cluster and no StatefulSet.
pub fn database(m: &Manifests) -> Problems {
    let mut problems = Vec::new();
    for (owner, t) in m.pod_templates() {
        if owner.starts_with("Deployment/")
            && spec(t)
                .volumes
                .iter()
                .flatten()
                .any(|v| v.persistent_volume_claim.is_some())
        {
            problems.push(format!(
                "{owner}: a Deployment must not hold a volume claim"
            ));
        }
    }
    for pvc in m.pvcs() {
        let modes = pvc.spec.as_ref().and_then(|s| s.access_modes.clone());
        if modes != Some(vec!["ReadWriteOnce".into()]) {
            problems.push(format!(
                "PVC {:?}: access modes {modes:?}, expected ReadWriteOnce",
                pvc.metadata.name
            ));
        }
    }
    let db_name = m.config("api-config").get("DB_NAME").cloned();
    match m.env.as_str() {
        "dev" => {
            let sts: Vec<_> = m.stateful_sets().collect();
            let [sts] = sts.as_slice() else {
                return vec![format!(
                    "dev: expected one StatefulSet, found {}",
                    sts.len()
                )];
            };
            let spec = sts.spec.clone().unwrap_or_default();
            if spec.replicas != Some(1) {
                problems.push(format!(
                    "StatefulSet: {:?} replicas, expected 1",
                    spec.replicas
                ));
            }
            let templates = spec.volume_claim_templates.clone().unwrap_or_default();
            if templates.is_empty() {
                problems.push("StatefulSet: no volumeClaimTemplates".into());
            }
            for t in templates {
                let modes = t.spec.and_then(|s| s.access_modes);
                if modes != Some(vec!["ReadWriteOnce".into()]) {
                    problems.push(format!(
                        "StatefulSet claim: {modes:?}, expected ReadWriteOnce"
                    ));
                }
            }
            let backup = m
                .named(m.cron_jobs(), "postgres-backup")
                .and_then(|c| c.spec.clone());
            let Some(backup) = backup else {
                problems.push("dev: no postgres-backup CronJob".into());
                return problems;
            };
            if backup.concurrency_policy.as_deref() != Some("Forbid") {
                problems.push("backup CronJob: concurrencyPolicy is not Forbid".into());
            }
            let pod = backup
                .job_template
                .spec
                .and_then(|s| s.template.spec)
                .unwrap_or_default();
            let c = &pod.containers[0];
            let keep = env_value(c, "BACKUP_KEEP")
                .and_then(|e| e.value.as_deref())
                .and_then(|v| v.parse::<u32>().ok());
            if keep.is_none_or(|k| k == 0) {
                problems.push(format!("backup CronJob: BACKUP_KEEP {keep:?}"));
            }
            if env_value(c, "PGDATABASE").and_then(|e| e.value.clone()) != db_name {
                problems.push("backup CronJob: PGDATABASE is not the API's DB_NAME".into());
            }
            let host = m.config("api-config").get("DB_HOST").cloned();
            if env_value(c, "PGHOST").and_then(|e| e.value.clone()) != host {
                problems.push("backup CronJob: PGHOST is not the API's DB_HOST".into());
            }
            if c.command.clone().unwrap_or_default().join(" ") != "sh /scripts/backup.sh" {
                problems.push(format!("backup CronJob: command {:?}", c.command));
            }
        }
        "prod" => {
            if m.stateful_sets().next().is_some() {
                problems.push("prod: PostgreSQL is CloudNativePG's, not a StatefulSet".into());
            }
            let clusters: Vec<_> = m.cnpg_clusters().collect();
            let [cluster] = clusters.as_slice() else {
                return vec![format!(
                    "prod: expected one CloudNativePG Cluster, found {}",
                    clusters.len()
                )];
            };
            if cluster.pointer("/spec/instances").and_then(Value::as_u64) != Some(3) {
                problems.push("Cluster: instances is not 3".into());
            }
            if cluster.pointer("/spec/storage/size").is_none() {
                problems.push("Cluster: no storage size".into());
            }
            let initdb = cluster.pointer("/spec/bootstrap/initdb/database");
            if initdb.and_then(Value::as_str) != db_name.as_deref() {
                problems.push(format!(
                    "Cluster: initdb database {initdb:?} is not DB_NAME {db_name:?}"
                ));
            }
        }
        other => problems.push(format!("unknown environment {other}")),
    }
    problems
}

/// Default deny; the database reachable from exactly its clients; web and API reachable
/// from the ingress controller on their HTTP ports.
pub fn network_policies(m: &Manifests, db_clients: &[&str]) -> Problems {
    let mut problems = Vec::new();
    let policies: Vec<_> = m
        .network_policies()
        .filter_map(|p| p.spec.clone())
        .collect();
    let deny = policies.iter().any(|p| {
        p.pod_selector.clone().unwrap_or_default() == Default::default()
            && p.policy_types == Some(vec!["Ingress".into()])
            && p.ingress.iter().flatten().next().is_none()
    });
    if !deny {
        problems.push("no default-deny ingress policy".into());
    }
    let templates = m.pod_templates();
    let names_selected =
        |selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector| {
            templates
                .iter()
                .filter(|(_, t)| selects(selector, &labels_of(t)))
                .filter_map(|(_, t)| labels_of(t).get("app.kubernetes.io/name").cloned())
                .collect::<BTreeSet<_>>()
        };
    let db_labels: Vec<BTreeMap<String, String>> = match m.cnpg_clusters().next() {
        Some(cluster) => vec![
            serde_json::from_value(
                cluster
                    .pointer("/spec/inheritedMetadata/labels")
                    .cloned()
                    .unwrap_or_default(),
            )
            .unwrap_or_default(),
        ],
        None => vec![labels_of(template(m, "StatefulSet/postgres"))],
    };
    let db_port = m
        .config("api-config")
        .get("DB_PORT")
        .and_then(|p| p.parse::<i32>().ok())
        .unwrap_or(5432);
    let db_policies: Vec<_> = policies
        .iter()
        .filter(|p| {
            let selector = p.pod_selector.clone().unwrap_or_default();
            selector != Default::default() && db_labels.iter().any(|l| selects(&selector, l))
        })
        .collect();
    let mut clients = BTreeSet::new();
    for p in &db_policies {
        for rule in p.ingress.iter().flatten() {
            for peer in rule.from.iter().flatten() {
                if peer.ip_block.is_some() {
                    problems.push("database policy admits an IP block".into());
                }
                match (&peer.pod_selector, &peer.namespace_selector) {
                    (Some(pods), None) => {
                        let selected = names_selected(pods);
                        // CloudNativePG's instances replicate from each other.
                        let peers_are_db = db_labels.iter().any(|l| selects(pods, l));
                        if selected.is_empty() && !peers_are_db {
                            problems.push(format!(
                                "database policy admits {pods:?}, which selects no pod"
                            ));
                        }
                        clients.extend(selected);
                    }
                    (None, Some(ns)) => {
                        // Only the CloudNativePG operator's namespace.
                        let ns_name = ns
                            .match_labels
                            .as_ref()
                            .and_then(|l| l.get("kubernetes.io/metadata.name"))
                            .cloned();
                        if ns_name.as_deref() != Some("cnpg-system")
                            || m.cnpg_clusters().next().is_none()
                        {
                            problems.push(format!("database policy admits namespace {ns_name:?}"));
                        }
                    }
                    other => problems.push(format!("database policy admits {other:?}")),
                }
            }
            let ports: Vec<_> = rule
                .ports
                .iter()
                .flatten()
                .filter_map(|p| p.port.clone())
                .collect();
            if !ports.contains(&IntOrString::Int(db_port)) {
                problems.push(format!(
                    "database policy rule does not name port {db_port}: {ports:?}"
                ));
            }
        }
    }
    let want: BTreeSet<String> = db_clients.iter().map(|c| c.to_string()).collect();
    if clients != want {
        problems.push(format!(
            "the database admits pods {clients:?}, expected exactly {want:?}"
        ));
    }
    let from_controller = policies.iter().find(|p| {
        p.ingress.iter().flatten().any(|r| {
            r.from
                .iter()
                .flatten()
                .any(|peer| peer.namespace_selector.is_some() && peer.pod_selector.is_none())
        }) && names_selected(&p.pod_selector.clone().unwrap_or_default()).contains("web")
    });
    match from_controller {
        None => problems.push("no policy admits the ingress controller to the web pods".into()),
        Some(p) => {
            let selected = names_selected(&p.pod_selector.clone().unwrap_or_default());
            let expected: BTreeSet<String> = ["api", "web"].map(String::from).into();
            if selected != expected {
                problems.push(format!(
                    "the ingress-controller policy selects {selected:?}"
                ));
            }
            for rule in p.ingress.iter().flatten() {
                for port in rule.ports.iter().flatten().filter_map(|p| p.port.clone()) {
                    for id in ["Deployment/api", "Deployment/web"] {
                        if container_port(spec(template(m, id)), &port).is_none() {
                            problems.push(format!(
                                "ingress-controller policy port {port:?} is no port of {id}"
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

/// The developer Role: deploy, scale, see pods and logs, run and delete Jobs; never Secrets,
/// exec or attach (a pod's environment holds the database password), no wildcards.
pub fn rbac(m: &Manifests) -> Problems {
    let mut problems = Vec::new();
    let Some(role) = m
        .roles()
        .find(|r| r.metadata.name.as_deref() == Some("developer"))
    else {
        return vec!["no Role developer".into()];
    };
    let rules = role.rules.clone().unwrap_or_default();
    let grants = |group: &str, resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r.api_groups.iter().flatten().any(|g| g == group)
                && r.resources.iter().flatten().any(|x| x == resource)
                && r.verbs.iter().any(|v| v == verb)
        })
    };
    for r in &rules {
        for resource in r.resources.iter().flatten() {
            if resource == "*"
                || resource.starts_with("secrets")
                || ["pods/exec", "pods/attach", "pods/ephemeralcontainers"]
                    .contains(&resource.as_str())
            {
                problems.push(format!("Role developer grants {resource}"));
            }
        }
        for verb in &r.verbs {
            if ["*", "escalate", "bind", "impersonate"].contains(&verb.as_str()) {
                problems.push(format!("Role developer grants the verb {verb}"));
            }
        }
        if r.api_groups.iter().flatten().any(|g| g == "*") {
            problems.push("Role developer grants every API group".into());
        }
    }
    for (group, resource, verb) in [
        ("apps", "deployments", "patch"),
        ("apps", "deployments/scale", "update"),
        ("", "pods", "list"),
        ("", "pods/log", "get"),
        ("batch", "jobs", "create"),
        ("batch", "jobs", "delete"),
    ] {
        if !grants(group, resource, verb) {
            problems.push(format!("Role developer cannot {verb} {resource}"));
        }
    }
    let bound = m.role_bindings().any(|b| {
        b.role_ref.kind == "Role"
            && b.role_ref.name == "developer"
            && b.subjects
                .iter()
                .flatten()
                .any(|s| s.kind == "User" && s.name == "dev007")
    });
    if !bound {
        problems.push("no RoleBinding gives dev007 the developer Role".into());
    }
    for b in m.role_bindings() {
        if !m
            .roles()
            .any(|r| r.metadata.name.as_deref() == Some(b.role_ref.name.as_str()))
        {
            problems.push(format!(
                "RoleBinding {:?} names a Role that does not exist",
                b.metadata.name
            ));
        }
    }
    problems
}

/// Prod: one HTTPS host for the page and the API, certificate from cert-manager, and the
/// page told to call that origin. Dev: no Ingress; the page and the API are port-forwarded
/// to the ports the configuration names.
pub fn ingress_and_origins(m: &Manifests) -> Problems {
    let mut problems = Vec::new();
    let base_url = m
        .config("web-config")
        .get("API_BASE_URL")
        .cloned()
        .unwrap_or_default();
    let origins = m
        .config("api-config")
        .get("CORS_ALLOWED_ORIGINS")
        .cloned()
        .unwrap_or_default();
    let origins: Vec<&str> = origins.split(',').map(str::trim).collect();
    let service_port = |name: &str| {
        m.services()
            .find(|s| s.metadata.name.as_deref() == Some(name))
            .and_then(|s| s.spec.clone())
            .and_then(|s| s.ports)
            .and_then(|p| p.first().map(|p| p.port))
    };
    let ingresses: Vec<_> = m.ingresses().collect();
    match (m.env.as_str(), ingresses.as_slice()) {
        ("dev", []) => {
            let api = service_port("api").unwrap_or_default();
            let web = service_port("web").unwrap_or_default();
            if base_url != format!("http://localhost:{api}") {
                problems.push(format!("dev: API_BASE_URL {base_url} is not the API's port-forward http://localhost:{api}"));
            }
            if !origins.contains(&format!("http://localhost:{web}").as_str()) {
                problems.push(format!(
                    "dev: CORS does not allow the page's port-forward http://localhost:{web}"
                ));
            }
        }
        ("prod", [ingress]) => {
            let spec = ingress.spec.clone().unwrap_or_default();
            let annotations = ingress.metadata.annotations.clone().unwrap_or_default();
            if !annotations.contains_key("cert-manager.io/cluster-issuer") {
                problems.push("prod Ingress: no cert-manager.io/cluster-issuer".into());
            }
            let rules = spec.rules.clone().unwrap_or_default();
            let hosts: Vec<String> = rules.iter().filter_map(|r| r.host.clone()).collect();
            let [host] = hosts.as_slice() else {
                return vec![format!("prod Ingress: expected one host, found {hosts:?}")];
            };
            let tls_hosts: Vec<String> = spec
                .tls
                .iter()
                .flatten()
                .flat_map(|t| t.hosts.clone().unwrap_or_default())
                .collect();
            if !tls_hosts.contains(host) {
                problems.push(format!("prod Ingress: no TLS for {host}"));
            }
            let origin = format!("https://{host}");
            if base_url.trim_end_matches('/') != origin {
                problems.push(format!(
                    "prod: API_BASE_URL {base_url} is not the Ingress origin {origin}"
                ));
            }
            if !origins.contains(&origin.as_str()) {
                problems.push(format!(
                    "prod: CORS does not allow the page's origin {origin}"
                ));
            }
            let mut routed = BTreeMap::new();
            for path in rules
                .iter()
                .filter_map(|r| r.http.clone())
                .flat_map(|h| h.paths)
            {
                let Some(backend) = path.backend.service else {
                    problems.push("Ingress path without a Service backend".into());
                    continue;
                };
                routed.insert(path.path.clone().unwrap_or_default(), backend.name.clone());
                let svc = m
                    .services()
                    .find(|s| s.metadata.name.as_deref() == Some(backend.name.as_str()));
                let port = backend.port.clone().unwrap_or_default();
                let exists = svc
                    .and_then(|s| s.spec.clone())
                    .and_then(|s| s.ports)
                    .is_some_and(|ports| {
                        ports.iter().any(|p| match (&port.name, port.number) {
                            (Some(name), _) => p.name.as_deref() == Some(name.as_str()),
                            (None, Some(n)) => p.port == n,
                            (None, None) => false,
                        })
                    });
                if !exists {
                    problems.push(format!(
                        "Ingress backend {} port {port:?} does not exist",
                        backend.name
                    ));
                }
            }
            if routed.get("/randoms").map(String::as_str) != Some("api")
                || routed.get("/").map(String::as_str) != Some("web")
            {
                problems.push(format!(
                    "Ingress routes {routed:?}; expected /randoms → api, / → web"
                ));
            }
        }
        (env, found) => problems.push(format!("{env}: unexpected Ingresses {}", found.len())),
    }
    problems
}

/// The images our containers run, by container name.
pub fn images(m: &Manifests) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (owner, t) in m.pod_templates() {
        for c in containers(spec(t)) {
            out.insert(
                format!("{owner}/{}", c.name),
                c.image.clone().unwrap_or_default(),
            );
        }
    }
    out
}

/// Whether a name is a hashed kustomize name of `base`.
pub fn is_generated(name: &str, base: &str) -> bool {
    same_base(name, base) && name != base
}

//! The API requests a kubectl call makes (kubectl 1.30 and later), from its arguments and,
//! for `apply -f`, the file it applied. Anything not modelled here (a command, a flag, a
//! kind) fails the test, naming it, rather than being let through unchecked.
//!
//! - Every command that names resources first reads discovery (`/api`, `/apis`); `version`
//!   reads `/version`; `apply` also reads OpenAPI v3 (server-side field validation).
//! - `apply --server-side`: one PATCH per object (kubectl sends no GET first), which the API
//!   server also authorizes as `create`, with the name, when the object does not exist yet
//!   (handlers/patch.go); then, if an earlier client-side apply owned fields, a JSON patch
//!   moving them over, re-reading the object on a conflict (`get`).
//! - `get TYPE NAME`: get; `get TYPE --selector`: list.
//! - `wait TYPE/NAME`, `rollout status TYPE/NAME`: get, then list and watch with the field
//!   selector metadata.name=NAME, which the API server authorizes as that name.
//! - `delete TYPE NAME` (waiting, kubectl's default): delete, then get, list and watch it.
//! - `logs --selector`: list pods, then get `pods/log` of each (names unknown beforehand);
//!   `logs TYPE/NAME`: get it, list its pods, get their logs.

use std::collections::BTreeSet;

use serde_json::Value;

use super::rbac::Request;

/// A kind or resource type kubectl may name: (kind, command-line names, group, resource,
/// namespaced).
#[rustfmt::skip]
const KINDS: &[(&str, &[&str], &str, &str, bool)] = &[
    ("Namespace", &["namespace", "namespaces", "ns"], "", "namespaces", false),
    ("ServiceAccount", &["serviceaccount", "serviceaccounts", "sa"], "", "serviceaccounts", true),
    ("ConfigMap", &["configmap", "configmaps", "cm"], "", "configmaps", true),
    ("Secret", &["secret", "secrets"], "", "secrets", true),
    ("Service", &["service", "services", "svc"], "", "services", true),
    ("Pod", &["pod", "pods", "po"], "", "pods", true),
    ("Event", &["event", "events", "ev"], "", "events", true),
    ("PersistentVolumeClaim", &["persistentvolumeclaim", "persistentvolumeclaims", "pvc"], "", "persistentvolumeclaims", true),
    ("Deployment", &["deployment", "deployments", "deploy"], "apps", "deployments", true),
    ("StatefulSet", &["statefulset", "statefulsets", "sts"], "apps", "statefulsets", true),
    ("Job", &["job", "jobs"], "batch", "jobs", true),
    ("CronJob", &["cronjob", "cronjobs", "cj"], "batch", "cronjobs", true),
    ("PodDisruptionBudget", &["poddisruptionbudget", "poddisruptionbudgets", "pdb"], "policy", "poddisruptionbudgets", true),
    ("HorizontalPodAutoscaler", &["horizontalpodautoscaler", "horizontalpodautoscalers", "hpa"], "autoscaling", "horizontalpodautoscalers", true),
    ("Ingress", &["ingress", "ingresses", "ing"], "networking.k8s.io", "ingresses", true),
    ("NetworkPolicy", &["networkpolicy", "networkpolicies", "netpol"], "networking.k8s.io", "networkpolicies", true),
    ("Role", &["role", "roles"], "rbac.authorization.k8s.io", "roles", true),
    ("RoleBinding", &["rolebinding", "rolebindings"], "rbac.authorization.k8s.io", "rolebindings", true),
    ("ClusterRole", &["clusterrole", "clusterroles"], "rbac.authorization.k8s.io", "clusterroles", false),
    ("ClusterRoleBinding", &["clusterrolebinding", "clusterrolebindings"], "rbac.authorization.k8s.io", "clusterrolebindings", false),
    ("Cluster", &["cluster", "clusters"], "postgresql.cnpg.io", "clusters", true),
    ("ServiceMonitor", &["servicemonitor", "servicemonitors"], "monitoring.coreos.com", "servicemonitors", true),
    ("PrometheusRule", &["prometheusrule", "prometheusrules"], "monitoring.coreos.com", "prometheusrules", true),
    ("ClusterIssuer", &["clusterissuer", "clusterissuers"], "cert-manager.io", "clusterissuers", false),
];

/// A resource type: group, resource, namespaced.
#[derive(Clone, Copy)]
struct Kind {
    group: &'static str,
    resource: &'static str,
    namespaced: bool,
}

/// `deployment`, `cluster.postgresql.cnpg.io`…: the type kubectl resolves.
fn kind_named(name: &str) -> Kind {
    let (name, group) = name
        .split_once('.')
        .map_or((name, None), |(n, g)| (n, Some(g)));
    KINDS
        .iter()
        .find(|(_, names, g, ..)| names.contains(&name) && group.is_none_or(|group| group == *g))
        .map(|&(_, _, group, resource, namespaced)| Kind {
            group,
            resource,
            namespaced,
        })
        .unwrap_or_else(|| panic!("resource type {name:?} is not modelled: add it to KINDS"))
}

fn kind_of(api_version: &str, kind: &str) -> Kind {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    KINDS
        .iter()
        .find(|(k, _, g, ..)| *k == kind && *g == group)
        .map(|&(_, _, group, resource, namespaced)| Kind {
            group,
            resource,
            namespaced,
        })
        .unwrap_or_else(|| panic!("{api_version} {kind} is not modelled: add it to KINDS"))
}

/// An object: (group, resource, namespace, name).
pub type Id = (String, String, Option<String>, String);

/// Objects that exist before any deploy (made by `kubectl apply -k deploy/deployer`).
pub type Existing = BTreeSet<Id>;

/// Where an object of a manifest goes; a namespaced one without a namespace goes to
/// `namespace` (kubectl's `-n`, else `default`).
pub fn id_of(object: &Value, namespace: Option<&str>) -> Id {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = kind_of(api_version, object["kind"].as_str().unwrap_or_default());
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .expect("a name");
    let ns = kind.namespaced.then(|| {
        let own = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str);
        own.or(namespace).unwrap_or("default").to_owned()
    });
    (
        kind.group.to_owned(),
        kind.resource.to_owned(),
        ns,
        name.to_owned(),
    )
}

/// The requests of one call (`kubectl --context C …`, as the fake cluster logs it), with
/// the content of the file it applied, if it is an apply.
pub fn requests(call: &str, applied: Option<&str>, existing: &Existing) -> Vec<Request> {
    let mut words = call.split_whitespace().skip(1).map(str::to_owned);
    let (mut namespace, mut args, mut flags) = (None, Vec::new(), Vec::new());
    // Flags that take the next word as their value (unless written --flag=value).
    const VALUED: &[&str] = &[
        "--context",
        "-n",
        "--namespace",
        "-f",
        "--field-manager",
        "--selector",
        "-l",
        "-o",
        "--output",
        "--for",
        "--timeout",
        "--tail",
        "--field-selector",
        "--container",
        "--raw",
    ];
    while let Some(word) = words.next() {
        if !word.starts_with('-') {
            args.push(word);
            continue;
        }
        let (flag, value) = match word.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), value.to_owned()),
            None if VALUED.contains(&word.as_str()) => (
                word.clone(),
                words
                    .next()
                    .unwrap_or_else(|| panic!("{word} without a value in `{call}`")),
            ),
            None => (word.clone(), String::new()),
        };
        match flag.as_str() {
            "--context" => {}
            "-n" | "--namespace" => namespace = Some(value),
            _ => flags.push((flag, value)),
        }
    }
    let flag = |name: &str| {
        flags
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.as_str())
    };
    let only = |allowed: &[&str]| {
        for (f, _) in &flags {
            assert!(
                allowed.contains(&f.as_str()),
                "`{call}`: what {f} makes kubectl request is not modelled"
            );
        }
    };
    let ns_of = |kind: Kind| {
        kind.namespaced
            .then(|| namespace.clone().unwrap_or_else(|| "default".to_owned()))
    };
    let on = |verb: &str, kind: Kind, name: Option<&str>| {
        Request::resource(
            verb,
            kind.group,
            kind.resource,
            ns_of(kind).as_deref(),
            name,
        )
    };
    let mut out: Vec<Request> = ["/api", "/apis"].map(Request::non_resource).to_vec();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["kustomize", ..] | ["config", ..] => return Vec::new(),
        ["version"] => {
            only(&["--output", "-o"]);
            return vec![Request::non_resource("/version")];
        }
        ["api-versions"] => only(&[]),
        // A path of the API itself: here, a pod's readiness endpoint through its proxy.
        ["get"] => {
            only(&["--raw"]);
            let path = flag("--raw").unwrap_or_else(|| panic!("`{call}`: get what?"));
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            match parts.as_slice() {
                ["api", "v1", "namespaces", ns, "pods", pod, "proxy", ..] => {
                    let pod = pod.split(':').next().unwrap_or_default();
                    let proxy = Kind {
                        resource: "pods/proxy",
                        ..kind_named("pods")
                    };
                    out.push(Request::resource(
                        "get",
                        proxy.group,
                        proxy.resource,
                        Some(ns),
                        Some(pod),
                    ));
                }
                _ => panic!("`{call}`: this raw path is not modelled"),
            }
        }
        // `get TYPE/NAME` is `get TYPE NAME`.
        ["get", object] if object.contains('/') => {
            only(&["--ignore-not-found", "--output", "-o"]);
            let (kind, name) = object.split_once('/').unwrap_or_default();
            out.push(on("get", kind_named(kind), Some(name)));
        }
        ["get", kind, names @ ..] => {
            only(&[
                "--ignore-not-found",
                "--output",
                "-o",
                "--selector",
                "-l",
                "--field-selector",
            ]);
            let kind = kind_named(kind);
            if names.is_empty() {
                out.push(on("list", kind, None));
            }
            out.extend(names.iter().map(|name| on("get", kind, Some(name))));
        }
        ["apply"] => {
            only(&[
                "--server-side",
                "--force-conflicts",
                "--field-manager",
                "-f",
            ]);
            assert!(
                flag("--server-side").is_some(),
                "`{call}`: client-side apply is not modelled"
            );
            let text = applied.unwrap_or_else(|| panic!("`{call}`: no copy of the applied file"));
            for object in crate::common::yaml_values(text) {
                let id = id_of(&object, namespace.as_deref());
                let version = object["apiVersion"].as_str().unwrap_or_default();
                let gv = if id.0.is_empty() {
                    format!("api/{version}")
                } else {
                    format!("apis/{version}")
                };
                out.extend(
                    ["/openapi/v3".to_owned(), format!("/openapi/v3/{gv}")]
                        .iter()
                        .map(|p| Request::non_resource(p)),
                );
                let verbs = if existing.contains(&id) {
                    &["patch", "get"][..]
                } else {
                    &["patch", "create", "get"]
                };
                let (group, resource, ns, name) = &id;
                out.extend(verbs.iter().map(|verb| {
                    Request::resource(verb, group, resource, ns.as_deref(), Some(name))
                }));
            }
        }
        ["wait", object] | ["rollout", "status", object] => {
            only(&["--for", "--timeout"]);
            let (kind, name) = object
                .split_once('/')
                .unwrap_or_else(|| panic!("`{call}`: TYPE/NAME expected"));
            let kind = kind_named(kind);
            out.extend(["get", "list", "watch"].map(|verb| on(verb, kind, Some(name))));
        }
        // A pod's port: the pod read, then the portforward subresource; a Service's: the
        // Service read and its pods listed to pick one (whose name is not known here).
        ["port-forward", target, _ports] => {
            only(&[]);
            let (kind, name) = target
                .split_once('/')
                .unwrap_or_else(|| panic!("`{call}`: TYPE/NAME expected"));
            let pods = kind_named("pods");
            let forward = Kind {
                resource: "pods/portforward",
                ..pods
            };
            if kind_named(kind).resource == "pods" {
                out.push(on("get", pods, Some(name)));
                out.push(on("create", forward, Some(name)));
            } else {
                out.push(on("get", kind_named(kind), Some(name)));
                out.push(on("list", pods, None));
                out.push(on("create", forward, None));
            }
        }
        // Reads the object, then patches the containers' images.
        ["set", "image", object, _assignments @ ..] => {
            only(&[]);
            let (kind, name) = object
                .split_once('/')
                .unwrap_or_else(|| panic!("`{call}`: TYPE/NAME expected"));
            let kind = kind_named(kind);
            out.push(on("get", kind, Some(name)));
            out.push(on("patch", kind, Some(name)));
        }
        // Reads the object, then patches its scale subresource.
        ["scale", object] => {
            only(&["--replicas"]);
            let (kind, name) = object
                .split_once('/')
                .unwrap_or_else(|| panic!("`{call}`: TYPE/NAME expected"));
            let kind = kind_named(kind);
            let resource = match kind.resource {
                "deployments" => "deployments/scale",
                "statefulsets" => "statefulsets/scale",
                other => panic!("`{call}`: scaling {other} is not modelled"),
            };
            out.push(on("get", kind, Some(name)));
            out.push(on("patch", Kind { resource, ..kind }, Some(name)));
        }
        ["delete", kind, names @ ..] => {
            only(&["--wait"]);
            let kind = kind_named(kind);
            let wait = flag("--wait") != Some("false");
            for name in names {
                out.push(on("delete", kind, Some(name)));
                if wait {
                    out.extend(["get", "list", "watch"].map(|verb| on(verb, kind, Some(name))));
                }
            }
        }
        ["logs", objects @ ..] => {
            only(&[
                "--selector",
                "-l",
                "--all-containers",
                "--prefix",
                "--tail",
                "--container",
                "--previous",
            ]);
            let pods = kind_named("pods");
            match objects {
                [] => assert!(
                    flag("--selector").or(flag("-l")).is_some(),
                    "`{call}`: no pods named"
                ),
                [object] => {
                    let (kind, name) = object.split_once('/').unwrap_or(("pod", object));
                    let kind = kind_named(kind);
                    out.push(on("get", kind, Some(name)));
                    if kind.resource == "pods" {
                        out.push(on(
                            "get",
                            Kind {
                                resource: "pods/log",
                                ..pods
                            },
                            Some(name),
                        ));
                        return out;
                    }
                }
                _ => panic!("`{call}`: more than one object"),
            }
            // The pods of the selector, or of the object: their names are not known here.
            out.push(on("list", pods, None));
            out.push(on(
                "get",
                Kind {
                    resource: "pods/log",
                    ..pods
                },
                None,
            ));
        }
        _ => panic!("`{call}`: what this kubectl command requests is not modelled"),
    }
    out
}

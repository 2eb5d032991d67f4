//! The optional monitoring component (deploy/components/monitoring): left out by default,
//! and with `--with monitoring` a ServiceMonitor, PrometheusRules, a Grafana dashboard and
//! the NetworkPolicy that lets Prometheus scrape, each parsed strictly and wired to the
//! objects it names. That every metric they use is one the API exposes is checked against
//! a real API (crates/api/tests/api/monitoring.rs).

mod common;

use common::{ENVS, Manifests, checks, labels_of, render_with, rendered, selects};

/// The four objects the component adds.
const ADDED: [(&str, &str); 4] = [
    ("ServiceMonitor", "api"),
    ("PrometheusRule", "api"),
    ("ConfigMap", "api-dashboard"),
    ("NetworkPolicy", "api-from-prometheus"),
];

fn with_monitoring(env: &str) -> Manifests {
    let text = String::from_utf8(render_with(env, &["--with", "monitoring"])).expect("UTF-8");
    Manifests::parse(env, &text).unwrap_or_else(|e| panic!("rendered {env} with monitoring: {e}"))
}

fn has(m: &Manifests, kind: &str, name: &str) -> bool {
    m.objects.iter().any(|o| o.kind == kind && o.name == name)
}

#[test]
fn monitoring_is_off_by_default() {
    for env in ENVS {
        let m = rendered(env);
        for (kind, name) in ADDED {
            assert!(
                !has(m, kind, name),
                "{env} renders {kind}/{name} without --with"
            );
        }
    }
}

#[test]
fn with_monitoring_prometheus_scrapes_the_api_and_grafana_gets_a_dashboard() {
    for env in ENVS {
        let m = with_monitoring(env);
        for (kind, name) in ADDED {
            assert!(has(&m, kind, name), "{env}: no {kind}/{name}");
        }
        // Everything in the overlay's namespace, the added objects too.
        let problems = checks::namespaces(&m);
        assert!(problems.is_empty(), "{env}: {problems:#?}");

        // The ServiceMonitor selects the api Service, by one of its port names.
        let monitor = m.service_monitors().next().expect("a ServiceMonitor");
        let service = m.named(m.services(), "api").expect("the api Service");
        let labels = service.metadata.labels.clone().unwrap_or_default();
        assert!(
            selects(&monitor.spec.selector, &labels),
            "{env}: the ServiceMonitor does not select the api Service ({labels:?})"
        );
        let ports = service
            .spec
            .as_ref()
            .and_then(|s| s.ports.clone())
            .unwrap_or_default();
        for endpoint in &monitor.spec.endpoints {
            assert!(
                ports
                    .iter()
                    .any(|p| p.name.as_deref() == Some(endpoint.port.as_str())),
                "{env}: the api Service has no port named {}",
                endpoint.port
            );
            assert_eq!(endpoint.path, "/metrics", "{env}");
        }

        // The NetworkPolicy opens the API pods' named port, and only theirs.
        let policy = m
            .named(m.network_policies(), "api-from-prometheus")
            .expect("the policy");
        let spec = policy.spec.as_ref().expect("a spec");
        for (id, template) in m.pod_templates() {
            let pods = spec.pod_selector.clone().unwrap_or_default();
            let selected = selects(&pods, &labels_of(template));
            assert_eq!(selected, id == "Deployment/api", "{env}: {id}");
            if selected {
                let pod = template.spec.as_ref().expect("a pod spec");
                for rule in spec.ingress.iter().flatten() {
                    for port in rule.ports.iter().flatten() {
                        let port = port.port.as_ref().expect("a port");
                        assert!(
                            checks::container_port(pod, port).is_some(),
                            "{env}: {port:?} is not a port of the api container"
                        );
                    }
                }
            }
        }

        // The dashboard: where Grafana's sidecar looks, and a dashboard with queries.
        let dashboard = m
            .named(m.config_maps(), "api-dashboard")
            .expect("the dashboard");
        let labels = dashboard.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get("grafana_dashboard").map(String::as_str),
            Some("1"),
            "{env}"
        );
        let json = dashboard
            .data
            .as_ref()
            .and_then(|d| d.get("api-dashboard.json"))
            .expect("the dashboard's JSON");
        let json: serde_json::Value = serde_json::from_str(json).expect("JSON");
        let panels = json["panels"].as_array().expect("panels");
        assert!(panels.len() >= 5, "{env}: {} panels", panels.len());
        for panel in panels {
            let targets = panel["targets"].as_array().expect("targets");
            assert!(
                !targets.is_empty() && targets.iter().all(|t| t["expr"].as_str().is_some()),
                "{env}: panel {} has no queries",
                panel["title"]
            );
        }

        // Alerts: each of the kinds asked for, with a severity and something to read.
        let rules = m.prometheus_rules().next().expect("a PrometheusRule");
        let alerts: Vec<_> = rules.spec.groups.iter().flat_map(|g| &g.rules).collect();
        let names: Vec<&str> = alerts.iter().map(|a| a.alert.as_str()).collect();
        assert_eq!(
            names,
            [
                "RandomsApiErrorRate",
                "RandomsApiLatencyP99",
                "RandomsApiReadinessFlapping",
                "RandomsApiPoolExhausted",
                "RandomsApiCacheListenerDown",
            ],
            "{env}"
        );
        for alert in alerts {
            let severity = alert.labels.get("severity").map(String::as_str);
            assert!(
                matches!(severity, Some("warning" | "critical")),
                "{env}: {}: severity {severity:?}",
                alert.alert
            );
            for key in ["summary", "description"] {
                assert!(
                    alert.annotations.contains_key(key),
                    "{env}: {}: no {key}",
                    alert.alert
                );
            }
            assert!(
                !alert.for_.is_empty() && !alert.expr.trim().is_empty(),
                "{}",
                alert.alert
            );
        }
    }
}

#[test]
fn an_unknown_component_is_refused_naming_the_flag() {
    let out = common::xtask(&["render", "dev", "--with", "tracing"])
        .output()
        .expect("run xtask");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("--with") && err.contains("monitoring"),
        "{err}"
    );
}

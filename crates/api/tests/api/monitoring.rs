//! deploy/components/monitoring alerts and charts on the API's metrics. Every query in its
//! PrometheusRules and Grafana dashboard is parsed as PromQL, and each metric and label it
//! uses is checked against a real API's `/metrics` and the labels Prometheus' operator adds
//! to every target: a renamed metric or label cannot leave an alert that never fires.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use promql_parser::{
    parser::{self, Expr, LabelModifier, VectorSelector},
    util::{ExprVisitor, walk_expr},
};

use crate::helpers::{TestApi, eventually};

/// The labels a ServiceMonitor's target carries besides the API's own. An API label of the
/// same name would be renamed `exported_<name>` (`honorLabels` is off).
const TARGET_LABELS: [&str; 7] = [
    "namespace",
    "service",
    "pod",
    "container",
    "endpoint",
    "job",
    "instance",
];

/// Each metric's label names.
type Exposed = BTreeMap<String, BTreeSet<String>>;

/// The series in Prometheus text format, by metric name (histograms as `_bucket`, `_sum`,
/// `_count`). A series line up to its value is a PromQL selector: read as one.
fn exposed(text: &str) -> Exposed {
    let mut exposed = Exposed::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let series = line.rsplit_once(' ').map_or(line, |(series, _)| series);
        let Ok(Expr::VectorSelector(selector)) = parser::parse(series) else {
            panic!("not a series: {line}");
        };
        let name = selector.name.unwrap_or_else(|| panic!("no name: {line}"));
        exposed
            .entry(name)
            .or_default()
            .extend(selector.matchers.matchers.into_iter().map(|m| m.name));
    }
    exposed
}

/// The metrics an expression selects.
#[derive(Default)]
struct Metrics(BTreeSet<String>);

impl ExprVisitor for Metrics {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
        if let Some(vs) = selector(expr) {
            self.0.insert(vs.name.clone().unwrap_or_default());
        }
        Ok(true)
    }
}

/// The selector of a vector or range selection.
fn selector(expr: &Expr) -> Option<&VectorSelector> {
    match expr {
        Expr::VectorSelector(vs) => Some(vs),
        Expr::MatrixSelector(ms) => Some(&ms.vs),
        _ => None,
    }
}

fn metrics_in(expr: &Expr) -> BTreeSet<String> {
    let mut metrics = Metrics::default();
    walk_expr(&mut metrics, expr).expect("infallible");
    metrics.0
}

/// What a query uses that `exposed` lacks: unknown metrics, and labels that neither its
/// metrics nor the target have (in selectors, `by (…)`, `on (…)`).
struct Check<'a> {
    exposed: &'a Exposed,
    problems: Vec<String>,
}

impl Check<'_> {
    fn problems(exposed: &Exposed, expr: &Expr) -> Vec<String> {
        let mut check = Check {
            exposed,
            problems: Vec::new(),
        };
        walk_expr(&mut check, expr).expect("infallible");
        check.problems
    }

    /// Whether every series of `metrics` can carry `label`.
    fn label(&mut self, label: &str, metrics: &BTreeSet<String>) {
        let missing: Vec<&String> = metrics
            .iter()
            .filter(|m| {
                self.exposed
                    .get(*m)
                    .is_none_or(|labels| !labels.contains(label))
            })
            .collect();
        if !TARGET_LABELS.contains(&label) && !missing.is_empty() {
            self.problems
                .push(format!("label {label:?}, which {missing:?} do not have"));
        }
    }

    fn grouping(&mut self, modifier: Option<&LabelModifier>, over: &[&Expr]) {
        if let Some(LabelModifier::Include(labels)) = modifier {
            let metrics = over.iter().flat_map(|e| metrics_in(e)).collect();
            for label in &labels.labels {
                self.label(label, &metrics);
            }
        }
    }
}

impl ExprVisitor for Check<'_> {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
        if let Some(vs) = selector(expr) {
            let name = vs.name.clone().unwrap_or_default();
            if !self.exposed.contains_key(&name) {
                self.problems.push(format!("metric {name:?}, not exposed"));
            }
            let metric = BTreeSet::from([name]);
            for matcher in &vs.matchers.matchers {
                self.label(&matcher.name, &metric);
            }
        }
        match expr {
            Expr::Aggregate(agg) => self.grouping(agg.modifier.as_ref(), &[&agg.expr]),
            Expr::Binary(bin) => self.grouping(
                bin.modifier.as_ref().and_then(|m| m.matching.as_ref()),
                &[&bin.lhs, &bin.rhs],
            ),
            _ => {}
        }
        Ok(true)
    }
}

/// The component's queries: each alert's expression, each panel's, and the dashboard's
/// `label_values(metric, label)` variables as the selector `metric{label!=""}`, with
/// Grafana's variables given values as Grafana would.
fn queries(dir: &Path) -> Vec<(String, String)> {
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).expect("a monitoring file");
    let mut queries = Vec::new();
    let rules: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("prometheusrule.yaml")).expect("YAML");
    for group in rules["spec"]["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let what = match (rule["alert"].as_str(), rule["record"].as_str()) {
                (Some(alert), _) => format!("alert {alert}"),
                (None, Some(record)) => format!("rule {record}"),
                (None, None) => panic!("a rule that neither alerts nor records: {rule:?}"),
            };
            let expr = rule["expr"].as_str().expect("an expression");
            queries.push((what, expr.to_owned()));
        }
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("api-dashboard.json")).expect("JSON");
    let grafana = |expr: &str| {
        expr.replace("$__rate_interval", "5m")
            .replace("$namespace", "default")
    };
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("a panel's query");
            let title = panel["title"].as_str().unwrap_or("untitled");
            queries.push((format!("panel {title:?}"), grafana(expr)));
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        if let Some(query) = variable["query"]["query"].as_str() {
            let args = query
                .strip_prefix("label_values(")
                .and_then(|q| q.strip_suffix(')'))
                .unwrap_or_else(|| panic!("a label_values() query: {query}"));
            let (metric, label) = args.split_once(',').expect("metric, label");
            queries.push((
                format!("variable {}", variable["name"]),
                format!("{}{{{}!=\"\"}}", metric.trim(), label.trim()),
            ));
        }
    }
    queries
}

#[test]
fn queries_are_read_for_their_metrics_and_labels() {
    let text = "# TYPE api_a counter\napi_a{route=\"/r/{id}\",status=\"200\"} 2\n\
                api_b_bucket{le=\"+Inf\"} 3\napi_c 4\n";
    let exposed = exposed(text);
    assert_eq!(
        exposed["api_a"],
        BTreeSet::from(["route".to_owned(), "status".to_owned()])
    );
    assert!(exposed["api_c"].is_empty());
    let problems = |query: &str| Check::problems(&exposed, &parser::parse(query).expect("PromQL"));
    assert!(problems(r#"sum by (route, pod) (rate(api_a{status=~"5.."}[5m])) / api_c"#).is_empty());
    assert_eq!(problems("api_x").len(), 1, "an unknown metric");
    assert_eq!(
        problems(r#"api_a{endpoint="/r"}"#),
        Vec::<String>::new(),
        "a target label"
    );
    assert_eq!(
        problems(r#"api_a{method="GET"}"#).len(),
        1,
        "an unknown label"
    );
    assert_eq!(
        problems("sum by (status) (api_c)").len(),
        1,
        "grouped by a label it lacks"
    );
    assert_eq!(
        problems("api_a > on (status) api_c").len(),
        1,
        "matched on a label one side lacks"
    );
}

#[tokio::test]
async fn every_metric_and_label_the_monitoring_queries_is_one_the_api_exposes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/components/monitoring");
    let queries = queries(&dir);
    for source in ["alert ", "panel ", "variable "] {
        assert!(
            queries.iter().any(|(what, _)| what.starts_with(source)),
            "no {source}query read: {queries:#?}"
        );
    }

    // Every route kind answered once, so each labelled family has a series.
    let api = TestApi::spawn().await;
    assert_eq!(api.post("/randoms").await.status(), 201);
    for path in ["/randoms", "/randoms?limit=3", "/ready", "/healthz"] {
        assert!(api.get(path).await.status().is_success(), "{path}");
    }
    // The cache listener connects in the background.
    eventually(
        std::time::Duration::from_secs(10),
        "the cache listener is up",
        || async {
            api.get("/metrics")
                .await
                .text()
                .await
                .is_ok_and(|t| t.contains("api_latest_cache_listening 1"))
        },
    )
    .await;
    let text = api.get("/metrics").await.text().await.expect("metrics");
    let exposed = exposed(&text);

    // No label of the API's is one the target adds: it would be renamed.
    let clashing: Vec<(&String, &String)> = exposed
        .iter()
        .flat_map(|(metric, labels)| labels.iter().map(move |l| (metric, l)))
        .filter(|(_, label)| TARGET_LABELS.contains(&label.as_str()))
        .collect();
    assert!(
        clashing.is_empty(),
        "labels Prometheus would rename: {clashing:?}"
    );

    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    for (what, query) in &queries {
        let expr = parser::parse(query).unwrap_or_else(|e| panic!("{what}: {e}\n{query}"));
        problems.extend(
            Check::problems(&exposed, &expr)
                .into_iter()
                .map(|p| format!("{what}: {p}")),
        );
        used.extend(metrics_in(&expr));
    }
    assert!(
        problems.is_empty(),
        "deploy/components/monitoring queries what the API does not expose:\n{}\nexposed: \
         {exposed:#?}",
        problems.join("\n")
    );
    // All the kinds of metric the alerts are about.
    for expected in [
        "api_http_requests_total",
        "api_http_requests_duration_seconds_bucket",
        "api_db_pool_waiting",
        "api_latest_cache_total",
        "api_latest_cache_listening",
    ] {
        assert!(
            used.contains(expected),
            "the monitoring never queries {expected}"
        );
    }
}

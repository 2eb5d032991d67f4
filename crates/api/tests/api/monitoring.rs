//! deploy/components/monitoring alerts and charts on the API's metrics: every metric its
//! PrometheusRules and Grafana dashboard name is one a real API exposes at `/metrics`, so
//! a renamed metric cannot leave an alert that never fires.

use std::{collections::BTreeSet, path::Path};

use crate::helpers::{TestApi, eventually};

/// The component's files that query metrics.
const QUERYING: [&str; 2] = ["prometheusrule.yaml", "api-dashboard.json"];

/// Every `api_…` identifier in `text` (the metrics are all namespaced `api`).
fn metric_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("api_"))
        .map(str::to_owned)
        .collect()
}

/// The metric names in Prometheus text format (histograms as `_bucket`, `_sum`, `_count`).
fn exposed(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_name_reader_finds_names_in_queries() {
    let names = metric_names(r#"sum(rate(api_http_requests_total{status=~"5.."}[5m])) / api_x"#);
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["api_http_requests_total", "api_x"]
    );
    let text = "# TYPE api_a counter\napi_a{x=\"1\"} 2\napi_b_bucket{le=\"1\"} 3\napi_c 4\n";
    assert_eq!(
        exposed(text).into_iter().collect::<Vec<_>>(),
        ["api_a", "api_b_bucket", "api_c"]
    );
}

#[tokio::test]
async fn every_metric_the_monitoring_queries_is_one_the_api_exposes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/components/monitoring");
    let mut used = BTreeSet::new();
    for file in QUERYING {
        let text = std::fs::read_to_string(dir.join(file)).expect("a monitoring file");
        let names = metric_names(&text);
        assert!(!names.is_empty(), "{file} queries no api_ metric");
        used.extend(names);
    }
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
    let missing: Vec<&String> = used
        .iter()
        .filter(|name| !exposed.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "deploy/components/monitoring queries metrics the API does not expose: {missing:?}\n\
         exposed: {exposed:?}"
    );
}

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{TestApi, json};

#[tokio::test]
async fn one_json_log_line_per_request_with_its_id() {
    let api = TestApi::spawn().await;
    let res = api
        .http
        .get(api.url("/randoms?limit=3"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("answered");
    assert_eq!(res.headers()["x-request-id"], "trace-me-123");
    let res = api.get("/nope").await;
    let generated = res.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID when the caller sends none");

    let mut lines = Vec::new();
    crate::helpers::eventually(
        std::time::Duration::from_secs(5),
        "request log lines",
        || {
            lines = api
                .log_events()
                .into_iter()
                .filter(|e| e["message"] == "request")
                .collect::<Vec<Value>>();
            let done = lines.len() >= 2;
            async move { done }
        },
    )
    .await;
    let first = lines
        .iter()
        .find(|e| e["request_id"] == "trace-me-123")
        .expect("logged");
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], "/randoms");
    assert_eq!(first["status"], 200);
    assert!(first["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    assert!(first["level"] == "INFO" && first["timestamp"].is_string());
    let second = lines
        .iter()
        .find(|e| e["request_id"] == generated.as_str())
        .expect("logged");
    assert_eq!(second["status"], 404);
    assert_eq!(
        lines
            .iter()
            .filter(|e| e["request_id"] == "trace-me-123")
            .count(),
        1
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_the_pool() {
    let api = TestApi::spawn().await;
    api.get("/randoms").await;
    api.get("/randoms").await;
    api.post("/randoms").await;
    api.get("/randoms/1").await;
    api.get("/no/such/route/42").await;
    let res = api.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("metrics text");
    for needle in [
        r#"api_http_requests_total{method="GET",route="/randoms",status="200"} 2"#,
        r#"api_http_requests_total{method="POST",route="/randoms",status="201"} 1"#,
        r#"api_http_requests_total{method="GET",route="/randoms/{id}",status="200"} 1"#,
        r#"api_http_requests_total{method="GET",route="UNMATCHED",status="404"} 1"#,
        r#"api_http_requests_duration_seconds_bucket{method="GET",route="/randoms",status="200",le="#,
        "api_db_pool_max_size 16",
        "api_db_pool_size ",
        "api_db_pool_available ",
        "api_db_pool_waiting 0",
        // Nothing lost while the test harness reads stdout.
        "api_log_lines_dropped_total 0",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
}

#[tokio::test]
async fn openapi_describes_every_route_and_every_documented_operation_is_served() {
    let api = TestApi::spawn().await;
    let doc = json(api.get("/openapi.json").await).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("GET", "/randoms"),
        ("POST", "/randoms"),
        ("GET", "/randoms/{id}"),
        ("GET", "/randoms/events"),
        ("GET", "/healthz"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(documented, expected);

    // The document cannot promise a route the router does not serve.
    for (method, path) in &documented {
        let concrete = path.replace("{id}", "1");
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let res = api
            .http
            .request(method.clone(), api.url(&concrete))
            .send()
            .await
            .expect("answered");
        assert!(
            ![404, 405].contains(&res.status().as_u16()),
            "{method} {path} is documented but answers {}",
            res.status()
        );
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["Random"].is_object() && schemas["ErrorBody"].is_object());
}

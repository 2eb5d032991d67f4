use crate::helpers::{TestApi, migrated_database};

/// A browser asks before a POST, and before any call carrying W3C trace context, as the
/// SPA's do (`web/src/trace.rs`).
#[tokio::test]
async fn preflight_from_an_allowed_origin_is_answered() {
    let api = TestApi::spawn().await;
    let res = api
        .http
        .request(reqwest::Method::OPTIONS, api.url("/randoms"))
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "traceparent,tracestate")
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 200);
    let header = |name: &str| {
        res.headers()[name]
            .to_str()
            .expect("ascii")
            .to_ascii_lowercase()
    };
    assert_eq!(
        header("access-control-allow-origin"),
        "http://localhost:8080"
    );
    let methods = header("access-control-allow-methods");
    assert!(methods.contains("post"), "{methods}");
    let allowed = header("access-control-allow-headers");
    for name in ["traceparent", "tracestate"] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    // The browser keeps the answer for an hour instead of asking before every call.
    assert_eq!(header("access-control-max-age"), "3600");
}

#[tokio::test]
async fn a_request_from_an_allowed_origin_gets_the_header() {
    let api = TestApi::spawn().await;
    for origin in ["http://localhost:8080", "http://127.0.0.1:8080"] {
        let res = api
            .http
            .get(api.url("/randoms"))
            .header("origin", origin)
            .send()
            .await
            .expect("answered");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["access-control-allow-origin"], origin);
    }
}

#[tokio::test]
async fn an_origin_not_on_the_list_gets_no_allow_origin() {
    let api = TestApi::spawn_on(
        &migrated_database().await,
        &[(
            "CORS_ALLOWED_ORIGINS",
            "https://app.example, https://admin.example",
        )],
    );
    let res = api
        .http
        .get(api.url("/randoms"))
        .header("origin", "https://app.example")
        .send()
        .await
        .expect("answered");
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example"
    );

    for origin in [
        "https://evil.example",
        "http://localhost:8080",
        "https://app.example.evil.example",
    ] {
        let res = api
            .http
            .get(api.url("/randoms"))
            .header("origin", origin)
            .send()
            .await
            .expect("answered");
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "{origin} must not be allowed"
        );
        let res = api
            .http
            .request(reqwest::Method::OPTIONS, api.url("/randoms"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .expect("answered");
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "preflight from {origin} must not be allowed"
        );
    }
}

#[tokio::test]
async fn a_refused_preflight_is_a_json_400() {
    let api = TestApi::spawn().await;
    let res = api
        .http
        .request(reqwest::Method::OPTIONS, api.url("/randoms"))
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.expect("a JSON body");
    assert_eq!(body["error"], "bad_request", "{body}");
}

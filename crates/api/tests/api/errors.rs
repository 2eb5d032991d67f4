use crate::helpers::{TestApi, json};

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let api = TestApi::spawn().await;
    let res = api.get("/nope").await;
    assert_eq!(res.status(), 404);
    let body = json(res).await;
    assert_eq!(body["error"], "not_found");
    assert!(body["message"].as_str().expect("message").contains("/nope"));
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405_with_allow() {
    let api = TestApi::spawn().await;
    for (method, path, allowed) in [
        (reqwest::Method::DELETE, "/randoms", vec!["GET", "POST"]),
        (reqwest::Method::PUT, "/randoms/1", vec!["GET"]),
        (reqwest::Method::POST, "/healthz", vec!["GET"]),
        // Found by schemathesis: served by the metrics middleware for GET only, /metrics
        // answered every other method with a 404 "no route".
        (reqwest::Method::POST, "/metrics", vec!["GET"]),
        (
            reqwest::Method::from_bytes(b"TRACE").expect("a method"),
            "/metrics",
            vec!["GET"],
        ),
        // Found by schemathesis: a registered method, not an invented one (those get 501).
        (
            reqwest::Method::from_bytes(b"QUERY").expect("a method"),
            "/randoms",
            vec!["GET", "HEAD", "POST"],
        ),
    ] {
        let res = api
            .http
            .request(method.clone(), api.url(path))
            .send()
            .await
            .expect("answered");
        assert_eq!(res.status(), 405, "{method} {path}");
        let allow = res.headers()["allow"].to_str().expect("ascii").to_owned();
        for m in allowed {
            assert!(allow.contains(m), "{method} {path}: Allow: {allow}");
        }
        assert_eq!(json(res).await["error"], "method_not_allowed");
    }
}

#[tokio::test]
async fn an_oversized_body_is_a_json_413_and_stores_nothing() {
    let api = TestApi::spawn().await;
    let res = api
        .http
        .post(api.url("/randoms"))
        .body(vec![b'x'; 1024 * 1024])
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 413);
    assert_eq!(json(res).await["error"], "payload_too_large");
    let latest: Vec<domain::Random> = api
        .get("/randoms?limit=1")
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(latest[0].id, 100, "nothing was inserted");
}

#[tokio::test]
async fn a_small_body_on_post_is_ignored() {
    let api = TestApi::spawn().await;
    let res = api
        .http
        .post(api.url("/randoms"))
        .header("content-type", "application/json")
        .body("{\"name\": \"not-chosen-by-client\"}")
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn every_get_route_answers_head_without_a_body() {
    let api = TestApi::spawn().await;
    for path in [
        "/randoms",
        "/randoms/1",
        "/healthz",
        "/ready",
        "/openapi.json",
        "/metrics",
    ] {
        let res = api.http.head(api.url(path)).send().await.expect("answered");
        assert_eq!(res.status(), 200, "HEAD {path}");
        assert!(res.headers().contains_key("content-type"), "HEAD {path}");
        assert!(res.bytes().await.expect("body").is_empty(), "HEAD {path}");
    }
}

#[tokio::test]
async fn limit_given_twice_is_an_invalid_limit() {
    let api = TestApi::spawn().await;
    let res = api.get("/randoms?limit=1&limit=2").await;
    assert_eq!(res.status(), 400);
    let body = json(res).await;
    assert_eq!(body["error"], "invalid_limit");
    assert_eq!(body["message"], "limit must be given once");
}

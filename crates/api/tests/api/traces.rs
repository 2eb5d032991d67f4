//! Traces: the real binary exporting to a real OTLP receiver (protobuf decoded by
//! OpenTelemetry's own messages). A caller's `traceparent` is continued, spans link parent
//! to child down to the statements, a collector that is gone or hangs costs no request, and
//! every log line inside a request carries its request id and trace id.

use std::time::Duration;

use otlp_receiver::{ReceivedSpan, Receiver};
use serde_json::Value;

use crate::helpers::{TestApi, connect, eventually, migrated_database};

const PATIENCE: Duration = Duration::from_secs(15);

/// A caller's span: version, trace id, span id, flags (01: sampled).
fn traceparent(trace: &str, span: &str, flags: &str) -> String {
    format!("00-{trace}-{span}-{flags}")
}

async fn traced_api(receiver: &Receiver) -> TestApi {
    let endpoint = receiver.endpoint();
    TestApi::spawn_on(
        &migrated_database().await,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    )
}

async fn send(api: &TestApi, method: reqwest::Method, path: &str, parent: &str) -> u16 {
    api.http
        .request(method, api.url(path))
        .header("traceparent", parent)
        .send()
        .await
        .expect("answered")
        .status()
        .as_u16()
}

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn children<'a>(spans: &'a [ReceivedSpan], parent: &ReceivedSpan) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.parent_span_id == parent.span_id && s.trace_id == parent.trace_id)
        .collect()
}

/// A `GET /randoms` of `trace` with a `cache sync` under it. Its other children are all
/// there too: a request's span closes, and is exported, after theirs.
fn answered_from_the_cache<'a>(spans: &'a [ReceivedSpan], trace: &str) -> Option<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.trace_id == trace && s.name == "GET /randoms")
        .find(|request| {
            children(spans, request)
                .iter()
                .any(|s| s.name == "cache sync")
        })
}

/// The one span named `name` among `spans`.
fn one<'a>(spans: &[&'a ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one {name:?} in {spans:#?}");
    found[0]
}

#[tokio::test]
async fn a_callers_trace_continues_through_the_request_down_to_each_statement() {
    let receiver = Receiver::start().await.expect("a receiver");
    let api = traced_api(&receiver).await;
    let (get_trace, post_trace) = (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "0af7651916cd43dd8448eb211c80319c",
    );
    let caller = "00f067aa0ba902b7";
    let get = traceparent(get_trace, caller, "01");
    assert_eq!(
        send(&api, reqwest::Method::GET, "/randoms?limit=3", &get).await,
        200
    );
    let post = traceparent(post_trace, caller, "01");
    assert_eq!(
        send(&api, reqwest::Method::POST, "/randoms", &post).await,
        201
    );

    let spans = receiver
        .wait_for(PATIENCE, |spans| {
            named(spans, "randoms.insert_many").len() == 1
                && named(spans, "GET /randoms").len() == 1
        })
        .await;

    // GET: the server span is the caller's child, then the pool wait and the statement.
    let request = *named(&spans, "GET /randoms")
        .first()
        .expect("the GET's span");
    assert_eq!(request.trace_id, get_trace);
    assert_eq!(request.parent_span_id, caller);
    assert_eq!(request.service, "api");
    assert_eq!(request.kind, 2, "a server span");
    assert_eq!(request.attribute("http.route"), Some("/randoms"));
    assert_eq!(request.attribute("http.request.method"), Some("GET"));
    assert_eq!(request.attribute("http.response.status_code"), Some("200"));
    let under = children(&spans, request);
    one(&under, "pool wait");
    let select = one(&under, "randoms.latest");
    assert_eq!(select.kind, 3, "a client span");
    assert_eq!(select.attribute("db.system"), Some("postgresql"));
    assert_eq!(select.attribute("db.operation"), Some("SELECT"));
    assert_eq!(
        select.attribute("db.statement.name"),
        Some("randoms.latest")
    );
    assert!(select.start_unix_nano >= request.start_unix_nano);
    assert!(select.end_unix_nano <= request.end_unix_nano);

    // POST: the batch the request's row went into, and under it the pool and the INSERT.
    let request = *named(&spans, "POST /randoms")
        .first()
        .expect("the POST's span");
    assert_eq!(request.trace_id, post_trace);
    assert_eq!(request.attribute("http.response.status_code"), Some("201"));
    let batch = one(&children(&spans, request), "insert batch");
    assert_eq!(batch.attribute("batch.rows"), Some("1"));
    let under = children(&spans, batch);
    one(&under, "pool wait");
    let insert = one(&under, "randoms.insert_many");
    assert_eq!(insert.attribute("db.operation"), Some("INSERT"));

    // A GET answered from the cache waits for a round trip of the cache sync, a span of its
    // own. (GETs read the database until the cache listener is up and the cache holds the
    // answer again after the POST.)
    let cached_trace = "6bf92f3577b34da6a3ce929d0e0e4736";
    let cached = traceparent(cached_trace, caller, "01");
    eventually(PATIENCE, "a GET answered from the cache", || {
        let (api, cached, receiver) = (&api, &cached, &receiver);
        async move {
            assert_eq!(
                send(api, reqwest::Method::GET, "/randoms?limit=3", cached).await,
                200
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            answered_from_the_cache(&receiver.spans(), cached_trace).is_some()
        }
    })
    .await;
    let spans = receiver.spans();
    let request = answered_from_the_cache(&spans, cached_trace).expect("still there");
    assert!(
        children(&spans, request)
            .iter()
            .all(|s| s.name == "cache sync"),
        "answered from the cache, without a statement: {spans:#?}"
    );

    // Probes and scrapes are not traced.
    api.get("/ready").await;
    api.get("/metrics").await;
    let later = receiver.wait_for(Duration::from_secs(2), |_| false).await;
    assert!(
        !later.iter().any(|s| s
            .attribute("url.path")
            .is_some_and(|p| p == "/ready" || p == "/metrics")),
        "{later:#?}"
    );
}

#[tokio::test]
async fn without_a_caller_each_request_starts_a_trace_and_an_unsampled_caller_is_respected() {
    let receiver = Receiver::start().await.expect("a receiver");
    let api = traced_api(&receiver).await;
    // The caller chose not to sample (flags 00): with the default parent-based sampler,
    // nothing of it is exported.
    let unsampled = traceparent("11111111111111111111111111111111", "2222222222222222", "00");
    assert_eq!(
        send(&api, reqwest::Method::GET, "/randoms/1", &unsampled).await,
        200
    );
    assert_eq!(api.get("/randoms/1").await.status(), 200);
    let spans = receiver
        .wait_for(PATIENCE, |s| !named(s, "GET /randoms/{id}").is_empty())
        .await;
    let requests = named(&spans, "GET /randoms/{id}");
    assert_eq!(requests.len(), 1, "{spans:#?}");
    assert_eq!(requests[0].parent_span_id, "", "a new trace's root");
    assert!(
        spans
            .iter()
            .all(|s| s.trace_id != "11111111111111111111111111111111")
    );
    one(&children(&spans, requests[0]), "randoms.by_id");
    // Nothing of the request sampled out, not even its statement as a trace of its own.
    assert!(
        spans.iter().all(|s| s.trace_id == requests[0].trace_id),
        "only the sampled request's trace: {spans:#?}"
    );
}

/// `traceidratio` (what prod runs) keeps a request by its trace id alone, even one its
/// caller marked sampled; a request sampled out exports nothing at all, and its lines still
/// carry its trace id.
#[tokio::test]
async fn a_ratio_sampler_keeps_or_drops_whole_requests_by_their_trace_id() {
    let receiver = Receiver::start().await.expect("a receiver");
    let endpoint = receiver.endpoint();
    let api = TestApi::spawn_on(
        &migrated_database().await,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ],
    );
    // The ratio compares the id's lower 64 bits, halved, with 0.5 × 2^63.
    let (kept_get, kept_post) = (
        "aaaaaaaaaaaaaaaa0000000000000001",
        "cccccccccccccccc0000000000000002",
    );
    let (dropped_get, dropped_post) = (
        "bbbbbbbbbbbbbbbbffffffffffffffff",
        "ddddddddddddddddfffffffffffffffe",
    );
    let caller = "00f067aa0ba902b7";
    for (method, path, trace, status) in [
        (reqwest::Method::GET, "/randoms/1", dropped_get, 200),
        (reqwest::Method::POST, "/randoms", dropped_post, 201),
        (reqwest::Method::GET, "/randoms/1", kept_get, 200),
        (reqwest::Method::POST, "/randoms", kept_post, 201),
    ] {
        let parent = traceparent(trace, caller, "01");
        assert_eq!(send(&api, method, path, &parent).await, status, "{trace}");
    }
    let spans = receiver
        .wait_for(PATIENCE, |spans| {
            named(spans, "randoms.by_id").len() == 1
                && named(spans, "randoms.insert_many").len() == 1
        })
        .await;
    assert!(
        spans
            .iter()
            .all(|s| s.trace_id == kept_get || s.trace_id == kept_post),
        "only the kept requests' traces: {spans:#?}"
    );
    let get = one(&named(&spans, "GET /randoms/{id}"), "GET /randoms/{id}");
    assert_eq!(get.trace_id, kept_get);
    one(&children(&spans, get), "randoms.by_id");
    let post = one(&named(&spans, "POST /randoms"), "POST /randoms");
    assert_eq!(post.trace_id, kept_post);
    let batch = one(&children(&spans, post), "insert batch");
    one(&children(&spans, batch), "randoms.insert_many");

    let mut lines: Vec<Value> = Vec::new();
    eventually(PATIENCE, "the four access lines", || {
        lines = api.log_events();
        let done = lines.iter().filter(|l| l["message"] == "request").count() >= 4;
        async move { done }
    })
    .await;
    for trace in [dropped_get, dropped_post] {
        assert!(
            lines
                .iter()
                .any(|l| l["message"] == "request" && l["trace_id"] == trace),
            "an access line with {trace}: {lines:#?}"
        );
    }
}

/// `api_trace_spans_dropped_total` from `/metrics`.
async fn dropped(api: &TestApi) -> f64 {
    let text = api.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .find_map(|l| l.strip_prefix("api_trace_spans_dropped_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no api_trace_spans_dropped_total in {text}"))
}

/// Each request answered within this, well under the 5 s an export waits for a collector
/// (`EXPORT_TIMEOUT`): one that waited for an export would fail, not merely be slow.
const UNDER_AN_EXPORT: Duration = Duration::from_secs(3);

async fn requests_are_unaffected(api: &TestApi) {
    for _ in 0..20 {
        for (method, status) in [(reqwest::Method::GET, 200), (reqwest::Method::POST, 201)] {
            let res = api
                .http
                .request(method.clone(), api.url("/randoms"))
                .timeout(UNDER_AN_EXPORT)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} answered within {UNDER_AN_EXPORT:?}: {e}"));
            assert_eq!(res.status(), status, "{method}");
        }
    }
    eventually(PATIENCE, "the lost spans are counted", || async {
        dropped(api).await > 0.0
    })
    .await;
}

#[tokio::test]
async fn a_collector_that_is_gone_drops_spans_and_costs_no_request() {
    let endpoint = Receiver::start().await.expect("a receiver").endpoint();
    // Dropped: nothing listens there any more.
    let api = TestApi::spawn_on(
        &migrated_database().await,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    );
    requests_are_unaffected(&api).await;
}

#[tokio::test]
async fn a_collector_that_never_answers_drops_spans_and_costs_no_request() {
    // Accepts connections and reads nothing: every export waits out its timeout.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let endpoint = format!("http://{}", hole.local_addr().expect("an address"));
    let api = TestApi::spawn_on(
        &migrated_database().await,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    );
    requests_are_unaffected(&api).await;
    drop(hole);
}

/// A schema the API does not expect: its statements fail, with an error it logs.
async fn break_the_schema(db: &str) {
    connect(db)
        .await
        .batch_execute("ALTER TABLE randoms RENAME COLUMN name TO renamed")
        .await
        .expect("rename");
}

#[tokio::test]
async fn a_failed_write_fails_its_request_and_batch_spans_under_the_service_name_given() {
    let receiver = Receiver::start().await.expect("a receiver");
    let db = migrated_database().await;
    let endpoint = receiver.endpoint();
    let api = TestApi::spawn_on(
        &db,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_SERVICE_NAME", "randoms-api"),
        ],
    );
    break_the_schema(&db).await;
    let trace = "7bf92f3577b34da6a3ce929d0e0e4736";
    let parent = traceparent(trace, "00f067aa0ba902b7", "01");
    assert_eq!(
        send(&api, reqwest::Method::POST, "/randoms", &parent).await,
        500
    );

    let spans = receiver
        .wait_for(PATIENCE, |spans| {
            named(spans, "POST /randoms").len() == 1 && named(spans, "insert batch").len() == 1
        })
        .await;
    let request = *named(&spans, "POST /randoms").first().expect("the POST");
    assert_eq!(request.trace_id, trace);
    assert_eq!(request.service, "randoms-api");
    assert_eq!(request.status, 2, "failed: {request:#?}");
    let batch = one(&children(&spans, request), "insert batch");
    assert_eq!(batch.status, 2, "failed: {batch:#?}");
    assert!(
        spans.iter().all(|s| s.service == "randoms-api"),
        "{spans:#?}"
    );
}

#[tokio::test]
async fn every_line_logged_inside_a_request_carries_its_request_and_trace_ids() {
    // No exporter: the ids are there all the same.
    let db = migrated_database().await;
    let api = TestApi::spawn_on(&db, &[]);
    break_the_schema(&db).await;
    let trace = "5bf92f3577b34da6a3ce929d0e0e4736";
    let res = api
        .http
        .get(api.url("/randoms"))
        .header("traceparent", traceparent(trace, "00f067aa0ba902b7", "01"))
        .header("x-request-id", "follow-me")
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 500);
    // A write fails too, in a batched insert that runs outside any request: its cause is
    // logged under the request it fails, once for each.
    for id in ["write-1", "write-2"] {
        let res = api
            .http
            .post(api.url("/randoms"))
            .header("x-request-id", id)
            .send()
            .await
            .expect("answered");
        assert_eq!(res.status(), 500, "{id}");
    }
    let fresh = api.get("/randoms/1").await;
    let fresh_id = fresh.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();

    let mut lines: Vec<Value> = Vec::new();
    eventually(PATIENCE, "the four error and access lines", || {
        lines = api.log_events();
        let done = lines.iter().filter(|l| l["message"] == "request").count() >= 4
            && lines
                .iter()
                .filter(|l| l["message"] == "unexpected database error")
                .count()
                >= 4;
        async move { done }
    })
    .await;
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "unexpected database error")
        .collect();
    let ids: Vec<&str> = errors
        .iter()
        .map(|l| l["request_id"].as_str().unwrap_or("none"))
        .collect();
    // The last, a read that fails the same way, with an id of its own.
    assert_eq!(
        ids,
        ["follow-me", "write-1", "write-2", &fresh_id],
        "{errors:#?}"
    );
    for error in &errors {
        assert_eq!(error["level"], "ERROR");
        assert!(
            error["error"]
                .as_str()
                .is_some_and(|e| e.contains("column \"name\"")),
            "the cause, for the log: {error}"
        );
        assert_eq!(
            error["trace_id"].as_str().map(str::len),
            Some(32),
            "{error}"
        );
    }
    assert_eq!(errors[0]["trace_id"], trace, "{}", errors[0]);
    let access = |id: &str| {
        lines
            .iter()
            .find(|l| l["message"] == "request" && l["request_id"] == id)
            .unwrap_or_else(|| panic!("the access line of {id} in {lines:#?}"))
            .clone()
    };
    assert_eq!(access("follow-me")["trace_id"], trace);
    // Without a caller's trace, a fresh id: 32 hex digits, not all zero.
    let fresh_trace = access(&fresh_id)["trace_id"]
        .as_str()
        .expect("a trace id")
        .to_owned();
    assert_eq!(fresh_trace.len(), 32);
    assert!(fresh_trace.chars().all(|c| c.is_ascii_hexdigit()) && fresh_trace != "0".repeat(32));
}

#[tokio::test]
async fn bad_trace_settings_stop_the_api_with_one_line_naming_the_variable() {
    for (variable, value) in [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
    ] {
        let env = [
            ("DATABASE_URL", "postgres://app:app@127.0.0.1:1/app"),
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            (variable, value),
        ];
        let (status, stderr) = crate::helpers::run_to_exit(&env);
        assert!(!status.success(), "{variable}={value}");
        let line = stderr.trim();
        assert!(line.starts_with(&format!("api: {variable}: ")), "{line}");
        assert_eq!(line.lines().count(), 1, "{line}");
    }
}

//! Traces: the real binary exporting to a real OTLP receiver. The page's `traceparent` is
//! continued, so `/config.json` joins the user action's trace; probes are never exported;
//! and the access line carries the trace id, exported or not.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use otlp_receiver::{Background, ReceivedSpan};

use crate::helpers::{Site, TestBinary, request};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER: &str = "00f067aa0ba902b7";

fn traceparent() -> String {
    format!("00-{TRACE}-{CALLER}-01")
}

/// The spans received once `done` holds for them, or after 15 s.
fn wait_for(receiver: &Background, done: impl Fn(&[ReceivedSpan]) -> bool) -> Vec<ReceivedSpan> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let spans = receiver.spans();
        if done(&spans) || Instant::now() > deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn receiver() -> Background {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    Background::bind(any, 10_000).expect("a receiver")
}

#[test]
fn the_pages_trace_continues_through_config_json_and_probes_are_not_exported() {
    let receiver = receiver();
    let site = Site::new();
    let root = site.root().display().to_string();
    let endpoint = receiver.endpoint();
    let mut server = TestBinary::spawn(&[
        ("WEB_ROOT", &root),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
    ]);
    assert_eq!(request(server.addr, "GET", "/healthz", &[]).status, 200);
    let parent = traceparent();
    let res = request(
        server.addr,
        "GET",
        "/config.json",
        &[("traceparent", &parent), ("x-request-id", "follow-me")],
    );
    assert_eq!(res.status, 200);
    assert_eq!(request(server.addr, "GET", "/about", &[]).status, 200);

    let spans = wait_for(&receiver, |s| s.len() >= 2);
    let config: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "GET /config.json")
        .collect();
    assert_eq!(config.len(), 1, "{spans:#?}");
    let config = config[0];
    assert_eq!(config.trace_id, TRACE);
    assert_eq!(config.parent_span_id, CALLER);
    assert_eq!(config.kind, 2, "a server span");
    assert_eq!(config.service, "web-server");
    assert_eq!(config.attribute("http.route"), Some("/config.json"));
    assert_eq!(config.attribute("http.response.status_code"), Some("200"));
    assert_eq!(config.attribute("request_id"), Some("follow-me"));
    let page: Vec<_> = spans.iter().filter(|s| s.name == "GET /{*page}").collect();
    assert_eq!(
        page.len(),
        1,
        "a navigation is the page's route: {spans:#?}"
    );
    assert_ne!(
        page[0].trace_id, TRACE,
        "a request without a parent starts a trace"
    );
    assert!(
        spans
            .iter()
            .all(|s| s.attribute("url.path") != Some("/healthz")),
        "probes are not exported: {spans:#?}"
    );

    server.signal(nix::sys::signal::Signal::SIGTERM);
    server.wait_exit(Duration::from_secs(15));
    let access: Vec<_> = server
        .log_events()
        .into_iter()
        .filter(|e| e["target"] == "web_server::access" && e["path"] == "/config.json")
        .collect();
    assert_eq!(access.len(), 1);
    assert_eq!(access[0]["trace_id"], TRACE);
}

/// As the API's: the caller's trace id, else a fresh one; the caller's request id when
/// safe, else a fresh one, echoed in the answer.
#[test]
fn without_an_exporter_the_access_line_carries_a_trace_id_and_a_request_id() {
    let site = Site::new();
    let root = site.root().display().to_string();
    let mut server = TestBinary::spawn(&[("WEB_ROOT", &root)]);
    let parent = traceparent();
    let traced = request(
        server.addr,
        "GET",
        "/config.json",
        &[("traceparent", &parent), ("x-request-id", "follow-me")],
    );
    assert_eq!(traced.header("x-request-id"), Some("follow-me"));
    let fresh = request(server.addr, "GET", "/", &[("x-request-id", "a b=c")]);
    let fresh_id = fresh
        .header("x-request-id")
        .expect("a request id")
        .to_owned();
    assert_eq!(fresh_id.len(), 36, "a UUID, not the unsafe id: {fresh_id}");
    server.signal(nix::sys::signal::Signal::SIGTERM);
    server.wait_exit(Duration::from_secs(15));
    let access: Vec<_> = server
        .log_events()
        .into_iter()
        .filter(|e| e["target"] == "web_server::access")
        .collect();
    assert_eq!(access.len(), 2, "{access:#?}");
    assert_eq!(access[0]["trace_id"], TRACE);
    assert_eq!(access[0]["request_id"], "follow-me");
    let fresh_trace = access[1]["trace_id"].as_str().expect("a trace id");
    assert!(
        fresh_trace.len() == 32 && fresh_trace != TRACE && fresh_trace != "0".repeat(32),
        "{fresh_trace}"
    );
    assert_eq!(access[1]["request_id"], fresh_id.as_str());
}

#[test]
fn a_bad_trace_setting_is_one_line_naming_it() {
    let site = Site::new();
    let root = site.root().display().to_string();
    for (var, value) in [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
    ] {
        crate::binary::assert_one_line_naming(&[("WEB_ROOT", &root), (var, value)], var);
    }
}

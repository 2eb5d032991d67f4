//! `GET /randoms/events`: every write, from anywhere, reaches open streams; heartbeats; a
//! bound per replica; streams end at once on SIGTERM.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::helpers::{TestApi, connect, eventually, json, migrated_database};

/// How long a test waits for something the stream should send (the targets are far
/// shorter; this only keeps a broken stream from hanging the test).
const PATIENCE: Duration = Duration::from_secs(10);

/// An open event stream, read as text.
struct Events {
    res: reqwest::Response,
    seen: String,
}

impl Events {
    async fn open(api: &TestApi) -> Self {
        let res = streaming_client()
            .get(api.url("/randoms/events"))
            .send()
            .await
            .expect("the stream opens");
        assert_eq!(res.status(), 200);
        let header = |name| res.headers()[name].to_str().unwrap_or_default().to_owned();
        assert_eq!(header("content-type"), "text/event-stream");
        assert_eq!(header("cache-control"), "no-store");
        Self {
            res,
            seen: String::new(),
        }
    }

    /// Reads until `wanted` arrives and consumes the stream up to its end; fails after
    /// [`PATIENCE`].
    async fn expect(&mut self, wanted: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self.seen.find(wanted) {
                self.seen.drain(..at + wanted.len());
                return;
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk())
                .await
                .unwrap_or_else(|_| panic!("no {wanted:?} within {PATIENCE:?}: {:?}", self.seen))
                .expect("the stream goes on")
                .unwrap_or_else(|| panic!("the stream ended before {wanted:?}: {:?}", self.seen));
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The rest of the stream, which must end within [`PATIENCE`].
    async fn end(mut self) -> String {
        let read = async {
            while let Some(chunk) = self.res.chunk().await.expect("ends cleanly") {
                self.seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .expect("the stream ends");
        self.seen
    }
}

/// No overall timeout: a stream is meant to outlive any request timeout.
fn streaming_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(PATIENCE)
        .build()
        .expect("http client")
}

const CHANGED: &str = "event: changed\ndata: {}\n\n";

#[tokio::test]
async fn writes_from_anywhere_reach_an_open_stream_and_quiet_streams_get_heartbeats() {
    let db = migrated_database().await;
    let api = TestApi::spawn_on(&db, &[("API_STREAM_HEARTBEAT_SECS", "1")]);
    let mut events = Events::open(&api).await;
    events.expect("retry: ").await;

    // Through the API…
    assert_eq!(api.post("/randoms").await.status(), 201);
    events.expect(CHANGED).await;
    // …and around it, as another service or a person with psql would.
    connect(&db)
        .await
        .batch_execute("insert into randoms default values")
        .await
        .expect("a direct insert");
    events.expect(CHANGED).await;

    // Nothing changes: a heartbeat comment, no event.
    events.expect(": heartbeat\n\n").await;
    assert!(!events.seen.contains("event:"), "{:?}", events.seen);
}

#[tokio::test]
async fn each_replica_serves_a_bounded_number_of_streams() {
    let db = migrated_database().await;
    let env = [("API_MAX_STREAMS", "2"), ("API_STREAM_HEARTBEAT_SECS", "1")];
    let api = TestApi::spawn_on(&db, &env);
    let first = Events::open(&api).await;
    let _second = Events::open(&api).await;
    assert_eq!(gauge(&api, "api_event_streams").await, 2.0);

    let refused = api.get("/randoms/events").await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    assert_eq!(json(refused).await["error"], "too_many_streams");

    // A client that leaves gives its slot back (found by the next heartbeat at the latest).
    drop(first);
    eventually(PATIENCE, "a slot is free again", || async {
        api.get("/randoms/events").await.status() == 200
    })
    .await;
}

/// The gauge `name` from `/metrics`.
async fn gauge(api: &TestApi, name: &str) -> f64 {
    let text = api.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test]
async fn sigterm_ends_open_streams_at_once() {
    // A drain that would wait out open streams would take the whole 30 s.
    let mut api = TestApi::spawn_on(
        &migrated_database().await,
        &[("SHUTDOWN_TIMEOUT_SECS", "30")],
    );
    // The listener's connect is itself announced as a change: let it happen first, so any
    // event seen below came after the signal.
    eventually(PATIENCE, "the cache listener is up", || async {
        gauge(&api, "api_latest_cache_listening").await == 1.0
    })
    .await;
    let mut events = Events::open(&api).await;
    events.expect("retry: ").await;
    let asked = Instant::now();
    api.signal(Signal::SIGTERM);
    let rest = events.end().await;
    assert!(!rest.contains("event:"), "{rest:?}");
    let status = api.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit {status}");
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "the drain waited for the stream: {:?}",
        asked.elapsed()
    );
}

#[tokio::test]
async fn the_stream_is_documented_as_an_event_stream() {
    let api = TestApi::spawn().await;
    let doc: Value = api.get("/openapi.json").await.json().await.expect("JSON");
    let ok = &doc["paths"]["/randoms/events"]["get"]["responses"]["200"];
    assert!(ok["content"]["text/event-stream"].is_object(), "{ok:#}");
}

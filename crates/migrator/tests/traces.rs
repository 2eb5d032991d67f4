//! Traces: the `migrator` binary exporting to a real OTLP receiver. A run is one span under
//! the caller's `TRACEPARENT`, with its steps as children, and it is sent before the
//! process exits.

mod common;

use common::{fresh_db, migrator, run};
use otlp_receiver::{Background, ReceivedSpan};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER: &str = "b7ad6b7169203331";

#[tokio::test]
async fn a_run_is_one_span_under_the_callers_trace_with_its_steps_as_children() {
    let url = fresh_db().await;
    let receiver =
        Background::bind("127.0.0.1:0".parse().expect("an address"), 1_000).expect("a receiver");
    let endpoint = receiver.endpoint();
    let parent = format!("00-{TRACE}-{CALLER}-01");
    run(migrator(&url, &["up"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("TRACEPARENT", &parent))
    .success();

    // Exported at exit: nothing to wait for.
    let spans = receiver.spans();
    let runs: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name == "migrator up").collect();
    assert_eq!(runs.len(), 1, "{spans:#?}");
    let root = runs[0];
    assert_eq!(root.service, "migrator");
    assert_eq!(
        (root.trace_id.as_str(), root.parent_span_id.as_str()),
        (TRACE, CALLER)
    );
    assert_eq!(root.attribute("db.system"), Some("postgresql"));
    let steps: Vec<&str> = spans
        .iter()
        .filter(|s| s.parent_span_id == root.span_id && s.trace_id == TRACE)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(steps, ["connect", "lock", "apply"], "in order: {spans:#?}");

    // Without TRACEPARENT a run starts its own trace; `down` reverts under its own span.
    run(migrator(&url, &["down"]).env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)).success();
    let spans = receiver.spans();
    let down = spans
        .iter()
        .find(|s| s.name == "migrator down")
        .expect("a down span");
    assert_ne!(down.trace_id, TRACE);
    assert!(down.parent_span_id.is_empty());
    assert!(
        spans
            .iter()
            .any(|s| s.name.starts_with("revert V3__") && s.trace_id == down.trace_id),
        "{spans:#?}"
    );
}

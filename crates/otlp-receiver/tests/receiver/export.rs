use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use otlp_receiver::Receiver;
use prost::Message;

use crate::support::{request, send, span, string};

#[tokio::test]
async fn a_posted_protobuf_request_becomes_spans_and_anything_else_is_refused() {
    let receiver = Receiver::start().await.expect("listens");
    let mut root = span(0xab, 0x01, 0, "GET /randoms", 0, 5);
    root.kind = 2;
    root.attributes = vec![string("http.route", "/randoms")];
    let url = format!("{}/v1/traces", receiver.endpoint());
    let answer = send("POST", &url, request(vec![("api", vec![root])])).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/x-protobuf");
    assert!(ExportTraceServiceResponse::decode(answer.body.as_slice()).is_ok());
    let spans = receiver
        .wait_for(Duration::from_secs(5), |s| !s.is_empty())
        .await;
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.service, "api");
    assert_eq!(span.trace_id, "ab".repeat(16));
    assert_eq!(span.span_id, "01".repeat(8));
    assert_eq!(span.parent_span_id, "");
    assert_eq!(span.kind, 2);
    assert_eq!(span.duration(), Duration::from_millis(5));
    assert_eq!(span.attribute("http.route"), Some("/randoms"));
    assert_eq!(receiver.requests(), 1);

    let answer = send("POST", &url, b"\xff\xff not protobuf".to_vec()).await;
    assert_eq!(answer.status, 400);
    assert_eq!(receiver.spans().len(), 1);
    assert_eq!(send("GET", &url, vec![]).await.status, 404);
}

#[tokio::test]
async fn a_discarding_receiver_answers_and_keeps_nothing() {
    let receiver = Receiver::discarding().await.expect("listens");
    let url = format!("{}/v1/traces", receiver.endpoint());
    let body = request(vec![("api", vec![span(1, 1, 0, "a", 0, 1)])]);
    assert_eq!(send("POST", &url, body).await.status, 200);
    assert_eq!(receiver.requests(), 1);
    assert!(receiver.spans().is_empty());
    assert_eq!(receiver.spans_after(0), (vec![], 0));
}

use otlp_receiver::Receiver;

use crate::support::{request, send, span};

/// The names of `spans`.
fn names(spans: &[otlp_receiver::ReceivedSpan]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test]
async fn a_bounded_receiver_keeps_the_latest_spans_and_a_cursor_sees_each_once() {
    let receiver = Receiver::bind_bounded("127.0.0.1:0".parse().expect("an address"), 3)
        .await
        .expect("listens");
    let url = format!("{}/v1/traces", receiver.endpoint());
    let post = |ids: std::ops::RangeInclusive<u8>| {
        let spans = ids.map(|i| span(1, i, 0, &format!("s{i}"), 0, 1)).collect();
        send("POST", &url, request(vec![("api", spans)]))
    };

    assert_eq!(post(1..=2).await.status, 200);
    let (new, seen) = receiver.spans_after(0);
    assert_eq!((names(&new), seen), (vec!["s1", "s2"], 2));

    assert_eq!(post(3..=5).await.status, 200);
    assert_eq!(names(&receiver.spans()), ["s3", "s4", "s5"]);
    assert_eq!(receiver.received(), 5);
    let (new, seen) = receiver.spans_after(seen);
    assert_eq!((names(&new), seen), (vec!["s3", "s4", "s5"], 5));
    assert_eq!(receiver.spans_after(seen), (vec![], 5));

    // A batch larger than the bound: only its tail is kept, and the cursor skips the rest.
    assert_eq!(post(6..=10).await.status, 200);
    let (new, seen) = receiver.spans_after(seen);
    assert_eq!((names(&new), seen), (vec!["s8", "s9", "s10"], 10));
    // A cursor from before what is kept gets what is kept; one from the future, nothing.
    assert_eq!(names(&receiver.spans_after(0).0), ["s8", "s9", "s10"]);
    assert_eq!(receiver.spans_after(99), (vec![], 10));
}

#[tokio::test]
async fn an_unbounded_receiver_keeps_everything() {
    let receiver = Receiver::start().await.expect("listens");
    let url = format!("{}/v1/traces", receiver.endpoint());
    for i in 1..=4 {
        let body = request(vec![("api", vec![span(1, i, 0, "s", 0, 1)])]);
        assert_eq!(send("POST", &url, body).await.status, 200);
    }
    assert_eq!(receiver.spans().len(), 4);
    let (new, seen) = receiver.spans_after(3);
    assert_eq!((new.len(), seen), (1, 4));
}

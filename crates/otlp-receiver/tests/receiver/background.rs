use std::{io::ErrorKind, net::TcpStream};

use otlp_receiver::Background;

use crate::support::{blocking_send, request, span};

#[test]
fn a_background_receiver_serves_a_program_without_a_runtime() {
    let background =
        Background::bind("127.0.0.1:0".parse().expect("an address"), 10).expect("listens");
    let endpoint = background.endpoint();
    let body = request(vec![("api", vec![span(0xab, 1, 0, "GET /randoms", 0, 3)])]);
    let answer = blocking_send(&endpoint, "POST", "/v1/traces", &body);
    assert_eq!(answer.status, 200);
    assert_eq!(background.requests(), 1);
    let (new, seen) = background.spans_after(0);
    assert_eq!((new.len(), seen), (1, 1));
    assert_eq!(new[0].name, "GET /randoms");
    assert_eq!(background.spans_after(seen), (vec![], 1));
    assert_eq!(background.spans(), new);
    assert_eq!(background.received(), 1);

    let page = blocking_send(&endpoint, "GET", "/", b"");
    assert_eq!(page.status, 200);
    assert!(
        page.text()
            .contains(&format!("/traces/{}", "ab".repeat(16)))
    );

    // The port is taken: the second bind says so.
    let addr = endpoint.trim_start_matches("http://");
    let taken = Background::bind(addr.parse().expect("an address"), 10);
    assert_eq!(taken.err().map(|e| e.kind()), Some(ErrorKind::AddrInUse));

    // Dropped, it stops listening.
    drop(background);
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening on {addr}"
    );
}

#[tokio::test]
async fn a_background_receiver_may_live_and_die_inside_another_runtime() {
    let background =
        Background::bind("127.0.0.1:0".parse().expect("an address"), 10).expect("listens");
    assert!(background.endpoint().starts_with("http://127.0.0.1:"));
    drop(background);
}

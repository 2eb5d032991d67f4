//! Hostile clients, each with the input that once broke a bound, and the bound asserted:
//! memory by the API's peak RSS (`VmHWM`, what a cgroup limit meets), time by a generous
//! ceiling that only a hang would pass, state by what the database holds afterwards.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use api::{body::BODY_DEADLINE, inserts::DEADLINE};

use crate::{
    faults::peak_rss_kib,
    helpers::{TestApi, connect, json},
};

/// The most the API's peak RSS may grow under one attack. The attacks below grew it by
/// 100 MB to over a gigabyte before their fixes; a healthy run stays within a few MB.
const MEMORY_BOUND_KIB: u64 = 48 * 1024;

fn raw(api: &TestApi) -> TcpStream {
    let stream = TcpStream::connect(&api.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("read timeout");
    stream
}

/// A connection whose receive buffer is small, as a client's that never reads fills: the
/// server soon has nowhere to put its answers (and spends no CPU the other tests need).
fn not_reading(api: &TestApi) -> TcpStream {
    let addr: std::net::SocketAddr = api.addr.parse().expect("an address");
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    socket.set_recv_buffer_size(16 * 1024).expect("SO_RCVBUF");
    socket.connect(&addr.into()).expect("connect");
    socket.into()
}

/// Sends one request on a fresh connection and returns the status and the whole answer.
fn exchange(api: &TestApi, request: &[u8]) -> (u16, String) {
    let mut stream = raw(api);
    stream.write_all(request).expect("send");
    let mut answer = Vec::new();
    // `Connection: close` in every request here: the answer ends with the connection.
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    (status, answer)
}

async fn newest_id(api: &TestApi) -> i64 {
    let client = connect(&api.db_url).await;
    client
        .query_one("SELECT max(id) FROM randoms", &[])
        .await
        .expect("max id")
        .get(0)
}

fn assert_grew_less_than(before_kib: u64, api: &TestApi, what: &str) {
    let after = peak_rss_kib(api.pid());
    assert!(
        after.saturating_sub(before_kib) < MEMORY_BOUND_KIB,
        "{what}: peak RSS went from {before_kib} KiB to {after} KiB"
    );
}

/// 64 MiB of zeros in a few kilobytes, as gzip and as brotli.
fn bombs() -> Vec<(&'static str, Vec<u8>)> {
    let zeros = vec![0u8; 1024 * 1024];
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut brotli = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
    for _ in 0..64 {
        gzip.write_all(&zeros).expect("gzip");
        brotli.write_all(&zeros).expect("brotli");
    }
    let gzip = gzip.finish().expect("gzip");
    brotli.flush().expect("brotli");
    vec![("gzip", gzip), ("br", brotli.into_inner())]
}

#[tokio::test]
async fn a_compressed_body_is_refused_unread() {
    let api = TestApi::spawn().await;
    let before = peak_rss_kib(api.pid());
    for (encoding, bomb) in bombs() {
        assert!(bomb.len() < 1024 * 1024, "{encoding}: {} bytes", bomb.len());
        let res = api
            .http
            .post(api.url("/randoms"))
            .header("content-encoding", encoding)
            .body(bomb)
            .send()
            .await
            .expect("answered");
        assert_eq!(res.status(), 415, "{encoding}");
        assert_eq!(json(res).await["error"], "unsupported_media_type");
    }
    // `identity` is no encoding at all.
    let res = api
        .http
        .post(api.url("/randoms"))
        .header("content-encoding", "identity")
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 201);
    assert_grew_less_than(before, &api, "compressed bodies");
    assert_eq!(newest_id(&api).await, 101, "only the identity POST wrote");
}

#[tokio::test]
async fn invented_methods_get_501_and_add_no_metric_series() {
    let api = TestApi::spawn().await;
    let series = || async {
        let text = api.get("/metrics").await.text().await.expect("metrics");
        (text.lines().count(), text)
    };
    let (lines_before, _) = series().await;
    let long = "Q".repeat(16 * 1024);
    let methods = (0..2_000)
        .map(|i| format!("XQ{i:05}"))
        .chain((0..20).map(|i| format!("{long}{i}")));
    for method in methods {
        let (status, answer) = exchange(
            &api,
            format!("{method} /randoms HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        // Methods longer than a request head may be are refused by the parser (431/400).
        assert!([501, 400, 431].contains(&status), "{status}: {answer}");
        if status == 501 {
            assert!(answer.contains("\"not_implemented\""), "{answer}");
        }
    }
    let (lines_after, text) = series().await;
    assert!(!text.contains("XQ0"), "an invented method became a label");
    // The requests above and the two scrapes add a handful of series, not thousands.
    assert!(
        lines_after < lines_before + 200,
        "/metrics grew from {lines_before} to {lines_after} lines"
    );
}

#[tokio::test]
async fn a_stalled_body_is_timed_out_and_its_connection_closed() {
    let api = TestApi::spawn().await;
    let mut stalled: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut stream = raw(&api);
            stream
                .write_all(b"POST /randoms HTTP/1.1\r\nHost: x\r\nContent-Length: 16000\r\n\r\nabc")
                .expect("send");
            stream
        })
        .collect();
    let asked = Instant::now();
    for stream in &mut stalled {
        let mut answer = Vec::new();
        // The server answers and closes, so this ends (the read timeout is 15 s).
        stream
            .read_to_end(&mut answer)
            .expect("answered and closed");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"request_timeout\""), "{answer}");
    }
    let took = asked.elapsed();
    assert!(
        took < BODY_DEADLINE + Duration::from_secs(4),
        "the stalled bodies were answered after {took:?}"
    );
    assert_eq!(newest_id(&api).await, 100, "nothing was written");
}

/// Every POST waits at most its deadline, however many there are, when the table is locked;
/// past the queue they are shed at once. Once the lock goes, writes succeed again.
#[tokio::test]
async fn writers_to_a_locked_table_get_503_within_the_deadline() {
    let api = TestApi::spawn().await;
    let locker = connect(&api.db_url).await;
    locker
        .batch_execute("BEGIN; LOCK TABLE randoms IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    // Past the queue (256) and the batches in flight (4 × 64); under a 1,024 fd limit.
    let posts = (0..640).map(|_| async {
        let asked = Instant::now();
        let res = api.post("/randoms").await;
        let status = res.status().as_u16();
        let body: serde_json::Value = res.json().await.expect("JSON");
        (asked.elapsed(), status, body)
    });
    let answers = futures_util::future::join_all(posts).await;
    let mut shed = 0;
    for (took, status, body) in &answers {
        assert_eq!(*status, 503, "{body}");
        assert!(
            *took < DEADLINE + Duration::from_secs(4),
            "answered after {took:?}: {body}"
        );
        match body["error"].as_str() {
            Some("overloaded") => shed += 1,
            Some("database_unavailable") => {}
            other => panic!("unexpected error {other:?}: {body}"),
        }
    }
    assert!(shed > 0, "nothing was shed at the full queue");
    locker.batch_execute("ROLLBACK").await.expect("unlock");
    assert_eq!(api.post("/randoms").await.status(), 201);
}

#[tokio::test]
async fn requests_pipelined_after_connection_close_are_not_run() {
    let api = TestApi::spawn().await;
    let (status, answer) = exchange(
        &api,
        b"POST /randoms HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n\
          POST /randoms HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /randoms HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 201").count(), 1, "{answer}");
    assert_eq!(newest_id(&api).await, 101, "only the first POST ran");
}

#[tokio::test]
async fn pipelined_requests_that_are_never_read_stay_bounded() {
    let api = TestApi::spawn().await;
    // Warm the cache, so that the attack measures answers, not the first database read.
    assert_eq!(api.get("/randoms?limit=100").await.status(), 200);
    let before = peak_rss_kib(api.pid());
    let request = "GET /randoms?limit=100 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1_000);
    let started = Instant::now();
    let clients: Vec<TcpStream> = (0..60)
        .map(|_| {
            let mut stream = not_reading(&api);
            stream.write_all(request.as_bytes()).expect("pipeline");
            stream
        })
        .collect();
    // Long enough for every answer to have been produced several times over (~600 MB).
    while started.elapsed() < Duration::from_secs(4) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_grew_less_than(before, &api, "60 connections × 1,000 unread answers");
    drop(clients);
    // Pipelining itself still works: a client that reads gets every answer, in order.
    let mut stream = raw(&api);
    let three = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(2)
        + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream.write_all(three.as_bytes()).expect("pipeline");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answers");
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 3, "{answer}");
}

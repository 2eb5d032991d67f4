//! A corpus of hostile requests, sent byte for byte over raw TCP to the in-process server
//! and to the real binary: `..` in every encoding and mix, NUL and invalid UTF-8 in the
//! path, huge and numerous headers, invalid bytes in header values, absurd `Range`s,
//! malformed request lines, smuggling-shaped bodies. Whatever comes back never holds a byte
//! from outside the root, is never a server error, and the server still answers `/healthz`
//! afterwards (and the binary has not panicked).
//!
//! Then what a crowd of clients may hold: past `WEB_MAX_CONNECTIONS`, connections wait in
//! the kernel's queue and the binary's peak memory stays bounded; and the `Host` rules.

use std::{
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use crate::helpers::{
    INDEX_MARKER, IO_TIMEOUT, JS, Site, TestBinary, TestServer, gunzip, open_sockets, peak_rss_kib,
    raw, read_response, request, rss_kib, unbrotli,
};

/// How a request from the corpus may be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A path that tries to leave the root: 400 or 404, or the SPA page (never a file).
    Refused,
    /// Absurd but harmless: the file itself, whole (a `Range` the server ignores), or a
    /// `206`/`416` if it ever implements ranges; the body is checked against the file.
    WholeFile,
    /// Malformed beyond use: any 4xx, or the connection closed without an answer.
    Rejected,
    /// Odd but valid HTTP: any non-5xx answer.
    Answered,
}

struct Probe {
    what: String,
    bytes: Vec<u8>,
    expect: Expect,
}

fn probe(what: impl Into<String>, bytes: impl Into<Vec<u8>>, expect: Expect) -> Probe {
    Probe {
        what: what.into(),
        bytes: bytes.into(),
        expect,
    }
}

/// A complete request with `Connection: close`, so the server ends the exchange.
fn get(target: &[u8], headers: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"GET ".to_vec();
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

/// `..` spelled every way: percent-encoded in either case, double-encoded, as overlong
/// UTF-8 (2, 3 and 4 bytes), IIS's `%u`, with encoded digits, and mixed with plain dots.
const DOTS: &[&str] = &[
    ".",
    "%2e",
    "%2E",
    "%252e",
    "%252E",
    "%c0%ae",
    "%C0%AE",
    "%e0%80%ae",
    "%f0%80%80%ae",
    "%c0%2e",
    "%u002e",
    "%%32%65",
    "%25%32%65",
];
/// `/` and `\` spelled every way.
const SEPARATORS: &[&str] = &[
    "/",
    "%2f",
    "%2F",
    "%252f",
    "\\",
    "%5c",
    "%5C",
    "%255c",
    "%c0%af",
    "%e0%80%af",
    "%c1%9c",
    "%c0%5c",
];

fn traversal_corpus() -> Vec<Probe> {
    let mut dot_dots: Vec<String> = Vec::new();
    for (i, d) in DOTS.iter().enumerate() {
        dot_dots.push(format!("{d}{d}"));
        if *d != "." {
            dot_dots.push(format!(".{d}"));
            dot_dots.push(format!("{d}."));
        }
        if let Some(next) = DOTS.get(i + 1) {
            dot_dots.push(format!("{d}{next}"));
        }
    }
    let mut out = Vec::new();
    for up in &dot_dots {
        for sep in SEPARATORS {
            for target in [
                format!("/{up}{sep}secret.txt"),
                format!("/nested{sep}{up}{sep}{up}{sep}secret.txt"),
                format!("/{up}{sep}{up}{sep}{up}{sep}{up}{sep}{up}{sep}etc{sep}passwd"),
            ] {
                out.push(probe(
                    target.clone(),
                    get(target.as_bytes(), &[]),
                    Expect::Refused,
                ));
            }
        }
    }
    // Raw bytes no client would send: NUL, invalid and overlong UTF-8, controls, spaces.
    for target in [
        &b"/\0"[..],
        b"/secret.txt\0.js",
        b"/..\0/secret.txt",
        b"/\xff\xfe/secret.txt",
        b"/\xc0\xae\xc0\xae/secret.txt",
        b"/\xe0\x80\xae\xe0\x80\xae/secret.txt",
        b"/\xc0\xaf../secret.txt",
        b"/\x80",
        b"/caf\xc3\xa9/../../secret.txt",
        b"/\x1b[31m",
        b"/a\tb/../../secret.txt",
        b"/..;/secret.txt",
        b"/.../secret.txt",
        b"/..../secret.txt",
        b"/%2e%2e;/secret.txt",
        b"/index.html/../../secret.txt",
        b"/%00../secret.txt",
        b"/%0d%0aSet-Cookie:x=1",
        b"/?/../../secret.txt",
        b"/#/../../secret.txt",
        b"/..?x=/../secret.txt",
    ] {
        out.push(probe(
            format!("raw {}", String::from_utf8_lossy(target)),
            get(target, &[]),
            Expect::Refused,
        ));
    }
    out
}

fn header_corpus() -> Vec<Probe> {
    let js = format!("/{JS}");
    let js = js.as_bytes();
    let mut out = Vec::new();
    let big = vec![b'a'; 100 * 1024];
    // The head limit is 16 KiB: hyper reads no further, so any head past it is refused.
    out.push(probe(
        "a 15 KiB header",
        get(js, &[("X-Big", &big[..15 * 1024])]),
        Expect::WholeFile,
    ));
    for kib in [17, 100] {
        out.push(probe(
            format!("a {kib} KiB header"),
            get(b"/", &[("X-Big", &big[..kib * 1024])]),
            Expect::Rejected,
        ));
    }
    for mib in [1, 4] {
        out.push(probe(
            format!("a {mib} MiB header"),
            get(b"/", &[("X-Big", &vec![b'a'; mib * 1024 * 1024])]),
            Expect::Rejected,
        ));
    }
    out.push(probe(
        "a 100 KB header name",
        {
            let mut r = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
            r.extend_from_slice(&big);
            r.extend_from_slice(b": 1\r\nConnection: close\r\n\r\n");
            r
        },
        Expect::Rejected,
    ));
    out.push(probe(
        "a 100 KB Host",
        {
            let mut r = b"GET / HTTP/1.1\r\nHost: ".to_vec();
            r.extend_from_slice(&big);
            r.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
            r
        },
        Expect::Rejected,
    ));
    for n in [10_000, 1_000, 101] {
        let names: Vec<String> = (0..n).map(|i| format!("X-H{i}")).collect();
        let headers: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"v"[..])).collect();
        out.push(probe(
            format!("{n} headers"),
            get(b"/", &headers),
            Expect::Rejected,
        ));
    }
    // Big but within the limits: parsed, and must not trip up the negotiation code.
    let many_codings = "gzip;q=0.5, br;q=0.001, x;q=1.000, ".repeat(380);
    let many_tags = "\"abc\", W/\"def\", ".repeat(850);
    let many_types = "text/html;q=0.1,*/*;q=0.2,".repeat(520);
    for (name, value) in [
        ("Accept-Encoding", many_codings.as_bytes()),
        ("If-None-Match", many_tags.as_bytes()),
        ("Accept", many_types.as_bytes()),
        (
            "Accept-Encoding",
            b"br;q=0.5;q=2;q=-1, gzip;q=1e9, *;q=NaN, identity;q=0",
        ),
        (
            "Accept-Encoding",
            b";;;,,,=;q=;q=0.;q=.;br;q=00000000000000000001",
        ),
        ("Accept-Encoding", b"\xff\xfe\xfd, br\xc0\xae"),
        ("Accept", b"text/html;q=0.\xff, \xc0\xaf"),
        ("If-None-Match", b"W/W/W/\"\xff\""),
        ("Cookie", &big[..15 * 1024]),
    ] {
        out.push(probe(
            format!(
                "{name}: {}…",
                String::from_utf8_lossy(&value[..value.len().min(40)])
            ),
            get(js, &[(name, value)]),
            Expect::WholeFile,
        ));
    }
    // `*` matches any representation: a 304, rightly.
    out.push(probe(
        "If-None-Match: *, *, ****",
        get(js, &[("If-None-Match", b"*, *, ****")]),
        Expect::Answered,
    ));
    for value in [
        &b"bytes=0-0"[..],
        b"bytes=-1",
        b"bytes=5-1",
        b"bytes=0-",
        b"bytes=-0",
        b"bytes=999999999999999999999999999-",
        b"bytes=-99999999999999999999999999",
        b"bytes=0-18446744073709551615",
        b"bytes=18446744073709551616-18446744073709551617",
        b"bytes=-9223372036854775808",
        b"bytes=a-b",
        b"bytes=",
        b"bytes",
        b"lines=1-2",
        b"bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9",
        b"bytes=\xff-\xfe",
    ] {
        out.push(probe(
            format!("Range: {}", String::from_utf8_lossy(value)),
            get(js, &[("Range", value)]),
            Expect::WholeFile,
        ));
    }
    let many_ranges = "0-1,".repeat(3_000);
    out.push(probe(
        "Range with 3 000 ranges",
        get(
            js,
            &[("Range", format!("bytes={many_ranges}0-1").as_bytes())],
        ),
        Expect::WholeFile,
    ));
    out.push(probe(
        "Range with 1 500 overlapping ranges",
        get(js, &[("Range", "bytes=0-,".repeat(1_500).as_bytes())]),
        Expect::WholeFile,
    ));
    // Not valid in a header value or name: NUL, bare CR, a space or colon in the name,
    // an obsolete line folding, a header line without a colon.
    for raw in [
        &b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\nConnection: close\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX A: b\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n: b\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-\xff: b\r\nConnection: close\r\n\r\n",
    ] {
        out.push(probe(
            format!("bad header {}", String::from_utf8_lossy(raw).escape_debug()),
            raw,
            Expect::Rejected,
        ));
    }
    out
}

fn request_line_corpus() -> Vec<Probe> {
    let mut out = Vec::new();
    let long_path = format!("/{}", "a".repeat(100 * 1024));
    let long_method = "G".repeat(20 * 1024);
    let noise: Vec<u8> = (0..2048u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .chain(*b"\r\n\r\n")
        .collect();
    for (what, raw) in [
        (
            "empty lines before the request line",
            b"\r\n\r\n\r\nGET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                .to_vec(),
        ),
        ("method only", b"GET\r\n\r\n".to_vec()),
        ("HTTP/0.9", b"GET /\r\n\r\n".to_vec()),
        ("HTTP/9.9", b"GET / HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("HTTP/1.1x", b"GET / HTTP/1.1x\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("two spaces", b"GET  / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("trailing junk", b"GET / HTTP/1.1 junk\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("tab separated", b"GET\t/\tHTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("LF only", b"GET /../secret.txt HTTP/1.1\nHost: x\nConnection: close\n\n".to_vec()),
        ("NUL method", b"G\0T / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("binary noise", noise),
        (
            "a 100 KB path",
            format!("GET {long_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes(),
        ),
        (
            "a 20 KB method",
            format!("{long_method} / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes(),
        ),
        (
            "negative Content-Length",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "overflowing Content-Length",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "two Content-Lengths",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab".to_vec(),
        ),
        (
            "unknown Transfer-Encoding",
            b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: rot13\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "bad chunk size",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n\r\n".to_vec(),
        ),
    ] {
        out.push(probe(what, raw, Expect::Rejected));
    }
    for (what, raw) in [
        ("lowercase method", b"get / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        (
            "CONNECT",
            b"CONNECT localhost:22 HTTP/1.1\r\nHost: localhost:22\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        ("TRACE", b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("HTTP/1.0 without Host", b"GET /../secret.txt HTTP/1.0\r\n\r\n".to_vec()),
        (
            "absolute form, another host",
            b"GET http://evil.example/../secret.txt HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "absolute form, file scheme",
            b"GET file:///etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "a GET with a body",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\n../.".to_vec(),
        ),
        (
            "pipelined, the second one a traversal",
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "a smuggled traversal in a body",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 46\r\nConnection: close\r\n\r\nGET /../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3); either way no
        // second request hides in the body.
        (
            "Content-Length and Transfer-Encoding",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "Expect: 100-continue",
            b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "Upgrade: h2c",
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, close\r\n\r\n".to_vec(),
        ),
    ] {
        out.push(probe(what, raw, Expect::Answered));
    }
    out
}

/// What came back for one probe: the raw bytes, and the first status line's code.
struct Reply {
    raw: Vec<u8>,
    status: Option<u16>,
}

/// Sends `bytes` and reads until the server closes. The server may close or reset while
/// we are still writing (a head over its limit): what it sent before that still counts.
fn send(addr: SocketAddr, what: &str, bytes: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    if let Err(e) = stream.write_all(bytes) {
        assert!(
            matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "{what}: sending: {e}"
        );
    }
    let mut raw = Vec::new();
    let mut chunk = [0; 64 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "{what}: reading the answer: {e} (after {} bytes: {:?})",
                raw.len(),
                String::from_utf8_lossy(&raw)
            ),
        }
    }
    let status = raw
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| raw.strip_prefix(b"HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| std::str::from_utf8(code).ok()?.parse().ok());
    Reply { raw, status }
}

/// The body of the first response (up to the next response, if pipelined).
fn first_body(raw: &[u8]) -> &[u8] {
    let start = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |p| p + 4);
    &raw[start..]
}

fn check(site: &Site, probe: &Probe, reply: &Reply) {
    let what = &probe.what;
    let whole = String::from_utf8_lossy(&reply.raw);
    assert!(!whole.contains(&site.secret), "{what}: the secret leaked");
    assert!(!whole.contains("root:x:0:0"), "{what}: /etc/passwd leaked");
    assert!(!whole.contains("HIDDEN=1"), "{what}: a hidden file leaked");
    // For messages: the head and the start of the body.
    let text: String = whole.chars().take(1200).collect();
    if let Some(status) = reply.status {
        // 505 is the right answer to an HTTP version it does not speak; any other 5xx
        // means the server failed.
        assert!(
            status < 500 || status == 505,
            "{what}: a server error {status}:\n{text}"
        );
    }
    match probe.expect {
        Expect::Refused => match reply.status {
            Some(400 | 404) => {}
            Some(200) => assert!(
                whole.contains(INDEX_MARKER),
                "{what}: 200 but not the SPA page:\n{text}"
            ),
            other => panic!("{what}: expected a refusal, got {other:?}:\n{text}"),
        },
        Expect::WholeFile => match reply.status {
            Some(200) => {
                let body = first_body(&reply.raw);
                let head = String::from_utf8_lossy(&reply.raw[..reply.raw.len() - body.len()])
                    .to_ascii_lowercase();
                let decoded = if head.contains("\r\ncontent-encoding: br") {
                    unbrotli(body)
                } else if head.contains("\r\ncontent-encoding: gzip") {
                    gunzip(body)
                } else {
                    body.to_vec()
                };
                assert!(
                    decoded == site.file(JS),
                    "{what}: not the whole file ({} bytes decoded):\n{text}",
                    decoded.len()
                );
            }
            Some(206 | 416) => {
                assert!(
                    first_body(&reply.raw).len() <= site.file(JS).len(),
                    "{what}"
                );
            }
            other => panic!("{what}: expected the file, got {other:?}:\n{text}"),
        },
        Expect::Rejected => assert!(
            reply
                .status
                .is_none_or(|s| (400..500).contains(&s) || s == 505),
            "{what}: expected a rejection, got {:?}:\n{text}",
            reply.status
        ),
        Expect::Answered => assert!(reply.status.is_some(), "{what}: no answer"),
    }
}

fn corpus() -> Vec<Probe> {
    let mut all = traversal_corpus();
    all.extend(header_corpus());
    all.extend(request_line_corpus());
    all
}

/// Runs the corpus against `addr`, checking the server is alive between kinds of probes;
/// returns how the probes were answered, for the test's output.
fn run_corpus(addr: SocketAddr, site: &Site) -> String {
    let all = corpus();
    let mut answers = std::collections::BTreeMap::<(String, Option<u16>), usize>::new();
    for (i, p) in all.iter().enumerate() {
        let reply = send(addr, &p.what, &p.bytes);
        check(site, p, &reply);
        *answers
            .entry((format!("{:?}", p.expect), reply.status))
            .or_default() += 1;
        if i % 100 == 0 || p.expect != Expect::Refused {
            assert_eq!(
                request(addr, "GET", "/healthz", &[]).status,
                200,
                "the server stopped answering after {:?}",
                p.what
            );
        }
    }
    let answers: Vec<String> = answers
        .iter()
        .map(|((expect, status), n)| format!("{expect} → {status:?}: {n}"))
        .collect();
    format!("{} hostile requests; {}", all.len(), answers.join(", "))
}

#[test]
fn the_in_process_server_survives_the_hostile_corpus_and_leaks_nothing() {
    let server = TestServer::start();
    let sent = run_corpus(server.addr, &server.site);
    let res = server.get("/healthz");
    assert_eq!(res.status, 200);
    let res = server.get("/");
    assert!(res.text().contains(INDEX_MARKER), "still serving the page");
    eprintln!("in-process server: {sent}");
}

#[test]
fn the_binary_survives_the_hostile_corpus_and_leaks_nothing() {
    let site = Site::new();
    let root = site.root().display().to_string();
    let server = TestBinary::spawn(&[("WEB_ROOT", &root)]);
    let sent = run_corpus(server.addr, &site);
    // Still the same process: the port it was given answers.
    assert_eq!(request(server.addr, "GET", "/healthz", &[]).status, 200);
    let logs = server.logs();
    assert!(!logs.contains("panicked"), "the binary panicked:\n{logs}");
    eprintln!("binary: {sent}");
}

/// The cap the connection test sets, and how many hostile clients it opens: five times as
/// many, yet few enough for a 1024-descriptor limit and a 128-entry listen queue.
const CAP: usize = 32;
const HOSTILE: usize = 5 * CAP;
/// What one held connection may cost the server: its 16 KiB head buffer, and hyper's and
/// tokio's state (about 23 KiB in all, measured).
const PER_CONNECTION_KIB: u64 = 32;
/// Growth that is not the connections' (allocator slack, hyper's 431s, the access log's
/// queue), plus some for each worker's allocator arena. Without the cap, the 160 held
/// connections alone take about 3.6 MiB, over the bound these make on two cores.
const SLACK_KIB: u64 = 1536;
const SLACK_PER_WORKER_KIB: u64 = 64;

/// A request head cut off just under the 16 KiB limit, so the server keeps waiting for its
/// end (until the header read timeout): the most a client can make it buffer.
fn partial_head() -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Pad: ".to_vec();
    head.resize(15 * 1024, b'a');
    head
}

#[test]
fn past_the_connection_cap_clients_wait_in_the_queue_and_peak_memory_stays_bounded() {
    let site = Site::new();
    let root = site.root().display().to_string();
    let cap = CAP.to_string();
    let server = TestBinary::spawn(&[("WEB_ROOT", &root), ("WEB_MAX_CONNECTIONS", &cap)]);
    let pid = server.pid();
    assert_eq!(request(server.addr, "GET", "/", &[]).status, 200);
    let rss_before = rss_kib(pid).expect("running");
    // Listeners, and the runtime's own (signal handling).
    let idle_sockets = open_sockets(pid);

    let head = partial_head();
    let hostile: Vec<TcpStream> = (0..HOSTILE)
        .map(|i| {
            let mut stream = TcpStream::connect_timeout(&server.addr, IO_TIMEOUT)
                .unwrap_or_else(|e| panic!("hostile client {i}: connect: {e}"));
            stream
                .write_all(&head)
                .unwrap_or_else(|e| panic!("hostile client {i}: send: {e}"));
            stream
        })
        .collect();
    // Each worker may hold one more: the connection it accepted last, unread until a slot
    // frees.
    let most = idle_sockets + CAP + web_server::workers::count();
    let deadline = Instant::now() + IO_TIMEOUT;
    while open_sockets(pid) < idle_sockets + CAP {
        assert!(Instant::now() < deadline, "the server never took {CAP}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets.push(open_sockets(pid));
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(
        sockets.iter().all(|n| *n <= most),
        "over the cap of {CAP} (at most {most} sockets): {sockets:?}"
    );

    // A normal client now waits in the queue: not refused, not answered.
    let mut waiting = TcpStream::connect_timeout(&server.addr, IO_TIMEOUT).expect("connect");
    waiting
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("send");
    waiting
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut byte = [0; 1];
    let early = waiting.read(&mut byte);
    assert!(
        early
            .as_ref()
            .is_err_and(|e| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "served past the cap: {early:?}"
    );

    // Once they go away, the client in the queue is served, and so is the next one.
    drop(hostile);
    let res = read_response(&mut waiting);
    assert_eq!(res.status, 200);
    assert!(res.text().contains(INDEX_MARKER));
    assert_eq!(request(server.addr, "GET", "/healthz", &[]).status, 200);

    // The attack that OOM-killed it: 60 KB heads. Refused at 16 KiB, not buffered.
    let mut big = partial_head();
    big.resize(60 * 1024, b'a');
    let refused: Vec<TcpStream> = (0..HOSTILE)
        .map(|i| {
            let mut stream = TcpStream::connect_timeout(&server.addr, IO_TIMEOUT)
                .unwrap_or_else(|e| panic!("big head {i}: connect: {e}"));
            stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
            // The server may answer and close before the end arrives.
            if let Err(e) = stream.write_all(&big) {
                assert!(
                    matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
                    "big head {i}: send: {e}"
                );
            }
            stream
        })
        .collect();
    for (i, mut stream) in refused.into_iter().enumerate() {
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let mut reply = Vec::new();
        match stream.read_to_end(&mut reply) {
            // The 431, or nothing: the reset for the unread rest may beat it.
            Ok(_) => assert!(
                reply.is_empty() || reply.starts_with(b"HTTP/1.1 431 "),
                "big head {i}: {:?}",
                String::from_utf8_lossy(&reply)
            ),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "big head {i}: {e}"),
        }
    }

    let peak = peak_rss_kib(pid).expect("running");
    let grown = peak.saturating_sub(rss_before);
    let workers = web_server::workers::count() as u64;
    let bound = CAP as u64 * PER_CONNECTION_KIB + SLACK_KIB + workers * SLACK_PER_WORKER_KIB;
    eprintln!(
        "{HOSTILE} clients holding 15 KiB heads, then {HOSTILE} sending 60 KB ones, cap {CAP}: \
         peak RSS {peak} KiB, {grown} KiB over the {rss_before} KiB before (bound {bound} KiB); \
         sockets {sockets:?}"
    );
    assert!(
        grown <= bound,
        "peak RSS grew by {grown} KiB, over {bound} KiB"
    );
    assert_eq!(request(server.addr, "GET", "/healthz", &[]).status, 200);
    let logs = server.logs();
    assert!(
        logs.contains("connection limit reached"),
        "the cap was not reported:\n{logs}"
    );
    assert!(!logs.contains("panicked"), "the binary panicked:\n{logs}");
}

/// RFC 9112 §3.2: one `Host` in every HTTP/1.1 request, at most one in any, and a valid one.
fn check_host_rules(addr: SocketAddr) {
    for (what, head, status) in [
        ("no Host", "GET / HTTP/1.1\r\n", 400),
        ("no Host, HEAD", "HEAD / HTTP/1.1\r\n", 400),
        (
            "no Host, POST",
            "POST / HTTP/1.1\r\nContent-Length: 0\r\n",
            400,
        ),
        (
            "two Hosts",
            "GET / HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n",
            400,
        ),
        (
            "two Hosts, apart",
            "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nHost: b\r\n",
            400,
        ),
        (
            "two Hosts, HTTP/1.0",
            "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n",
            400,
        ),
        (
            "a Host with userinfo",
            "GET / HTTP/1.1\r\nHost: user@evil\r\n",
            400,
        ),
        (
            "a Host with a space",
            "GET / HTTP/1.1\r\nHost: a b\r\n",
            400,
        ),
        (
            "a Host with a bad port",
            "GET / HTTP/1.1\r\nHost: a:b\r\n",
            400,
        ),
        ("no Host, HTTP/1.0", "GET / HTTP/1.0\r\n", 200),
        ("one Host", "GET / HTTP/1.1\r\nHost: localhost\r\n", 200),
        (
            "a Host with a port",
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n",
            200,
        ),
        (
            "an IPv6 Host",
            "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n",
            200,
        ),
        ("an empty Host", "GET / HTTP/1.1\r\nHost:\r\n", 200),
    ] {
        let res = raw(addr, format!("{head}Connection: close\r\n\r\n").as_bytes());
        assert_eq!(res.status, status, "{what}: {}", res.text());
        if status == 400 {
            // Like the server's other errors: plain text, not stored, the security headers.
            assert_eq!(
                res.header("content-type"),
                Some("text/plain; charset=utf-8"),
                "{what}"
            );
            assert_eq!(res.header("cache-control"), Some("no-store"), "{what}");
            assert!(res.header("content-security-policy").is_some(), "{what}");
            if !head.starts_with("HEAD") {
                assert!(
                    res.text().starts_with("bad request: "),
                    "{what}: {}",
                    res.text()
                );
                assert!(res.text().contains("Host"), "{what}: {}", res.text());
            }
        }
    }
}

#[test]
fn requests_without_exactly_one_valid_host_get_400() {
    let in_process = TestServer::start();
    check_host_rules(in_process.addr);
    let site = Site::new();
    let root = site.root().display().to_string();
    let server = TestBinary::spawn(&[("WEB_ROOT", &root)]);
    check_host_rules(server.addr);
}

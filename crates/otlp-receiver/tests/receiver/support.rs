//! Requests built as a sender builds them, and two bare HTTP/1.1 clients: hyper's client
//! half for async tests, a `std` socket for plain ones.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::TcpStream,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, KeyValue, any_value::Value},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span, Status},
};
use otlp_receiver::ReceivedSpan;
use prost::Message;

/// 2024-01-02T03:04:05Z, in nanoseconds.
pub const BASE: u64 = 1_704_164_645_000_000_000;
pub const MS: u64 = 1_000_000;

pub fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// A span of trace `[trace; 16]`, id `[id; 8]`, under `[parent; 8]` (0: none), from
/// `start` to `end` ms after [`BASE`].
pub fn span(trace: u8, id: u8, parent: u8, name: &str, start: u64, end: u64) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        name: name.into(),
        kind: 1,
        start_time_unix_nano: BASE + start * MS,
        end_time_unix_nano: BASE + end * MS,
        ..Default::default()
    }
}

pub fn failed(mut span: Span) -> Span {
    span.status = Some(Status {
        code: 2,
        ..Default::default()
    });
    span
}

/// One export request: each service's spans under its resource.
pub fn request(services: Vec<(&str, Vec<Span>)>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: services
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![string("service.name", service)],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

/// What a span of [`span`]'s making is once received.
pub fn received(id: u8, parent: u8, name: &str, start: u64, end: u64) -> ReceivedSpan {
    ReceivedSpan {
        service: "api".into(),
        trace_id: "ab".repeat(16),
        span_id: format!("{id:02x}").repeat(8),
        parent_span_id: if parent == 0 {
            String::new()
        } else {
            format!("{parent:02x}").repeat(8)
        },
        name: name.into(),
        kind: 1,
        start_unix_nano: BASE + start * MS,
        end_unix_nano: BASE + end * MS,
        attributes: BTreeMap::new(),
        links: vec![],
        status: 0,
    }
}

pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `method` `url` with `body`, through hyper's client half.
pub async fn send(method: &str, url: &str, body: Vec<u8>) -> Answer {
    let uri: hyper::Uri = url.parse().expect("a URI");
    let authority = uri.authority().expect("a host").to_string();
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connects");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(uri.path())
        .header("host", authority)
        .header("content-type", "application/x-protobuf")
        .body(Full::new(Bytes::from(body)))
        .expect("a request");
    let res = sender.send_request(req).await.expect("answered");
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = res.into_body().collect().await.expect("a body").to_bytes();
    Answer {
        status,
        content_type,
        body: body.to_vec(),
    }
}

pub async fn get(url: &str) -> Answer {
    send("GET", url, vec![]).await
}

/// `method` `path` with `body` on a plain socket, the connection closed after the answer.
pub fn blocking_send(endpoint: &str, method: &str, path: &str, body: &[u8]) -> Answer {
    let authority = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).expect("connects");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n\
         content-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("sent");
    stream.write_all(body).expect("sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("answered");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let content_type = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    Answer {
        status,
        content_type,
        body: raw[split + 4..].to_vec(),
    }
}

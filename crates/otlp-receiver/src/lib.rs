//! An OTLP/HTTP trace receiver: `POST /v1/traces` with a protobuf
//! `ExportTraceServiceRequest`, decoded for real (prost, OpenTelemetry's own messages) and
//! kept in memory as [`ReceivedSpan`]s. The tests point the servers at it; `cargo xtask dev`
//! can too, to show traces without a collector to install.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::{AnyValue, KeyValue, any_value::Value},
};
use prost::Message;
use tokio::{net::TcpListener, sync::Notify, task::JoinHandle};

/// Bodies larger than this are refused (413): a batch of 512 spans is far smaller.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One span as received, with ids in lower-case hex (the parent's empty for a root).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    pub service: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    /// OTLP's `SpanKind`: 1 internal, 2 server, 3 client.
    pub kind: i32,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// Every attribute, its value as text (`"200"` for the integer 200).
    pub attributes: BTreeMap<String, String>,
    /// (trace id, span id) of each link.
    pub links: Vec<(String, String)>,
    /// OTLP's `StatusCode`: 0 unset, 1 ok, 2 error.
    pub status: i32,
}

impl ReceivedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.end_unix_nano.saturating_sub(self.start_unix_nano))
    }
}

#[derive(Default)]
struct Shared {
    /// False: requests are read and answered, not decoded (a stand-in collector for load).
    keep: bool,
    spans: Mutex<Vec<ReceivedSpan>>,
    requests: AtomicU64,
    arrived: Notify,
}

/// A running receiver on a loopback port; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Listens on `127.0.0.1` at a free port, on the current tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        Self::bind("127.0.0.1:0".parse().expect("a socket address")).await
    }

    /// Listens on `addr`, on the current tokio runtime.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Self::listen(addr, true).await
    }

    /// Like [`Receiver::start`], but answers without decoding or keeping anything, as a
    /// collector elsewhere would cost the sender: for measuring the sender under load.
    pub async fn discarding() -> std::io::Result<Self> {
        Self::listen("127.0.0.1:0".parse().expect("a socket address"), false).await
    }

    async fn listen(addr: SocketAddr, keep: bool) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            keep,
            ..Shared::default()
        });
        let task = tokio::spawn(accept_forever(listener, shared.clone()));
        Ok(Self { addr, shared, task })
    }

    /// What `OTEL_EXPORTER_OTLP_ENDPOINT` is set to: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Export requests answered so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Every span received so far, in order of arrival.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared
            .spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The spans received so far, once `done` holds for them or `patience` passed.
    pub async fn wait_for(
        &self,
        patience: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let arrived = self.shared.arrived.notified();
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.spans();
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_forever(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        let service = service_fn(move |req| handle(req, shared.clone()));
        connections.spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Finished connections are reaped as new ones come.
        while connections.try_join_next().is_some() {}
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if req.method() != Method::POST || req.uri().path() != "/v1/traces" {
        return Ok(answer(StatusCode::NOT_FOUND, Bytes::new()));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(answer(StatusCode::PAYLOAD_TOO_LARGE, Bytes::new())),
    };
    let ok = Bytes::from(ExportTraceServiceResponse::default().encode_to_vec());
    if !shared.keep {
        shared.requests.fetch_add(1, Ordering::Relaxed);
        return Ok(answer(StatusCode::OK, ok));
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return Ok(answer(
            StatusCode::BAD_REQUEST,
            Bytes::from("not an OTLP trace request"),
        ));
    };
    let received = flatten(request);
    shared
        .spans
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend(received);
    shared.requests.fetch_add(1, Ordering::Relaxed);
    shared.arrived.notify_waiters();
    Ok(answer(StatusCode::OK, ok))
}

fn answer(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-protobuf"),
    );
    res
}

fn flatten(request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref())
            .map(text)
            .unwrap_or_default();
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            spans.push(ReceivedSpan {
                service: service.clone(),
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
                name: span.name,
                kind: span.kind,
                start_unix_nano: span.start_time_unix_nano,
                end_unix_nano: span.end_time_unix_nano,
                attributes: attributes(&span.attributes),
                links: span
                    .links
                    .iter()
                    .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                    .collect(),
                status: span.status.map_or(0, |s| s.code),
            });
        }
    }
    spans
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(text).unwrap_or_default(),
            )
        })
        .collect()
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::{
        common::v1::KeyValue,
        resource::v1::Resource,
        trace::v1::{ResourceSpans, ScopeSpans, Span},
    };

    use super::*;

    fn string(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_posted_protobuf_request_becomes_spans_and_anything_else_is_refused() {
        let receiver = Receiver::start().await.expect("listens");
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![string("service.name", "api")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![0x01; 8],
                        name: "GET /randoms".into(),
                        kind: 2,
                        attributes: vec![string("http.route", "/randoms")],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let url = format!("{}/v1/traces", receiver.endpoint());
        let (status, body) = post(&url, request.encode_to_vec()).await;
        assert_eq!(status, 200);
        assert!(ExportTraceServiceResponse::decode(body.as_slice()).is_ok());
        let spans = receiver
            .wait_for(Duration::from_secs(5), |s| !s.is_empty())
            .await;
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.service, "api");
        assert_eq!(span.trace_id, "ab".repeat(16));
        assert_eq!(span.parent_span_id, "");
        assert_eq!(span.attribute("http.route"), Some("/randoms"));

        let (status, _) = post(&url, b"\xff\xff not protobuf".to_vec()).await;
        assert_eq!(status, 400);
        assert_eq!(receiver.spans().len(), 1);
    }

    /// A bare HTTP/1.1 POST through hyper's client half, so the test needs no other client.
    async fn post(url: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let uri: hyper::Uri = url.parse().expect("a URI");
        let authority = uri.authority().expect("a host").to_string();
        let stream = tokio::net::TcpStream::connect(&authority)
            .await
            .expect("connects");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let req = Request::post(uri.path())
            .header("host", authority)
            .header("content-type", "application/x-protobuf")
            .body(Full::new(Bytes::from(body)))
            .expect("a request");
        let res = sender.send_request(req).await.expect("answered");
        let status = res.status().as_u16();
        let body = res.into_body().collect().await.expect("a body").to_bytes();
        (status, body.to_vec())
    }
}

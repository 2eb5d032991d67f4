//! The accept loop and the routes: OTLP export in, HTML pages out.

use std::{convert::Infallible, sync::Arc, sync::atomic::Ordering, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{
    Method, Request, Response, StatusCode,
    body::Incoming,
    header::{self, HeaderValue},
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::net::TcpListener;

use crate::{decode, page, receiver::Shared};

/// Bodies larger than this are refused (413): a batch of 512 spans is far smaller.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// After a failed accept (out of file descriptors, say), the wait before the next: retrying
/// at once would spin a core while the cause lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

pub(crate) async fn accept_forever(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
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

enum Route {
    Export,
    Traces,
    Trace(String),
    NotFound,
}

fn route(method: &Method, path: &str) -> Route {
    match (method, path) {
        (&Method::POST, "/v1/traces") => Route::Export,
        (&Method::GET, "/") => Route::Traces,
        (&Method::GET, _) => match path.strip_prefix("/traces/") {
            Some(id) if is_trace_id(id) => Route::Trace(id.to_owned()),
            _ => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}

/// A trace id as [`crate::ReceivedSpan`] spells it: 16 bytes in lower-case hex.
fn is_trace_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match route(req.method(), req.uri().path()) {
        Route::Export => export(req, &shared).await,
        Route::Traces => {
            let (spans, received) = {
                let store = shared.store();
                (store.all(), store.received())
            };
            html(StatusCode::OK, page::traces(&spans, received))
        }
        Route::Trace(id) => {
            let spans = shared.store().trace(&id);
            match page::trace(&spans) {
                Some(body) => html(StatusCode::OK, body),
                None => html(StatusCode::NOT_FOUND, page::not_found("No such trace")),
            }
        }
        Route::NotFound => html(StatusCode::NOT_FOUND, page::not_found("Not found")),
    })
}

async fn export(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return protobuf(StatusCode::PAYLOAD_TOO_LARGE, Bytes::new()),
    };
    let ok = Bytes::from(ExportTraceServiceResponse::default().encode_to_vec());
    if !shared.keep {
        shared.requests.fetch_add(1, Ordering::Relaxed);
        return protobuf(StatusCode::OK, ok);
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return protobuf(
            StatusCode::BAD_REQUEST,
            Bytes::from("not an OTLP trace request"),
        );
    };
    let received = decode::flatten(request);
    shared.store().extend(received);
    shared.requests.fetch_add(1, Ordering::Relaxed);
    shared.arrived.notify_waiters();
    protobuf(StatusCode::OK, ok)
}

fn protobuf(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    respond(status, body, "application/x-protobuf")
}

fn html(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = respond(status, Bytes::from(body), "text/html; charset=utf-8");
    let headers = res.headers_mut();
    // The pages show what the network sent: no script may run, whatever slips through.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn respond(status: StatusCode, body: Bytes, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

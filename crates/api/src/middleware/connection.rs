//! Per-connection state, set up by [`on_connect`] when a connection is accepted.

use std::{cell::Cell, rc::Rc};

use actix_web::{
    Error, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{Extensions, ServiceRequest, ServiceResponse},
    http::{ConnectionType, header},
    middleware::Next,
};
use domain::ErrorBody;

use crate::connection::{Progress, Throttled};

/// Whether a request on this connection asked to close it.
#[derive(Clone, Default)]
struct Closing(Rc<Cell<bool>>);

/// Gives a new connection its state.
pub fn on_connect<T>(io: &Throttled<T>, extensions: &mut Extensions) {
    extensions.insert(Closing::default());
    extensions.insert(io.progress().clone());
}

/// Tells the connection's reader what this request took up and while its handler is at work
/// (see [`Throttled`]).
pub async fn progress(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let progress = req.conn_data::<Progress>().cloned().unwrap_or_default();
    progress.started(request_bytes(&req));
    progress.set_busy(true);
    let res = next.call(req).await;
    progress.set_busy(false);
    res
}

/// About what the request took on the wire: request line, headers, body.
fn request_bytes(req: &ServiceRequest) -> u64 {
    let line = req.method().as_str().len()
        + req
            .uri()
            .path_and_query()
            .map_or(1, |target| target.as_str().len())
        + "  HTTP/1.1\r\n".len();
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum();
    let body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(0);
    (line + headers + "\r\n".len()) as u64 + body
}

/// RFC 9112 §9.6: after a request with `Connection: close` (or an HTTP/1.0 one without
/// keep-alive) the server must not process further requests on that connection; actix-web
/// would still answer those already pipelined. They get a 400 and are not run.
pub async fn after_close(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let closing = req.conn_data::<Closing>().cloned().unwrap_or_default();
    if closing.0.get() {
        let body = ErrorBody::new(
            "connection_closing",
            "a request after Connection: close is not processed",
        );
        return Ok(req
            .into_response(HttpResponse::BadRequest().json(body))
            .map_into_right_body());
    }
    if req.head().connection_type() == ConnectionType::Close {
        closing.0.set(true);
    }
    Ok(next.call(req).await?.map_into_left_body())
}

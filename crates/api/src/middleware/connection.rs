//! Per-connection state, set up by [`on_connect`] when a connection is accepted.

use std::{any::Any, cell::Cell, rc::Rc};

use actix_web::{
    Error, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{Extensions, ServiceRequest, ServiceResponse},
    http::ConnectionType,
    middleware::Next,
};
use domain::ErrorBody;

/// Whether a request on this connection asked to close it.
#[derive(Clone, Default)]
struct Closing(Rc<Cell<bool>>);

/// Gives a new connection its state.
pub fn on_connect(_io: &dyn Any, extensions: &mut Extensions) {
    extensions.insert(Closing::default());
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

//! Request bodies: at most [`MAX_BODY_BYTES`], and all of it within [`BODY_DEADLINE`].

use std::{future::Future, pin::Pin, time::Duration};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::{connection::Progress, error::ApiError};

/// Larger bodies are refused with 413 (the API needs none), before reading when
/// `Content-Length` says so (see `web::PayloadConfig` in `startup`).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// actix-web times out a request's head but not its body: a client that announces 16 KB
/// and sends 3 bytes would hold its connection (and a file descriptor) for ever.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The whole body, read within [`BODY_DEADLINE`]; 408 otherwise.
pub struct Body(pub web::Bytes);

impl FromRequest for Body {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = web::Bytes::from_request(req, payload);
        // Waiting for the client now, not for us: its connection may be read on.
        let progress = req.conn_data::<Progress>().cloned().unwrap_or_default();
        Box::pin(async move {
            progress.set_busy(false);
            let read = tokio::time::timeout(BODY_DEADLINE, read).await;
            progress.set_busy(true);
            match read {
                Ok(read) => read.map(Body),
                Err(_) => Err(ApiError::BodyTimeout(BODY_DEADLINE).into()),
            }
        })
    }
}

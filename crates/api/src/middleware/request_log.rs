use std::time::Instant;

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};
use telemetry::{access::Entry, request_id};
use tracing::Instrument;

use crate::{error::ApiError, spans};

static REQUEST_ID: HeaderName = HeaderName::from_static(request_id::HEADER);

/// One structured line per request (request id, method, path, status, latency), the
/// request served inside its span (see [`spans::request`]), and the request id echoed in
/// `x-request-id` ([`request_id`]: the caller's when safe, else a fresh UUID). A 500's
/// cause ([`ApiError::Internal`]) is logged here too, in the request's span: nowhere else.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id::of(req.headers().get(&REQUEST_ID).map(HeaderValue::as_bytes)).into_owned();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let request = spans::request(&req, &id);
    let result = next.call(req).instrument(request.span.clone()).await;
    let (status, routed, error) = match &result {
        Ok(res) => (res.status(), Some(res.request()), res.response().error()),
        Err(e) => (e.as_response_error().status_code(), None, Some(e)),
    };
    // A 500's cause, logged here so that the line carries this request's ids, even when
    // the work failed for many requests at once (a batched insert).
    if let Some(ApiError::Internal(cause)) = error.and_then(Error::as_error) {
        request.span.in_scope(|| cause.log());
    }
    request.answered(method.as_str(), &path, status, routed);
    if let Some(log) = crate::access_log::get() {
        log.record(&Entry {
            request_id: Some(&id),
            trace_id: Some(&request.trace_id),
            method: method.as_str(),
            path: &path,
            status: status.as_u16(),
            bytes: None,
            latency: started.elapsed(),
        });
    }
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    Ok(res)
}

use std::time::Instant;

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};
use telemetry::access::Entry;
use tracing::Instrument;

use crate::{error::ApiError, spans};

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One structured line per request (request id, method, path, status, latency), the
/// request served inside its span (see [`spans::request`]), and the request id echoed in
/// `x-request-id`. A caller's own id is kept when it is safe (see
/// `is_safe_id`), so a request can be followed across services; otherwise (or without
/// one) the request gets a fresh UUID.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| is_safe_id(v.as_bytes()))
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .expect("a UUID is a valid header value")
        });
    let method = req.method().clone();
    let path = req.path().to_owned();
    let request = spans::request(&req, request_id.to_str().unwrap_or_default());
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
            request_id: request_id.to_str().ok(),
            trace_id: Some(&request.trace_id),
            method: method.as_str(),
            path: &path,
            status: status.as_u16(),
            bytes: None,
            latency: started.elapsed(),
        });
    }
    let mut res = result?;
    res.headers_mut().insert(REQUEST_ID.clone(), request_id);
    Ok(res)
}

/// 1 to 128 of `A-Z a-z 0-9 . _ : -`: one token in every log format, so an id such as
/// `a status=200` cannot add fields to a text line (which writes it unquoted).
fn is_safe_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::is_safe_id;

    #[test]
    fn only_safe_ids_are_kept() {
        let longest = "a".repeat(128);
        for id in ["trace-me-123", "a.b_c:d-E9", longest.as_str()] {
            assert!(is_safe_id(id.as_bytes()), "{id}");
        }
        let too_long = "a".repeat(129);
        for id in [
            "",
            "a b status=200",
            "a=b",
            "a\"b",
            "a\\b",
            "a/b",
            "caf\u{e9}",
            too_long.as_str(),
        ] {
            assert!(!is_safe_id(id.as_bytes()), "{id:?}");
        }
    }
}

use std::time::Instant;

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};
use telemetry::access::Entry;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One structured line per request (request id, method, path, status, latency), and the
/// request id echoed in `x-request-id`. A caller's own id is kept when it is sane, so a
/// request can be followed across services.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| (1..=128).contains(&v.len()) && v.to_str().is_ok())
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .expect("a UUID is a valid header value")
        });
    let method = req.method().clone();
    let path = req.path().to_owned();
    let result = next.call(req).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    if let Some(log) = crate::telemetry::access_log() {
        log.record(&Entry {
            request_id: request_id.to_str().ok(),
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

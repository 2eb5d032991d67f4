//! Requests refused before anything else looks at them.

use actix_web::{
    Error, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
};
use domain::ErrorBody;

/// The methods of RFC 9110, PATCH, and QUERY (registered, and what schemathesis probes).
/// Anything else is answered 501 here, outside the metrics middleware, which labels series
/// by method: a client inventing methods must not invent series (20,000 of them once held
/// 42 MB for good). A known method that a route lacks gets the router's 405 with `Allow`.
const KNOWN: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY",
];

/// 501 for a method no route can have (RFC 9110 §9.1), as JSON.
pub async fn known_method(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if KNOWN.contains(&req.method().as_str()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let body = ErrorBody::new(
        "not_implemented",
        "unknown method: the API serves GET, HEAD, POST and OPTIONS",
    );
    Ok(req
        .into_response(HttpResponse::NotImplemented().json(body))
        .map_into_right_body())
}

/// 415 for a body with any `Content-Encoding` but `identity`. The API needs no body, so it
/// decompresses none: a compressed body is where a 1.7 KB request becomes a gigabyte.
pub async fn identity_encoding(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let encoding = req.headers().get(header::CONTENT_ENCODING);
    let Some(encoding) = encoding.filter(|e| !e.as_bytes().eq_ignore_ascii_case(b"identity"))
    else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let body = ErrorBody::new(
        "unsupported_media_type",
        format!(
            "Content-Encoding {:?} is not accepted: send the body uncompressed",
            // Echoed, but not at any length.
            String::from_utf8_lossy(encoding.as_bytes())
                .chars()
                .take(32)
                .collect::<String>()
        ),
    );
    Ok(req
        .into_response(HttpResponse::UnsupportedMediaType().json(body))
        .map_into_right_body())
}

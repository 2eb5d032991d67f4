use actix_web::{HttpResponse, http::header, web};
use domain::ErrorBody;

use crate::{error::ApiError, state::AppState};

/// Server-sent events: `changed` whenever the latest items change, whoever wrote, so an
/// open page refetches `GET /randoms`; a `: heartbeat` comment after a quiet spell. Served
/// by each replica to its own subscribers; the stream ends when the replica shuts down,
/// and the client reconnects (to another replica) and refetches.
#[utoipa::path(
    get,
    path = "/randoms/events",
    responses(
        (status = 200, description = "An endless event stream: `event: changed` with \
            `data: {}` whenever the latest items change (at most one per 200 ms), and a \
            heartbeat comment after a quiet spell", content_type = "text/event-stream",
            body = String,
            headers(("Cache-Control" = String, description = "no-store"))),
        (status = 503, description = "Too many streams on this replica \
            (`too_many_streams`, with Retry-After), or it is shutting down", body = ErrorBody),
    )
)]
pub async fn events(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stream = state.streams.subscribe()?;
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // nginx (and ingress-nginx) would otherwise buffer the stream.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream))
}

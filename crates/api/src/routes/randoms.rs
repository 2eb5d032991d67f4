use actix_web::{HttpRequest, HttpResponse, http::header, web};
use domain::{ErrorBody, Limit, LimitError, Random};

use crate::{
    body::Body,
    error::ApiError,
    http_cache::{self, Answer},
    repository, spans,
    state::AppState,
};

/// `limit` from the query string: absent, or given once (other parameters are ignored).
fn limit(query: &[(String, String)]) -> Result<Limit, ApiError> {
    let mut given = query.iter().filter(|(name, _)| name == "limit");
    match (given.next(), given.next()) {
        (None, _) => Ok(Limit::DEFAULT),
        (Some((_, raw)), None) => Ok(Limit::parse(raw)?),
        (Some(_), Some(_)) => Err(LimitError::Repeated.into()),
    }
}

/// JSON bodies as an ETag over them, serialized once.
fn answer<T: serde::Serialize>(value: &T) -> Result<Answer, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::internal("serializing an answer failed", e))?;
    Ok(Answer::new(web::Bytes::from(body)))
}

/// The latest items, newest first. Revalidated with `If-None-Match`: a poller whose copy
/// is current gets a 304, from the replica's cached copy when there is one.
#[utoipa::path(
    get,
    path = "/randoms",
    params(("limit" = Option<u16>, Query, minimum = 1, maximum = 100,
        description = "How many items, 1 to 100 (default 10)"),
        ("If-None-Match" = Option<String>, Header,
        description = "ETags of copies the caller holds: 304 if one is current")),
    responses(
        (status = 200, description = "Newest first", body = Vec<Random>, headers(
            ("ETag" = String, description = "Of this list"),
            ("Cache-Control" = String, description = "no-cache: store, but revalidate"))),
        (status = 304, description = "The copy named by If-None-Match is current", headers(
            ("ETag" = String, description = "Of the current list"))),
        (status = 400, description = "`limit` is not one integer in 1..=100", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    // Pairs, not a struct: serde would refuse a repeated `limit` in its own words.
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(&query)?;
    let answer = match state.latest.fresh(limit.get()).await {
        Some(cached) => cached,
        None => {
            // Taken before the read: if a write lands meanwhile, the copy is not kept.
            let ticket = state.latest.ticket();
            let client = spans::connection(&state.pool).await?;
            let answer = answer(&repository::latest(&client, limit).await?)?;
            if let Some(ticket) = ticket {
                state.latest.put(limit.get(), ticket, answer.clone());
            }
            answer
        }
    };
    Ok(answer.respond(&req, http_cache::LIST))
}

/// Adds a new random UUID. No body is needed; a small one is ignored.
#[utoipa::path(
    post,
    path = "/randoms",
    responses(
        (status = 201, description = "Created", body = Random,
            headers(("Location" = String, description = "/randoms/{id}"))),
        (status = 408, description = "The body did not arrive in time", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "A compressed body (any Content-Encoding)", body = ErrorBody),
        (status = 503, description = "Database unavailable, or too many writes waiting \
            (`overloaded`, with Retry-After)", body = ErrorBody),
    )
)]
pub async fn create(state: web::Data<AppState>, _body: Body) -> Result<HttpResponse, ApiError> {
    let created = state.inserter.insert().await?;
    // This replica's copy goes now, before the 201: a GET here right after sees the row.
    // Other replicas drop theirs on the trigger's notification.
    state.latest.invalidate();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, created.path()))
        .json(created))
}

/// One item by id.
#[utoipa::path(
    get,
    path = "/randoms/{id}",
    params(("id" = i64, Path, description = "The item's id"),
        ("If-None-Match" = Option<String>, Header,
        description = "ETags of copies the caller holds: 304 if one is current")),
    responses(
        (status = 200, description = "Found", body = Random, headers(
            ("ETag" = String, description = "Of this item"),
            ("Cache-Control" = String, description = "public, max-age=300: items never change"))),
        (status = 304, description = "The copy named by If-None-Match is current", headers(
            ("ETag" = String, description = "Of the item"))),
        (status = 404, description = "No such item", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub async fn get_one(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no random with id {id}"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let client = spans::connection(&state.pool).await?;
    let item = repository::by_id(&client, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(answer(&item)?.respond(&req, http_cache::ITEM))
}

use actix_web::{
    HttpResponse,
    http::header::{self, ContentType},
    web,
};
use domain::{ErrorBody, Limit, LimitError, Random};

use crate::{body::Body, error::ApiError, repository, state::AppState};

/// `limit` from the query string: absent, or given once (other parameters are ignored).
fn limit(query: &[(String, String)]) -> Result<Limit, ApiError> {
    let mut given = query.iter().filter(|(name, _)| name == "limit");
    match (given.next(), given.next()) {
        (None, _) => Ok(Limit::DEFAULT),
        (Some((_, raw)), None) => Ok(Limit::parse(raw)?),
        (Some(_), Some(_)) => Err(LimitError::Repeated.into()),
    }
}

/// The latest items, newest first.
#[utoipa::path(
    get,
    path = "/randoms",
    params(("limit" = Option<u16>, Query, minimum = 1, maximum = 100,
        description = "How many items, 1 to 100 (default 10)")),
    responses(
        (status = 200, description = "Newest first", body = Vec<Random>),
        (status = 400, description = "`limit` is not one integer in 1..=100", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    // Pairs, not a struct: serde would refuse a repeated `limit` in its own words.
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(&query)?;
    let body = match state.latest.fresh(limit.get()).await {
        Some(cached) => cached,
        None => {
            // Taken before the read: if a write lands meanwhile, the copy is not kept.
            let ticket = state.latest.ticket();
            let client = state.pool.get().await?;
            let items = repository::latest(&client, limit).await?;
            let body = web::Bytes::from(serde_json::to_vec(&items).map_err(|e| {
                tracing::error!(error = %e, "serializing the list failed");
                ApiError::Internal
            })?);
            if let Some(ticket) = ticket {
                state.latest.put(limit.get(), ticket, body.clone());
            }
            body
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(body))
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
    params(("id" = i64, Path, description = "The item's id")),
    responses(
        (status = 200, description = "Found", body = Random),
        (status = 404, description = "No such item", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
pub async fn get_one(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Random>, ApiError> {
    let not_found = || ApiError::NotFound(format!("no random with id {id}"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let client = state.pool.get().await?;
    repository::by_id(&client, id)
        .await?
        .map(web::Json)
        .ok_or_else(not_found)
}

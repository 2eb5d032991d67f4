//! `/openapi.json`, generated from the handlers' annotations and the domain types.

use actix_web::HttpResponse;
use domain::{ErrorBody, Random};
use utoipa::OpenApi;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "randoms API",
        description = "The latest random UUIDs, and a way to add one."
    ),
    paths(
        routes::list,
        routes::create,
        routes::get_one,
        routes::healthz,
        routes::ready,
        document,
        crate::metrics::serve,
    ),
    components(schemas(Random, ErrorBody))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

use std::time::Duration;

use actix_web::{HttpResponse, web};
use domain::ErrorBody;
use serde::Serialize;

use crate::{error::ApiError, state::AppState};

/// `/ready` gives up on the database after this long: probes must answer promptly.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    status: &'static str,
    /// The schema version found in the database (`/ready` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_version: Option<i32>,
}

/// Liveness: the process serves requests. Never touches the database.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Status)))]
pub async fn healthz() -> web::Json<Status> {
    web::Json(Status {
        status: "ok",
        schema_version: None,
    })
}

/// Readiness: the database answers and its schema is migrated, and we are not shutting down.
#[utoipa::path(
    get,
    path = "/ready",
    responses(
        (status = 200, description = "Ready for traffic", body = Status),
        (status = 503, description = "Not ready, with the reason", body = ErrorBody),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }
    let version = tokio::time::timeout(READY_TIMEOUT, schema_version(&state))
        .await
        .map_err(|_| {
            ApiError::DatabaseUnavailable(format!(
                "no answer within {} ms",
                READY_TIMEOUT.as_millis()
            ))
        })??;
    Ok(HttpResponse::Ok().json(Status {
        status: "ready",
        schema_version: Some(version),
    }))
}

async fn schema_version(state: &AppState) -> Result<i32, ApiError> {
    let client = state.pool.get().await?;
    let applied = migrator::applied_version(&client).await?;
    let needed = migrator::latest_version();
    match applied {
        Some(v) if v >= needed => Ok(v),
        found => Err(ApiError::SchemaNotMigrated(format!(
            "schema at version {}, this build needs {needed}: run the migrator",
            found.map_or_else(|| "none".to_owned(), |v| v.to_string())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::{ResponseError, web};

    use super::ready;
    use crate::{error::ApiError, state::AppState};

    /// Once shutdown begins `/ready` refuses at once, without asking the database.
    #[actix_web::test]
    async fn ready_turns_503_as_soon_as_shutdown_begins() {
        let db = db::DbSettings::from_url("postgres://nobody@127.0.0.1:1/none");
        let pool = db::build_pool(
            &db,
            db::PoolSettings {
                max_size: 1,
                wait_timeout: Duration::from_secs(1),
                connect_timeout: Duration::from_secs(1),
            },
        )
        .expect("pool");
        let state = AppState::new(pool, 1, std::time::Duration::from_secs(15));
        state.begin_shutdown();
        let err = ready(web::Data::new(state)).await.expect_err("not ready");
        assert!(matches!(err, ApiError::ShuttingDown));
        assert_eq!(err.status_code(), 503);
    }
}

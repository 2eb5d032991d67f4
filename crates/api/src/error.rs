//! Every error leaves the API as `ErrorBody` JSON with the right status: our own
//! ([`ApiError`]) and the framework's (unknown route, wrong method, oversized body…,
//! rewritten by [`json_error_bodies`]).

use actix_web::{
    HttpResponse, ResponseError,
    body::{BoxBody, MessageBody},
    dev::ServiceResponse,
    http::{StatusCode, header},
    middleware::{ErrorHandlerResponse, ErrorHandlers},
};
use deadpool_postgres::{PoolError, TimeoutType};
use domain::{ErrorBody, LimitError};

/// Clone: one failed batched insert answers each of its requests with the same error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    InvalidLimit(#[from] LimitError),
    #[error("{0}")]
    NotFound(String),
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(String),
    #[error("{0}")]
    SchemaNotMigrated(String),
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("too many writes waiting: try again shortly")]
    Overloaded,
    #[error("this replica serves as many event streams as it may: try again shortly")]
    TooManyStreams,
    #[error("the request body did not arrive within {} s", .0.as_secs())]
    BodyTimeout(std::time::Duration),
    /// Ours: answered with nothing more said; its cause is for the log.
    #[error("internal server error")]
    Internal(Cause),
}

/// Why a request failed with a 500, for the log and never for the client. Logged where a
/// request is answered with it (`middleware::request_log`, [`Cause::log`]), so that the line
/// carries that request's ids, and once for each request a batched insert failed.
#[derive(Debug, Clone)]
pub struct Cause {
    /// The line's message: `unexpected database error`.
    what: &'static str,
    /// The `error` field: what failed, in detail.
    detail: String,
}

impl Cause {
    /// Logs the cause, in the current span.
    pub fn log(&self) {
        tracing::error!(error = %self.detail, "{}", self.what);
    }
}

impl ApiError {
    /// A 500 because `what` happened (`detail` says more, in the log).
    pub fn internal(what: &'static str, detail: impl std::fmt::Display) -> Self {
        ApiError::Internal(Cause {
            what,
            detail: detail.to_string(),
        })
    }

    /// What went wrong, for a log or a trace: a 500's cause too, which its body leaves out.
    pub fn for_operators(&self) -> String {
        match self {
            ApiError::Internal(cause) => format!("{}: {}", cause.what, cause.detail),
            other => other.to_string(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidLimit(_) => "invalid_limit",
            ApiError::NotFound(_) => "not_found",
            ApiError::DatabaseUnavailable(_) => "database_unavailable",
            ApiError::SchemaNotMigrated(_) => "schema_not_migrated",
            ApiError::ShuttingDown => "shutting_down",
            ApiError::Overloaded => "overloaded",
            ApiError::TooManyStreams => "too_many_streams",
            ApiError::BodyTimeout(_) => "request_timeout",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidLimit(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::DatabaseUnavailable(_)
            | ApiError::SchemaNotMigrated(_)
            | ApiError::ShuttingDown
            | ApiError::Overloaded
            | ApiError::TooManyStreams => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ApiError::Overloaded => res.insert_header((header::RETRY_AFTER, "1")),
            ApiError::TooManyStreams => res.insert_header((header::RETRY_AFTER, "5")),
            _ => &mut res,
        };
        res.json(ErrorBody::new(self.code(), self.to_string()))
    }
}

impl From<PoolError> for ApiError {
    fn from(e: PoolError) -> Self {
        // Connecting failed (refused, timed out, authentication, no such database) or the
        // pool is closed: all mean "no connection to be had right now".
        ApiError::DatabaseUnavailable(match e {
            PoolError::Timeout(TimeoutType::Wait) => "every connection is busy".into(),
            PoolError::Timeout(TimeoutType::Create) => "connecting timed out".into(),
            PoolError::Timeout(TimeoutType::Recycle) => "checking a connection timed out".into(),
            PoolError::Backend(e) => describe(&e),
            PoolError::Closed => "the connection pool is closed".into(),
            other => other.to_string(),
        })
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            // No SQLSTATE: the connection failed or broke, the server is gone or restarting.
            None => ApiError::DatabaseUnavailable(describe(&e)),
            // The schema is missing: not migrated yet, also a passing condition.
            Some(code) if *code == tokio_postgres::error::SqlState::UNDEFINED_TABLE => {
                ApiError::SchemaNotMigrated("the schema is not migrated: run the migrator".into())
            }
            // Class 57 (operator intervention: shutdown, admin), 08 (connection), 53 (out
            // of resources: too many connections), 28 (authentication), 3D (no database).
            Some(code) if ["57", "08", "53", "28", "3D"].contains(&&code.code()[..2]) => {
                ApiError::DatabaseUnavailable(describe(&e))
            }
            Some(_) => ApiError::internal("unexpected database error", describe(&e)),
        }
    }
}

/// What failed, in a few words: tokio-postgres says only "db error" for everything the
/// server reports, and keeps the cause of a failed connect in its source.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let what = match &db.code().code()[..2] {
            // The server's message names the user: not for a response body.
            "28" => return "authentication failed (check DB_USER and DB_PASS)".into(),
            "3D" => "no such database",
            "53" => "the server is out of resources",
            "57" => "the server refused",
            _ => "the server reported an error",
        };
        return format!("{what}: {} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Rewrites the framework's error responses (empty or plain text) into `ErrorBody` JSON,
/// keeping their status and headers (`Allow` on a 405).
pub fn json_error_bodies<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let is_json = res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if is_json {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let status = res.status();
        let body = ErrorBody::new(code_for(status), message_for(&res));
        let (req, mut response) = res.into_parts();
        let json = serde_json::to_string(&body).unwrap_or_default();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        let response = response.set_body(json).map_into_boxed_body();
        Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(req, response).map_into_right_body(),
        ))
    })
}

fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

fn message_for<B>(res: &ServiceResponse<B>) -> String {
    let req = res.request();
    match res.status() {
        StatusCode::NOT_FOUND => format!("no route for {}", req.path()),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = res
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("other methods");
            format!(
                "{} is not allowed on {}; use {allowed}",
                req.method(),
                req.path()
            )
        }
        status => res
            .response()
            .error()
            .map(ToString::to_string)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
    }
}

use serde::{Deserialize, Serialize};

/// The body of every error response: `{"error": "<machine code>", "message": "<for humans>"}`.
///
/// `error` is a short stable code (`not_found`, `invalid_limit`, `database_unavailable`…)
/// that clients can branch on; `message` says what went wrong in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    #[cfg_attr(feature = "openapi", schema(example = "invalid_limit"))]
    pub error: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "limit must be between 1 and 100, got 0")
    )]
    pub message: String,
}

impl ErrorBody {
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            message: message.into(),
        }
    }
}

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One stored random UUID.
///
/// On the wire: `{"id": 101, "name": "<uuid>", "created_at": "<RFC 3339>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Random {
    /// Monotonic identifier assigned by the database.
    #[cfg_attr(feature = "openapi", schema(example = 101, minimum = 1))]
    pub id: i64,
    /// The random UUID (version 4).
    pub name: Uuid,
    /// When the row was created, RFC 3339 in UTC.
    pub created_at: DateTime<Utc>,
}

impl Random {
    /// The path the API serves this item at, used for `Location` headers.
    pub fn path(&self) -> String {
        format!("/randoms/{}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_stable() {
        let item = Random {
            id: 101,
            name: Uuid::parse_str("7f0f0c8e-4c4c-4f59-9c0e-2a4b1b0a7d21").expect("valid uuid"),
            created_at: DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z")
                .expect("valid timestamp")
                .with_timezone(&Utc),
        };
        let json = serde_json::to_value(&item).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "id": 101,
                "name": "7f0f0c8e-4c4c-4f59-9c0e-2a4b1b0a7d21",
                "created_at": "2026-01-02T03:04:05.123456Z",
            })
        );
        let back: Random = serde_json::from_value(json).expect("round-trips");
        assert_eq!(back, item);
        assert_eq!(item.path(), "/randoms/101");
    }
}

//! The SQL, in one place. Statements are prepared once per connection and cached.

use deadpool_postgres::Object;
use domain::{Limit, Random};
use tokio_postgres::Row;

use crate::error::ApiError;

const COLUMNS: &str = "id, name, created_at";

fn random(row: &Row) -> Random {
    Random {
        id: row.get(0),
        name: row.get(1),
        created_at: row.get(2),
    }
}

/// The newest `limit` items, newest first.
pub async fn latest(client: &Object, limit: Limit) -> Result<Vec<Random>, ApiError> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM randoms ORDER BY id DESC LIMIT $1"
        ))
        .await?;
    let rows = client.query(&stmt, &[&i64::from(limit.get())]).await?;
    Ok(rows.iter().map(random).collect())
}

/// Inserts one row; the database draws the UUID (`gen_random_uuid()`).
pub async fn insert(client: &Object) -> Result<Random, ApiError> {
    let stmt = client
        .prepare_cached(&format!(
            "INSERT INTO randoms DEFAULT VALUES RETURNING {COLUMNS}"
        ))
        .await?;
    let row = client.query_one(&stmt, &[]).await?;
    Ok(random(&row))
}

pub async fn by_id(client: &Object, id: i64) -> Result<Option<Random>, ApiError> {
    let stmt = client
        .prepare_cached(&format!("SELECT {COLUMNS} FROM randoms WHERE id = $1"))
        .await?;
    Ok(client.query_opt(&stmt, &[&id]).await?.as_ref().map(random))
}

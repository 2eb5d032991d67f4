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

/// Inserts `rows` rows in one statement (a batch of POSTs, see [`crate::inserts`]); the
/// database draws the UUIDs. Returns them, oldest first.
pub async fn insert_many(client: &Object, rows: usize) -> Result<Vec<Random>, ApiError> {
    let stmt = client
        .prepare_cached(&format!(
            "INSERT INTO randoms (name) SELECT gen_random_uuid() FROM generate_series(1, $1) \
             RETURNING {COLUMNS}"
        ))
        .await?;
    let rows = i32::try_from(rows).map_err(|_| ApiError::Internal)?;
    // One pipelined round trip, but an explicit COMMIT: its answer comes after the commit
    // (and after PostgreSQL signalled the listeners, see `crate::latest`). A lone extended-
    // protocol statement returns its rows before the commit its Sync triggers.
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&rows];
    let (begin, created, commit) = tokio::join!(
        client.batch_execute("BEGIN"),
        client.query(&stmt, &params),
        client.batch_execute("COMMIT"),
    );
    begin?;
    let created = created?;
    commit?;
    Ok(created.iter().map(random).collect())
}

pub async fn by_id(client: &Object, id: i64) -> Result<Option<Random>, ApiError> {
    let stmt = client
        .prepare_cached(&format!("SELECT {COLUMNS} FROM randoms WHERE id = $1"))
        .await?;
    Ok(client.query_opt(&stmt, &[&id]).await?.as_ref().map(random))
}

//! The SQL, in one place. Statements are prepared once per connection and cached.

use std::time::Duration;

use deadpool_postgres::Object;
use domain::{Limit, Random};
use tokio_postgres::Row;

use crate::{
    error::ApiError,
    spans::{self, Statement},
};

/// A statement that gets no answer within this is abandoned with a 503. A database that is
/// down fails fast by itself; this bounds one that hangs or a network that drops packets,
/// where a connection already open would otherwise wait without end.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `work` (the statement, on one connection) within [`QUERY_TIMEOUT`], in its span.
async fn bounded<T>(
    statement: Statement,
    work: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, ApiError> {
    let _span = spans::statement(statement);
    match tokio::time::timeout(QUERY_TIMEOUT, work).await {
        Ok(done) => Ok(done?),
        Err(_) => Err(ApiError::DatabaseUnavailable(format!(
            "no answer within {} s",
            QUERY_TIMEOUT.as_secs()
        ))),
    }
}

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
    const LATEST: Statement = Statement {
        name: "randoms.latest",
        operation: "SELECT",
    };
    let rows = bounded(LATEST, async {
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM randoms ORDER BY id DESC LIMIT $1"
            ))
            .await?;
        client.query(&stmt, &[&i64::from(limit.get())]).await
    })
    .await?;
    Ok(rows.iter().map(random).collect())
}

/// Inserts `rows` rows in one statement (a batch of POSTs, see [`crate::inserts`]); the
/// database draws the UUIDs. Returns them, oldest first.
/// (A batch that times out may still commit once the server answers again: its requests
/// got a 503, as for any write whose outcome is unknown.)
pub async fn insert_many(client: &Object, rows: usize) -> Result<Vec<Random>, ApiError> {
    const INSERT_MANY: Statement = Statement {
        name: "randoms.insert_many",
        operation: "INSERT",
    };
    let rows = i32::try_from(rows)
        .map_err(|_| ApiError::internal("a batch too large for one statement", rows))?;
    let created = bounded(INSERT_MANY, async {
        let stmt = client
            .prepare_cached(&format!(
                "INSERT INTO randoms (name) SELECT gen_random_uuid() FROM generate_series(1, $1) \
                 RETURNING {COLUMNS}"
            ))
            .await?;
        // One pipelined round trip, but an explicit COMMIT: its answer comes after the
        // commit (and after PostgreSQL signalled the listeners, see `crate::latest`). A lone
        // extended-protocol statement returns its rows before the commit its Sync triggers.
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&rows];
        let (begin, created, commit) = tokio::join!(
            client.batch_execute("BEGIN"),
            client.query(&stmt, &params),
            client.batch_execute("COMMIT"),
        );
        begin?;
        let created = created?;
        commit?;
        Ok(created)
    })
    .await?;
    Ok(created.iter().map(random).collect())
}

pub async fn by_id(client: &Object, id: i64) -> Result<Option<Random>, ApiError> {
    const BY_ID: Statement = Statement {
        name: "randoms.by_id",
        operation: "SELECT",
    };
    let row = bounded(BY_ID, async {
        let stmt = client
            .prepare_cached(&format!("SELECT {COLUMNS} FROM randoms WHERE id = $1"))
            .await?;
        client.query_opt(&stmt, &[&id]).await
    })
    .await?;
    Ok(row.as_ref().map(random))
}

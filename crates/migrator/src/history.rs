//! Reading refinery's history table (`refinery_schema_history`: version, name,
//! applied_on as RFC 3339 text, checksum as decimal text).

use tokio_postgres::Client;

pub const TABLE: &str = "refinery_schema_history";

/// One row of the history table.
#[derive(Debug, Clone)]
pub struct Applied {
    pub version: i32,
    pub name: String,
    pub applied_on: String,
    pub checksum: String,
}

/// Whether refinery has created its table yet: a database nobody migrated has none, and
/// querying it would fail.
async fn table_exists(client: &Client) -> Result<bool, tokio_postgres::Error> {
    client
        .query_one(&format!("select to_regclass('{TABLE}') is not null"), &[])
        .await?
        .try_get(0)
}

/// The highest applied version; `None` before the first migration.
pub async fn applied_version(client: &Client) -> Result<Option<i32>, tokio_postgres::Error> {
    if !table_exists(client).await? {
        return Ok(None);
    }
    client
        .query_one(&format!("select max(version) from {TABLE}"), &[])
        .await?
        .try_get(0)
}

/// Every applied migration, ordered by version.
pub async fn applied(client: &Client) -> Result<Vec<Applied>, tokio_postgres::Error> {
    if !table_exists(client).await? {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            &format!("select version, name, applied_on, checksum from {TABLE} order by version"),
            &[],
        )
        .await?;
    rows.iter()
        .map(|row| {
            // The text columns are nullable in refinery's DDL though it always fills them.
            let text = |i| {
                row.try_get::<_, Option<String>>(i)
                    .map(Option::unwrap_or_default)
            };
            Ok(Applied {
                version: row.try_get(0)?,
                name: text(1)?,
                applied_on: text(2)?,
                checksum: text(3)?,
            })
        })
        .collect()
}

/// Removes a reverted migration's row; run in the transaction that reverted it.
pub async fn forget(
    tx: &tokio_postgres::Transaction<'_>,
    version: i32,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        &format!("delete from {TABLE} where version = $1"),
        &[&version],
    )
    .await
    .map(drop)
}

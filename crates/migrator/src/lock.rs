//! One migrator at a time per database: every mutating command holds a session-level
//! advisory lock on its own connection. Several replicas' init containers can then all run
//! `migrator up`; the first applies, the others wait, find nothing left, and succeed.
//!
//! Session-level (not transaction-level) because refinery commits once per migration and
//! the lock must span them all. It needs a direct connection or a session-mode pooler; a
//! transaction-mode pgbouncer would hand the lock to whichever session ran the statement.

use tokio_postgres::Client;
use tracing::{Instrument, info, warn};

use crate::{Error, trace};

/// "migrator" in ASCII: a fixed key every migrator of this schema agrees on.
const KEY: i64 = 0x6d69_6772_6174_6f72;

/// Runs `work` while holding the lock, and releases it afterwards whatever the outcome.
pub async fn exclusive<T>(
    client: &mut Client,
    work: impl AsyncFnOnce(&mut Client) -> Result<T, Error>,
) -> Result<T, Error> {
    acquire(client).instrument(trace::step("lock")).await?;
    let result = work(client).await;
    if let Err(e) = client
        .execute("select pg_advisory_unlock($1)", &[&KEY])
        .await
    {
        // Not worth failing a finished migration for: the server drops the lock when the
        // session ends, which is right after this.
        warn!("could not release the migration lock: {e}");
    }
    result
}

async fn acquire(client: &Client) -> Result<(), Error> {
    let free: bool = client
        .query_one("select pg_try_advisory_lock($1)", &[&KEY])
        .await?
        .try_get(0)?;
    if !free {
        info!("another migrator is running; waiting for it to finish");
        client
            .execute("select pg_advisory_lock($1)", &[&KEY])
            .await?;
    }
    Ok(())
}

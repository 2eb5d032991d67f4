//! `POST /randoms`, batched: concurrent requests share one multi-row `INSERT`, so under load
//! the database does one statement (and one commit) for many rows, as group commit does.
//!
//! A request's row is committed before its 201 is sent, as without batching; one that gave
//! up waiting (the client left) is dropped from the batch before it runs. A batch that fails
//! fails each of its requests with the same error.

use std::sync::Arc;

use deadpool_postgres::Pool;
use domain::Random;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::{error::ApiError, repository};

/// Rows per statement at most. Below 100 on purpose: `V2.down` recognises the seed as the
/// newest 100 rows sharing one `created_at`, which no batch may imitate.
pub const MAX_BATCH: usize = 64;
/// Statements in flight at once; requests arriving meanwhile form the next batch.
const IN_FLIGHT: usize = 4;
/// Requests queued for a batch at most; past it a POST waits to queue.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Random, ApiError>>;

/// Hands rows to the batching task. Cheap to clone.
#[derive(Clone)]
pub struct Inserter {
    queue: mpsc::Sender<Reply>,
}

impl Inserter {
    /// Starts the batching task on the current runtime.
    pub fn start(pool: Pool) -> Self {
        let (queue, requests) = mpsc::channel(QUEUE);
        tokio::spawn(batch_forever(pool, requests));
        Self { queue }
    }

    /// Inserts one row and returns it, once committed.
    pub async fn insert(&self) -> Result<Random, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(reply)
            .await
            .map_err(|_| ApiError::ShuttingDown)?;
        answer.await.map_err(|_| ApiError::ShuttingDown)?
    }
}

async fn batch_forever(pool: Pool, mut requests: mpsc::Receiver<Reply>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = requests.recv().await {
        // Waiting for a slot is what lets the next batch grow.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(reply) => batch.push(reply),
                Err(_) => break,
            }
        }
        batch.retain(|reply| !reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            let result = run(&pool, batch.len()).await;
            drop(slot);
            match result {
                Ok(rows) => {
                    for (reply, row) in batch.into_iter().zip(rows) {
                        // A client that left meanwhile: its row stays, unacknowledged.
                        let _ = reply.send(Ok(row));
                    }
                }
                Err(e) => {
                    for reply in batch {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        });
    }
}

async fn run(pool: &Pool, rows: usize) -> Result<Vec<Random>, ApiError> {
    let client = pool.get().await?;
    let created = repository::insert_many(&client, rows).await?;
    if created.len() != rows {
        tracing::error!(
            asked = rows,
            got = created.len(),
            "an insert returned the wrong number of rows"
        );
        return Err(ApiError::Internal);
    }
    Ok(created)
}

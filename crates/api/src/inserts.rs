//! `POST /randoms`, batched: concurrent requests share one multi-row `INSERT`, so under load
//! the database does one statement (and one commit) for many rows, as group commit does.
//!
//! A request's row is committed before its 201 is sent, as without batching; one that gave
//! up waiting (the client left, or its deadline passed) is dropped from the batch before it
//! runs. A batch that fails fails each of its requests with the same error.
//!
//! Each POST has one [`DEADLINE`] for all of it: queueing, waiting for a slot, the pool and
//! the statement. A request that cannot even queue is shed at once with 503, so a database
//! that stalls makes writers wait at most the deadline, however many there are.

use std::{sync::Arc, time::Duration};

use deadpool_postgres::Pool;
use domain::Random;
use tokio::{
    sync::{Semaphore, mpsc, oneshot},
    time::{Instant, timeout_at},
};
use tracing::{Instrument, Span};

use crate::{error::ApiError, repository, spans};

/// Rows per statement at most. Below 100 on purpose: `V2.down` recognises the seed as the
/// newest 100 rows sharing one `created_at`, which no batch may imitate.
pub const MAX_BATCH: usize = 64;
/// Statements in flight at once; requests arriving meanwhile form the next batch.
const IN_FLIGHT: usize = 4;
/// Requests queued for a batch at most: one more round of full batches. Past it a POST is
/// shed with 503: when every slot is stuck, more queued requests would only wait out their
/// deadline; when the database keeps up, the queue never gets near it.
const QUEUE: usize = IN_FLIGHT * MAX_BATCH;
/// The most one POST may take, from arrival to its answer.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// One queued request: where its answer goes, and when its asker stops waiting.
struct Pending {
    reply: oneshot::Sender<Result<Random, ApiError>>,
    deadline: Instant,
    /// The request's span, which the batch's span descends from or links to.
    span: Span,
}

/// Hands rows to the batching task. Cheap to clone.
#[derive(Clone)]
pub struct Inserter {
    queue: mpsc::Sender<Pending>,
}

impl Inserter {
    /// Starts the batching task on the current runtime.
    pub fn start(pool: Pool) -> Self {
        let (queue, requests) = mpsc::channel(QUEUE);
        tokio::spawn(batch_forever(pool, requests));
        Self { queue }
    }

    /// Inserts one row and returns it, once committed, within [`DEADLINE`].
    pub async fn insert(&self) -> Result<Random, ApiError> {
        let deadline = Instant::now() + DEADLINE;
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Pending {
                reply,
                deadline,
                span: spans::current(),
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ApiError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => ApiError::ShuttingDown,
            })?;
        match timeout_at(deadline, answer).await {
            Ok(answered) => answered.map_err(|_| ApiError::ShuttingDown)?,
            Err(_) => Err(too_late()),
        }
    }
}

async fn batch_forever(pool: Pool, mut requests: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = requests.recv().await {
        // Waiting for a slot is what lets the next batch grow.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        // Whoever timed out has dropped its receiver.
        batch.retain(|p| !p.reply.is_closed());
        let Some(deadline) = batch.iter().map(|p| p.deadline).max() else {
            continue;
        };
        let pool = pool.clone();
        let span = spans::insert_batch(batch.len(), batch.iter().map(|p| &p.span));
        tokio::spawn(async move {
            // Past the last deadline nobody waits for this batch: free its slot then.
            let result = timeout_at(deadline, run(&pool, batch.len()).instrument(span.clone()))
                .await
                .unwrap_or_else(|_| Err(too_late()));
            drop(slot);
            match result {
                Ok(rows) => {
                    for (pending, row) in batch.into_iter().zip(rows) {
                        // A client that left meanwhile: its row stays, unacknowledged.
                        let _ = pending.reply.send(Ok(row));
                    }
                }
                Err(e) => {
                    spans::batch_failed(&span, &e);
                    let told = batch
                        .into_iter()
                        .map(|pending| pending.reply.send(Err(e.clone())))
                        .filter(Result::is_ok)
                        .count();
                    // Each request logs a 500's cause under its ids; with none left to,
                    // it is logged here.
                    if told == 0
                        && let ApiError::Internal(cause) = &e
                    {
                        span.in_scope(|| cause.log());
                    }
                }
            }
        });
    }
}

fn too_late() -> ApiError {
    ApiError::DatabaseUnavailable(format!("not written within {} s", DEADLINE.as_secs()))
}

async fn run(pool: &Pool, rows: usize) -> Result<Vec<Random>, ApiError> {
    let client = spans::connection(pool).await?;
    let created = repository::insert_many(&client, rows).await?;
    if created.len() != rows {
        return Err(ApiError::internal(
            "an insert returned the wrong number of rows",
            format_args!("asked for {rows}, got {}", created.len()),
        ));
    }
    Ok(created)
}

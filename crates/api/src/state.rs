use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use deadpool_postgres::Pool;

use crate::{events::Streams, inserts::Inserter, latest::LatestCache};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    /// This replica's copy of the latest items (see [`crate::latest`]).
    pub latest: LatestCache,
    /// Batches concurrent POSTs (see [`crate::inserts`]).
    pub inserter: Inserter,
    /// This replica's `GET /randoms/events` streams (see [`crate::events`]).
    pub streams: Streams,
    shutting_down: Arc<AtomicBool>,
}

impl AppState {
    /// Starts the insert batcher on the current runtime; the cache stays empty until its
    /// listener runs ([`LatestCache::listen`]). At most `max_streams` event streams, each
    /// sending a heartbeat after `heartbeat` of silence.
    pub fn new(pool: Pool, max_streams: usize, heartbeat: Duration) -> Self {
        let latest = LatestCache::default();
        Self {
            inserter: Inserter::start(pool.clone()),
            pool,
            streams: Streams::new(latest.changes(), max_streams, heartbeat),
            latest,
            shutting_down: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on `/ready` answers 503, so load balancers stop sending traffic, and every
    /// event stream ends.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.streams.close();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

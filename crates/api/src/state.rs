use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use deadpool_postgres::Pool;

use crate::{inserts::Inserter, latest::LatestCache};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    /// This replica's copy of the latest items (see [`crate::latest`]).
    pub latest: LatestCache,
    /// Batches concurrent POSTs (see [`crate::inserts`]).
    pub inserter: Inserter,
    shutting_down: Arc<AtomicBool>,
}

impl AppState {
    /// Starts the insert batcher on the current runtime; the cache stays empty until its
    /// listener runs ([`LatestCache::listen`]).
    pub fn new(pool: Pool) -> Self {
        Self {
            inserter: Inserter::start(pool.clone()),
            pool,
            latest: LatestCache::default(),
            shutting_down: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on `/ready` answers 503, so load balancers stop sending traffic.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

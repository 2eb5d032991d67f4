use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use deadpool_postgres::Pool;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    shutting_down: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
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

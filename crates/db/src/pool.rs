use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};

use crate::{DbSettings, SettingsError, tls};

/// How the pool behaves when the database is slow or gone.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_size: usize,
    /// Upper bound for a request waiting on a connection: past it the API answers 503.
    pub wait_timeout: Duration,
    /// Upper bound for opening a new connection (also the driver's connect timeout).
    pub connect_timeout: Duration,
}

/// Builds the pool without connecting: the API must start while the database is down.
pub fn build_pool(db: &DbSettings, settings: PoolSettings) -> Result<Pool, SettingsError> {
    let pg = db.pg_config(settings.connect_timeout)?;
    let manager = Manager::from_config(
        pg,
        tls::connector(),
        ManagerConfig {
            // A closed connection (the server restarted) is detected and replaced; a live
            // one is reused without a round trip.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(settings.max_size)
        .timeouts(Timeouts {
            wait: Some(settings.wait_timeout),
            create: Some(settings.connect_timeout),
            recycle: Some(settings.connect_timeout),
        })
        .runtime(Runtime::Tokio1)
        .build()
        .expect("a runtime and timeouts are set, which is all the builder checks"))
}

//! What the API and the migrator share about the database: how it is configured
//! (`DATABASE_URL` or the seed's split `DB_*` variables), how TLS is negotiated,
//! and how the connection pool is built.

pub mod layered;
mod pool;
mod settings;
mod tls;

pub use pool::{PoolSettings, build_pool};
pub use settings::{DbSettings, SettingsError, SslMode};
pub use tls::connector;

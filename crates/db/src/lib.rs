//! What the API and the migrator share about the database: how it is configured
//! (`DATABASE_URL` or the seed's split `DB_*` variables, declared in [`VARIABLES`]), how TLS
//! is negotiated, and how the connection pool is built.

mod pool;
mod settings;
mod tls;

pub use self::settings::{DbSettings, SettingsError, SslMode, VARIABLES};
pub use pool::{PoolSettings, build_pool};
pub use tls::connector;

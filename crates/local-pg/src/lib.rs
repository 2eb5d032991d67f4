//! A real PostgreSQL server for tests and local development, started from the binaries
//! already installed on the machine (`initdb`, `postgres`, `pg_isready`).
//!
//! PostgreSQL refuses to run as root, so when we are root the server runs as the
//! `postgres` user (or `nobody`). Every server is our child process and gets SIGINT (fast
//! shutdown) when we die, so a crashed test run leaves no server behind.

mod binaries;
pub mod container;
mod database;
mod server;
mod user;

pub use binaries::Binaries;
pub use container::Container;
pub use database::{fresh_database, shared_admin_url};
pub use server::{LocalPg, Options};

/// Everything that can go wrong, each with a message a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "PostgreSQL server binaries (initdb, postgres) not found on PATH or under \
         /usr/lib/postgresql/*/bin: install them (Debian/Ubuntu: `apt-get install postgresql`, \
         macOS: `brew install postgresql`) or set DATABASE_URL to an admin URL of a running server"
    )]
    BinariesNotFound,
    #[error(
        "no unprivileged user (`postgres` or `nobody`) to run PostgreSQL as; PostgreSQL refuses to run as root"
    )]
    NoUnprivilegedUser,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} failed:\n{output}")]
    Command { what: String, output: String },
    #[error("PostgreSQL did not become ready within {secs} s; its log:\n{log}")]
    NotReady { secs: u64, log: String },
    #[error("SQL on the admin connection failed: {0}")]
    Sql(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Other(String),
}

impl Error {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

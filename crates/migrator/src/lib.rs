//! The database schema: SQL migrations compiled into the binary, applied and reverted with
//! refinery, one migrator at a time per database.
//!
//! The API uses [`latest_version`] and [`applied_version`] to tell whether the schema it
//! expects is in place; the `migrator` binary ([`cli`]) runs [`up`], [`down`] and
//! [`status`] after [`connect`]ing.

pub mod cli;
mod commands;
pub mod compat;
mod embedded;
mod error;
mod history;
mod lock;
mod status;
mod trace;
mod wait;

pub use cli::VARIABLES;
pub use commands::{DownReport, Step, UpReport, down, up};
pub use error::Error;
pub use history::applied_version;
pub use status::{State, Status, StatusRow, status};
pub use wait::connect;

/// The highest migration version embedded in this build.
pub fn latest_version() -> i32 {
    embedded::latest_version()
}

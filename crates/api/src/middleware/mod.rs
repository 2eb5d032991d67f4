//! Cross-cutting request handling, outermost first: request log, metrics (see
//! [`crate::metrics`]), CORS, JSON error bodies, panic catching.

mod catch_panic;
mod request_log;

pub use catch_panic::catch_panic;
pub use request_log::request_log;

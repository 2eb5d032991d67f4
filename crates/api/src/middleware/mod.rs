//! Cross-cutting request handling, outermost first: request log, refused requests (unknown
//! methods; requests after `Connection: close`), metrics (see [`crate::metrics`]), JSON
//! error bodies, CORS, compressed bodies refused, panic catching.

mod catch_panic;
mod connection;
mod guards;
mod request_log;

pub use catch_panic::catch_panic;
pub use connection::{after_close, on_connect, progress};
pub use guards::{identity_encoding, known_method};
pub use request_log::request_log;

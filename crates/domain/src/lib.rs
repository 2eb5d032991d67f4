//! The model and wire format shared by the API (server side) and the SPA (wasm).
//!
//! Nothing here does I/O, so the crate compiles for `wasm32-unknown-unknown`.

mod error;
mod limit;
mod random;

pub use error::ErrorBody;
pub use limit::{Limit, LimitError};
pub use random::Random;

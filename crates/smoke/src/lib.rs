//! A deployed release checked end to end, from outside its pods but through kubectl's
//! port-forwards, which reach a pod from inside its node (NetworkPolicies, which rightly keep
//! the API server's proxy and everything else out, do not apply): each API pod answers
//! `/ready` with 200, `GET /randoms` is a JSON array, and the static server serves the page
//! and a `/config.json` naming the API the page will call.

mod checks;
mod forward;

pub use checks::{config_names, lists, page, ready};
pub use forward::{Forward, Namespace};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("port-forward to {target}: {why}")]
    Forward { target: String, why: String },
    #[error("{what}: {why}")]
    Check { what: String, why: String },
}

//! 12-factor configuration, the same for every binary of the project.
//!
//! Each binary declares every variable it reads once, as a [`Variable`] (name, default,
//! meaning), in one list (`api::configuration::VARIABLES`, `migrator::VARIABLES`,
//! `web_server::config::VARIABLES`) put together with [`variables!`] from its own and the
//! shared ones (`db::VARIABLES`, `telemetry::VARIABLES`, this crate's [`VARIABLES`]).
//! [`load`] reads exactly that list: the declared defaults, then the optional TOML file
//! named by `CONFIG_FILE`, then the environment. So a default is written only in its
//! declaration, and a variable that is not declared is not read. [`markdown_table`] renders
//! the lists as the README's configuration table.

mod layered;
mod table;
mod variable;

pub use layered::{Error, load, load_from};
pub use table::markdown_table;
pub use variable::{Variable, concat, names, total};

/// `CONFIG_FILE`: read by [`load`] before the environment (when the binary declares it).
pub const CONFIG_FILE: Variable = Variable {
    name: "CONFIG_FILE",
    default: None,
    meaning: "optional TOML file read before the environment",
};

/// What this crate itself reads: every binary includes it.
pub const VARIABLES: &[Variable] = &[CONFIG_FILE];

//! Running other programs, the same way everywhere in the project: the servers of `cargo
//! xtask dev`, the PostgreSQL of `local-pg`, the binaries under test, Chromium, the
//! benchmarks' load generators.
//!
//! - [`Process`]: a child in its own process group (a Ctrl-C meant for our terminal is not
//!   also sent to it; we stop children in order), tied to our life ([`owner`]), stopped with
//!   a signal, a grace period, then a kill of its whole group.
//! - [`run`] and [`output`]: a command to completion, its failure naming it ([`RunError`]).
//! - [`find_program`], [`free_port`], [`wait_until`], [`memory`]: one place for each.

pub mod memory;
pub mod owner;
mod path;
mod port;
mod process;
mod run;
mod state;
mod wait;

pub use nix::sys::signal::Signal;
pub use path::{find_program, find_program_or_env};
pub use port::free_port;
pub use process::{Process, Stop, Stopped};
pub use run::{RunError, describe, output, run};
pub use state::{exists, running};
pub use wait::{TimedOut, wait_until};

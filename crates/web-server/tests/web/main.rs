//! Integration tests over real HTTP on real loopback ports: the library's server in-process
//! (started on `127.0.0.1:0`), and the real binary for configuration errors, signals and
//! the access log. Each test builds its own bundle, precompressed with flate2 and brotli.

mod binary;
mod helpers;
mod hostile;
mod live_reload;
mod negotiation;
mod process;
mod serving;
mod traces;
mod traversal;

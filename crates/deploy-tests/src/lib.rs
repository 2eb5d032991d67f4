//! No library: the offline tests of the Kubernetes manifests and of `cargo xtask render` and
//! `cargo xtask deploy` are in `tests/`, and run the real xtask binary (`XTASK_BIN`, or one
//! built with `cargo build -p xtask`).

//! Integration tests: the real `api` binary on a free port, over real HTTP, against a real
//! PostgreSQL (one server per test run, one fresh database per test).

mod config;
mod cors;
mod errors;
mod health;
mod helpers;
mod observability;
mod outage;
mod randoms;
mod shutdown;

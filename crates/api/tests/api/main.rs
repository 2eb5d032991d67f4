//! Integration tests: the real `api` binary on a free port, over real HTTP, against a real
//! PostgreSQL (one server per test run, one fresh database per test).

mod caching;
mod config;
mod cors;
mod crash;
mod errors;
mod events;
mod faults;
mod hang;
mod health;
mod helpers;
mod hostile;
mod logging;
mod monitoring;
mod observability;
mod outage;
mod randoms;
mod replicas;
mod rolling_restart;
mod schemathesis;
mod shutdown;
mod traces;

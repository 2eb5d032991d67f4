//! The randoms HTTP API: list the latest random UUIDs and add one, over PostgreSQL.
//!
//! `main.rs` is a thin shell around [`startup::Application`]; the pieces are split the way
//! zero2prod does it: configuration, logging (`access_log`), startup, routes.

pub mod access_log;
pub mod body;
pub mod configuration;
pub mod connection;
pub mod error;
pub mod events;
pub mod http_cache;
pub mod inserts;
pub mod latest;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod repository;
pub mod routes;
pub mod spans;
pub mod startup;
pub mod state;

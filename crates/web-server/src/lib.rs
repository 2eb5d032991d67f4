//! The static server for the SPA bundle.
//!
//! The bundle (content-hashed JS/wasm/CSS, `index.html`, their precompressed `.br`/`.gz`
//! siblings) is read into memory at start ([`bundle`]); a request is validated
//! ([`path`]), looked up, negotiated ([`negotiate`]) and answered with precomputed headers
//! ([`app`], [`headers`]) by hyper ([`server`]). `main.rs` is a thin shell around
//! [`server::run`], which logs each request through `telemetry::access` ([`access_log`]);
//! tests and the e2e crate use [`server::build`] and [`server::serve`]. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set each request is a span too ([`request_span`]). Builds with the
//! `live-reload` feature alone have `live_reload`, which `cargo xtask dev` turns on
//! (`WEB_DEV_RELOAD=1`) so the open page reloads when the server restarts.

pub mod access_log;
pub mod app;
pub mod bundle;
pub mod config;
pub mod headers;
#[cfg(feature = "live-reload")]
pub mod live_reload;
pub mod mime;
pub mod negotiate;
pub mod path;
pub mod request_span;
pub mod server;
pub mod workers;

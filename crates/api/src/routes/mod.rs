//! The routing table: every route the API serves is registered here, and documented in
//! [`crate::openapi`] from the same handlers.

mod events;
mod health;
mod randoms;

use actix_web::{FromRequest, Handler, Resource, Responder, web};

pub use events::{__path_events, events};
pub use health::{__path_healthz, __path_ready, healthz, ready};
pub use randoms::{__path_create, __path_get_one, __path_list, create, get_one, list};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(readable("/randoms", list).route(web::post().to(create)))
        // Before `/randoms/{id}`, which would take "events" for an id.
        .service(readable("/randoms/events", events))
        .service(readable("/randoms/{id}", get_one))
        .service(readable("/healthz", healthz))
        .service(readable("/ready", ready))
        .service(readable("/openapi.json", crate::openapi::document))
        .service(readable("/metrics", crate::metrics::serve));
}

/// A resource answering GET and HEAD with `handler` (RFC 9110 §9.3.2: HEAD wherever GET;
/// actix-web sends the head and drops the body). Named by its pattern, which a request's
/// span then reads without rebuilding it ([`crate::spans::RequestSpan::answered`]).
fn readable<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .name(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
}

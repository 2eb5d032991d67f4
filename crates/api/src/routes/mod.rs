//! The routing table: every route the API serves is registered here, and documented in
//! [`crate::openapi`] from the same handlers.

mod health;
mod randoms;

use actix_web::web;

pub use health::{__path_healthz, __path_ready, healthz, ready};
pub use randoms::{__path_create, __path_get_one, __path_list, create, get_one, list};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/randoms")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/randoms/{id}").route(web::get().to(get_one)))
    .service(web::resource("/healthz").route(web::get().to(healthz)))
    .service(web::resource("/ready").route(web::get().to(ready)))
    .service(web::resource("/openapi.json").route(web::get().to(crate::openapi::document)))
    .service(web::resource("/metrics").route(web::get().to(crate::metrics::serve)));
}

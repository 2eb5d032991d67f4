use std::panic::AssertUnwindSafe;

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};
use futures_util::FutureExt;

use crate::error::ApiError;

/// A panicking handler answers 500 JSON instead of dropping the connection, and the
/// worker keeps serving. (The panic message still reaches the log via the panic hook.)
///
/// The request cannot be kept for building the response (actix needs sole ownership of it
/// while routing), so the panic becomes an error that the dispatcher renders.
pub async fn catch_panic(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let path = req.path().to_owned();
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result,
        // The panic's message is logged by the panic hook, in the request's span.
        Err(_) => Err(ApiError::internal("handler panicked", path).into()),
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use actix_web::{App, HttpServer, middleware::from_fn, web};

    use super::catch_panic;
    use crate::error::json_error_bodies;

    async fn boom() -> &'static str {
        panic!("handler bug")
    }

    /// Over real HTTP, with one worker: the panic becomes a JSON 500 and the same worker
    /// goes on serving.
    #[actix_web::test]
    async fn a_panicking_handler_answers_500_and_the_server_keeps_serving() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = HttpServer::new(|| {
            App::new()
                .wrap(from_fn(catch_panic))
                .wrap(json_error_bodies())
                .route("/boom", web::get().to(boom))
                .route("/ok", web::get().to(|| async { "ok" }))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);

        let http = reqwest::Client::new();
        for _ in 0..3 {
            let res = http
                .get(format!("http://{addr}/boom"))
                .send()
                .await
                .expect("answered");
            assert_eq!(res.status(), 500);
            let body: domain::ErrorBody = res.json().await.expect("JSON error");
            assert_eq!(body.error, "internal");
            let res = http
                .get(format!("http://{addr}/ok"))
                .send()
                .await
                .expect("answered");
            assert_eq!(res.status(), 200);
        }
        handle.stop(false).await;
    }
}

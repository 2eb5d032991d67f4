//! Builds the server from [`Settings`] and runs it until a signal asks it to stop.

use std::{net::TcpListener, time::Duration};

use actix_cors::Cors;
use actix_http::HttpService;
use actix_service::{ServiceFactoryExt, fn_service, map_config};
use actix_web::{
    App,
    dev::{AppConfig, Server},
    http::{Method, header},
    middleware::from_fn,
    rt::net::TcpStream,
    web,
};
use anyhow::Context;
use socket2::SockRef;
use telemetry::shutdown::shutdown_signal;

use crate::{
    body::MAX_BODY_BYTES,
    configuration::Settings,
    connection::{SEND_BUFFER, Throttled},
    error::json_error_bodies,
    metrics, middleware, routes,
    state::AppState,
};

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    /// For the cache's own listening connection, outside the pool.
    db: tokio_postgres::Config,
}

impl Application {
    /// Binds the port and prepares the server. The database is not contacted: the API
    /// starts while it is down, and `/ready` reports it.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::build_pool(&settings.db, settings.pool())?;
        let state = AppState::new(
            pool.clone(),
            settings.server.api_max_streams,
            settings.stream_heartbeat(),
        );
        let metrics = metrics::build(pool, &state)?;

        let addr = format!("{}:{}", settings.server.api_host, settings.server.api_port);
        let listener = TcpListener::bind(&addr)
            .with_context(|| format!("cannot listen on {addr} (set API_HOST / API_PORT)"))?;
        let local = listener.local_addr()?;
        tracing::info!(addr = %local, db = %settings.db, "listening");

        let origins = settings.server.cors_allowed_origins.clone();
        let app_state = web::Data::new(state.clone());
        let registry = web::Data::new(metrics.registry.clone());
        let app = move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(registry.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                // Innermost first; see `middleware` for why each sits where it does.
                .wrap(from_fn(middleware::catch_panic))
                .wrap(from_fn(middleware::progress))
                .wrap(from_fn(middleware::identity_encoding))
                .wrap(cors(&origins))
                .wrap(from_fn(middleware::after_close))
                // Outside CORS, so that its refusals are JSON too.
                .wrap(json_error_bodies())
                .wrap(metrics.clone())
                // Outside the metrics, which label by method.
                .wrap(from_fn(middleware::known_method))
                .wrap(from_fn(middleware::request_log))
                .configure(routes::configure)
        };
        // actix-web's `HttpServer`, assembled from its parts to put `Throttled` under each
        // connection (it serves bare TCP streams only).
        let builder = actix_server::Server::build();
        let closing = builder.graceful_shutdown_signal();
        let server = builder
            .listen("api", listener, move || {
                let closing = closing.clone();
                let http = HttpService::build()
                    // Idle keep-alive connections close at once when shutdown begins.
                    .graceful_shutdown_signal(move || {
                        let closing = closing.clone();
                        async move { closing.notified().await }
                    })
                    // HttpServer's defaults: the head within 5 s, a closing client gets 1 s.
                    .client_request_timeout(Duration::from_secs(5))
                    .client_disconnect_timeout(Duration::from_secs(1))
                    .local_addr(local)
                    .on_connect_ext(middleware::on_connect)
                    .h1(map_config(app(), |_| AppConfig::default()));
                fn_service(|stream: TcpStream| async move {
                    let peer = stream.peer_addr().ok();
                    if let Err(e) = SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER) {
                        tracing::debug!(error = %e, "cannot bound the send buffer");
                    }
                    Ok((Throttled::new(stream), peer))
                })
                .and_then(http)
            })?
            // We handle signals ourselves, to flip readiness before draining.
            .disable_signals()
            .shutdown_timeout(settings.server.shutdown_timeout_secs)
            .run();
        Ok(Self {
            port: local.port(),
            server,
            state,
            db: settings.db.pg_config(settings.pool().connect_timeout)?,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT; see [`run_until`](Self::run_until).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let signal = shutdown_signal("in-flight requests")?;
        self.run_until(async move {
            signal.await;
        })
        .await
    }

    /// Serves until `shutdown` resolves, then: `/ready` turns 503, no new connections are
    /// accepted, in-flight requests finish (up to `SHUTDOWN_TIMEOUT_SECS`), the pool closes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + 'static,
    ) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let listener = actix_web::rt::spawn(self.state.latest.clone().listen(self.db.clone()));
        let state = self.state.clone();
        let watcher = actix_web::rt::spawn(async move {
            shutdown.await;
            state.begin_shutdown();
            handle.stop(true).await;
        });
        let served = self.server.await;
        watcher.abort();
        listener.abort();
        self.state.pool.close();
        tracing::info!("stopped");
        served.context("the HTTP server failed")
    }
}

fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST])
        // The SPA continues its user action's trace in ours (W3C trace context).
        .allowed_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static("traceparent"),
            header::HeaderName::from_static("tracestate"),
        ])
        .expose_headers([
            header::LOCATION,
            header::HeaderName::from_static(telemetry::request_id::HEADER),
        ])
        .max_age(3600)
        // A foreign origin gets an ordinary answer without CORS headers; the browser
        // enforces the policy.
        .block_on_origin_mismatch(false)
}

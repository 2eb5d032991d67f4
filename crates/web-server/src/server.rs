//! Sockets: the accept loop, HTTP/1.1 connections (hyper), the access log, signals and
//! graceful shutdown.

use std::{convert::Infallible, future::Future, io, sync::Arc, time::Duration, time::Instant};

use hyper::{
    Request, Response, body::Body as _, body::Incoming, server::conn::http1, service::service_fn,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use telemetry::access::{AccessLog, Entry};
use tokio::{
    net::TcpListener,
    signal::unix::{SignalKind, signal},
};

use crate::{
    app::{App, Body},
    bundle::{Bundle, BundleError},
    config::Settings,
    workers::{self, Workers},
};
#[cfg(debug_assertions)]
use crate::{config::DevSettings, live_reload::LiveReload};

/// After a signal, connections get this long to finish what they are sending; inside
/// Kubernetes' default 30 s grace period.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Request head size limit; a browser's, cookies included, is a few KiB.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// A client that has not sent its request head by then is dropped (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("API_BASE_URL: its origin cannot go in a header: {0}")]
    Header(#[from] hyper::header::InvalidHeaderValue),
    #[error("WEB_HOST/WEB_PORT: cannot listen on {addr}")]
    Bind { addr: String, source: io::Error },
    #[error("installing the signal handlers")]
    Signals(#[source] io::Error),
    #[error("starting the worker threads")]
    Workers(#[source] io::Error),
}

/// Loads the bundle from `WEB_ROOT` and builds the site.
pub fn build(settings: &Settings) -> Result<App, StartError> {
    let bundle = Bundle::load(&settings.root)?;
    Ok(App::new(bundle, &settings.api_base_url)?)
}

/// The binary's whole life: build, listen on `WEB_HOST:WEB_PORT`, serve until SIGTERM or
/// SIGINT, drain, return. Debug builds take the dev switches too.
pub async fn run(
    settings: Settings,
    access_log: Option<AccessLog>,
    #[cfg(debug_assertions)] dev: DevSettings,
) -> Result<(), StartError> {
    let app = build(&settings)?.with_access_log(access_log);
    #[cfg(debug_assertions)]
    let app = if dev.live_reload {
        let live_reload = LiveReload::new();
        tracing::info!(
            boot_id = live_reload.boot_id(),
            "live reload on (WEB_DEV_RELOAD=1): the page reloads when this server restarts"
        );
        app.with_live_reload(live_reload)
    } else {
        app
    };
    let addr = format!("{}:{}", settings.host, settings.port);
    let bind_error = |source| StartError::Bind {
        addr: addr.clone(),
        source,
    };
    let listeners =
        workers::bind(&settings.host, settings.port, workers::count()).map_err(bind_error)?;
    let local = listeners[0].local_addr().map_err(bind_error)?;
    let stop = shutdown_signal()?;
    let app = Arc::new(app);
    let running = Workers::start(listeners, &app).map_err(StartError::Workers)?;
    tracing::info!(
        addr = %local,
        root = %settings.root.display(),
        files = app.bundle().len(),
        bytes = app.bundle().bytes(),
        api_base_url = settings.api_base_url.as_str(),
        workers = workers::count(),
        "listening"
    );
    stop.await;
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves at the first SIGTERM or SIGINT. The handlers are installed now, not at the
/// first poll, so a signal that arrives early is not lost.
pub fn shutdown_signal() -> Result<impl Future<Output = ()>, StartError> {
    let mut term = signal(SignalKind::terminate()).map_err(StartError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(StartError::Signals)?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down: draining connections");
    })
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets open
/// connections finish their current response (idle keep-alive ones close at once), and
/// returns within [`DRAIN_TIMEOUT`]. For the binary, tests and `cargo xtask dev`.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: pause rather than spin; the queue waits.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Responses are written whole; don't let Nagle hold back their last segment.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            std::future::ready(Ok::<_, Infallible>(handle(&app, &req)))
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // Resets, timeouts, garbage: the client's problem, not worth a warning.
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!(timeout = ?DRAIN_TIMEOUT, "connections still open after the drain timeout");
        }
    }
}

/// Answers one request and writes its access-log line.
fn handle(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let res = app.respond(req);
    if let Some(log) = app.access_log() {
        log.record(&Entry {
            request_id: None,
            method: req.method().as_str(),
            path: req.uri().path(),
            status: res.status().as_u16(),
            bytes: res.body().size_hint().exact(),
            latency: started.elapsed(),
        });
    }
    res
}

//! Sockets: the accept loop, HTTP/1.1 connections (hyper), the access log, and graceful
//! shutdown at a signal.

use std::{convert::Infallible, future::Future, io, sync::Arc, time::Duration, time::Instant};

use hyper::{
    Request, Response,
    body::Body as _,
    body::Incoming,
    header::{HeaderName, HeaderValue},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use telemetry::{
    access::{AccessLog, Entry},
    request_id,
    shutdown::{SignalError, shutdown_signal},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError},
};

#[cfg(feature = "live-reload")]
use crate::live_reload::{DevSettings, LiveReload};
use crate::{
    app::{App, Body},
    bundle::{Bundle, BundleError},
    config::{ConfigError, Limits, Settings},
    request_span::RequestSpan,
    workers::{self, Workers},
};

/// After a signal, connections get this long to finish what they are sending; inside
/// Kubernetes' default 30 s grace period.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Request head size limit, and so the most input a connection buffers (hyper reads no
/// further): a browser's head is well under 2 KiB, and this site sets no cookies. hyper's
/// minimum is 8 KiB.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// A client that has not sent its request head by then is dropped (slowloris). hyper also
/// starts it when a keep-alive connection goes idle, so it is the idle timeout too: a
/// page's assets load in one burst, and an idle connection holds a slot of the cap.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a worker may warn that the connection cap is reached.
const CAP_WARNING_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("API_BASE_URL: its origin cannot go in a header: {0}")]
    Header(#[from] hyper::header::InvalidHeaderValue),
    #[error("WEB_HOST/WEB_PORT: cannot listen on {addr}")]
    Bind { addr: String, source: io::Error },
    #[error(transparent)]
    Signals(#[from] SignalError),
    #[error("starting the worker threads")]
    Workers(#[source] io::Error),
}

/// Loads the bundle from `WEB_ROOT` and builds the site.
pub fn build(settings: &Settings) -> Result<App, StartError> {
    let bundle = Bundle::load(&settings.root)?;
    Ok(App::new(bundle, &settings.api_base_url)?)
}

/// The binary's whole life: build, listen on `WEB_HOST:WEB_PORT`, serve until SIGTERM or
/// SIGINT, drain, return. Reads [`Limits`] (and, with the `live-reload` feature,
/// `WEB_DEV_RELOAD`) itself.
pub async fn run(settings: Settings, access_log: Option<AccessLog>) -> Result<(), StartError> {
    let limits = Limits::load()?;
    let app = build(&settings)?.with_access_log(access_log);
    #[cfg(feature = "live-reload")]
    let app = if DevSettings::load()?.live_reload {
        let live_reload = LiveReload::new().with_root(&settings.root);
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
    let stop = shutdown_signal("connections")?;
    let app = Arc::new(app);
    let cap = ConnectionCap::new(limits.max_connections);
    let running = Workers::start(listeners, &app, &cap).map_err(StartError::Workers)?;
    tracing::info!(
        addr = %local,
        root = %settings.root.display(),
        files = app.bundle().len(),
        bytes = app.bundle().bytes(),
        api_base_url = settings.api_base_url.as_str(),
        workers = workers::count(),
        max_connections = limits.max_connections,
        "listening"
    );
    stop.await;
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// At most so many connections open at once, shared by every worker of the process (a
/// tokio semaphore works across their runtimes): memory is then bounded by the cap times
/// what one connection may buffer, whatever clients do.
///
/// Once every slot is taken the workers stop accepting (each keeps the one connection it
/// accepted last, unread, until a slot frees) rather than accept and close: the excess
/// waits in the kernel's listen queue, whose memory is not ours and whose length is
/// bounded (past it the kernel drops SYNs and clients retry); a legitimate client there is
/// served late rather than reset; a flood cannot drive an accept/close loop; and a load
/// balancer's connect timeout moves on to a replica with room. The header read timeout
/// frees the slots that slow clients hold.
#[derive(Debug, Clone)]
pub struct ConnectionCap {
    slots: Arc<Semaphore>,
    max: usize,
}

impl ConnectionCap {
    /// `max` is clamped to 1 ..= what a semaphore can count.
    pub fn new(max: usize) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

/// [`serve_capped`] with a cap of its own, [`Limits::default`]: for one in-process listener
/// (the tests, the e2e test; the binary and so `cargo xtask dev` go through `run`).
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let cap = ConnectionCap::new(Limits::default().max_connections);
    serve_capped(listener, app, &cap, shutdown).await;
}

/// Serves `app` on `listener`, holding at most `cap`'s connections open (shared with the
/// other listeners using it), until `shutdown` resolves; then stops accepting, lets open
/// connections finish their current response (idle keep-alive ones close at once), and
/// returns within [`DRAIN_TIMEOUT`].
pub async fn serve_capped(
    listener: TcpListener,
    app: Arc<App>,
    cap: &ConnectionCap,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_warning = None;
    loop {
        let (stream, slot) = tokio::select! {
            next = accept(&listener, cap, &mut last_warning) => match next {
                Some(next) => next,
                // Nothing closes the semaphore; if something did, it would mean stop.
                None => break,
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
            // The slot is free again when the connection ends, however it ends.
            let _slot = slot;
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

/// Accepts the next connection, then waits (not reading it) for a slot of `cap`; `None`
/// if the cap was closed. Accepting first gives slots to connections only: a worker
/// waiting on an empty queue holds none that another worker's queue could use. Warns when
/// the cap is reached, at most every [`CAP_WARNING_EVERY`].
async fn accept(
    listener: &TcpListener,
    cap: &ConnectionCap,
    last_warning: &mut Option<Instant>,
) -> Option<(TcpStream, OwnedSemaphorePermit)> {
    let stream = loop {
        match listener.accept().await {
            Ok((stream, _)) => break stream,
            Err(e) => {
                // Out of file descriptors, say: pause rather than spin; the queue waits.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let slot = match cap.slots.clone().try_acquire_owned() {
        Ok(slot) => slot,
        Err(TryAcquireError::Closed) => return None,
        Err(TryAcquireError::NoPermits) => {
            if last_warning.is_none_or(|at| at.elapsed() >= CAP_WARNING_EVERY) {
                *last_warning = Some(Instant::now());
                tracing::warn!(
                    max_connections = cap.max,
                    "connection limit reached (WEB_MAX_CONNECTIONS): new connections wait \
                     in the listen queue until one closes"
                );
            }
            cap.slots.clone().acquire_owned().await.ok()?
        }
    };
    Some((stream, slot))
}

static REQUEST_ID: HeaderName = HeaderName::from_static(request_id::HEADER);

/// Answers one request, in its span, and writes its access-log line; the request's id
/// ([`request_id`]) is echoed in the answer.
fn handle(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let id = request_id::of(req.headers().get(&REQUEST_ID).map(HeaderValue::as_bytes));
    let trace = RequestSpan::start(req, &id);
    let mut res = trace.span.in_scope(|| app.respond(req));
    trace.answered(req, &res);
    if let Some(log) = app.access_log() {
        log.record(&Entry {
            request_id: Some(&id),
            trace_id: Some(&trace.trace_id),
            method: req.method().as_str(),
            path: req.uri().path(),
            status: res.status().as_u16(),
            bytes: res.body().size_hint().exact(),
            latency: started.elapsed(),
        });
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    res
}

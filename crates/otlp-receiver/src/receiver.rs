use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{net::TcpListener, sync::Notify, task::JoinHandle};

use crate::{ReceivedSpan, server, store::Store};

/// What the receiver's tasks share with it.
pub(crate) struct Shared {
    /// False: requests are read and answered, not decoded (a stand-in collector for load).
    pub(crate) keep: bool,
    store: Mutex<Store>,
    pub(crate) requests: AtomicU64,
    pub(crate) arrived: Notify,
}

impl Shared {
    /// The store, even after a panic elsewhere while holding it (it is only ever appended to).
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running receiver on a loopback port; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

const ANY_LOOPBACK_PORT: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

impl Receiver {
    /// Listens on `127.0.0.1` at a free port, on the current tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        Self::bind(ANY_LOOPBACK_PORT).await
    }

    /// Listens on `addr`, on the current tokio runtime.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Self::listen(addr, true, usize::MAX).await
    }

    /// Like [`Receiver::bind`], but keeps only the latest `max_spans` spans, dropping the
    /// oldest: for a long-running session (0 keeps none, and still counts them).
    pub async fn bind_bounded(addr: SocketAddr, max_spans: usize) -> std::io::Result<Self> {
        Self::listen(addr, true, max_spans).await
    }

    /// Like [`Receiver::start`], but answers without decoding or keeping anything, as a
    /// collector elsewhere would cost the sender: for measuring the sender under load.
    pub async fn discarding() -> std::io::Result<Self> {
        Self::discarding_on(ANY_LOOPBACK_PORT).await
    }

    /// [`Receiver::discarding`] on `addr`.
    pub async fn discarding_on(addr: SocketAddr) -> std::io::Result<Self> {
        Self::listen(addr, false, 0).await
    }

    async fn listen(addr: SocketAddr, keep: bool, max_spans: usize) -> std::io::Result<Self> {
        Self::serve(TcpListener::bind(addr).await?, keep, max_spans)
    }

    /// Serves `listener` on the runtime entered (a sync call, so [`crate::Background`] needs
    /// no `block_on`, which would panic inside another runtime).
    pub(crate) fn serve(
        listener: TcpListener,
        keep: bool,
        max_spans: usize,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            keep,
            store: Mutex::new(Store::new(max_spans)),
            requests: AtomicU64::new(0),
            arrived: Notify::new(),
        });
        let task = tokio::spawn(server::accept_forever(listener, shared.clone()));
        Ok(Self { addr, shared, task })
    }

    /// What `OTEL_EXPORTER_OTLP_ENDPOINT` is set to: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Export requests answered so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Every span kept so far (all received, unless bounded), in order of arrival.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.store().all()
    }

    /// Spans ever received, those no longer kept included; never decreases.
    pub fn received(&self) -> u64 {
        self.shared.store().received()
    }

    /// The spans that arrived after the first `seen` (those still kept, in order of arrival),
    /// and how many have arrived so far: pass that back next time to get each span once.
    pub fn spans_after(&self, seen: u64) -> (Vec<ReceivedSpan>, u64) {
        self.shared.store().after(seen)
    }

    /// The spans received so far, once `done` holds for them or `patience` passed.
    pub async fn wait_for(
        &self,
        patience: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let arrived = self.shared.arrived.notified();
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.spans();
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

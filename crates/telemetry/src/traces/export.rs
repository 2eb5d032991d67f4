//! Export: each finished span encoded (OTLP protobuf) into a bounded buffer, one thread
//! sending the buffer in batches over OTLP/HTTP. Every span that does not reach the
//! collector is counted, for `/metrics`.
//!
//! The thread is woken once per full batch (or when one is due), not once per span: a
//! wake-up per span was a context switch per request, and cost traced GETs a third of
//! their throughput on two cores.

use std::{
    cell::RefCell,
    sync::{
        Arc, Condvar, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use super::{
    otlp::{self, Scratch, Spans},
    record::Recorded,
};

/// Spans waiting for the export thread at most; past it, new ones are dropped.
const QUEUE: usize = 4096;
/// Spans that make a batch: this many queued wake the thread, which sends what is queued
/// then (more, when it was busy sending: `QUEUE` at most) in one request.
const BATCH: usize = 512;
/// How long a span may wait for a fuller batch on a quiet server.
const SEND_EVERY: Duration = Duration::from_millis(500);
/// One request to the collector gives up after this (its spans are dropped).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

static DROPPED: AtomicU64 = AtomicU64::new(0);
static EXPORTED: AtomicU64 = AtomicU64::new(0);

/// Spans that never reached the collector: the buffer was full, or their batch failed.
pub fn dropped_spans() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Spans the collector accepted.
pub fn exported_spans() -> u64 {
    EXPORTED.load(Ordering::Relaxed)
}

fn count_dropped(spans: usize) {
    DROPPED.fetch_add(spans as u64, Ordering::Relaxed);
}

/// What the request threads hand the export thread.
#[derive(Default)]
struct Pending {
    spans: Spans,
    /// Send what is pending, then end.
    shutdown: bool,
}

impl Pending {
    /// Whether the export thread has something to do before its batch is due.
    fn urgent(&self) -> bool {
        self.spans.count >= BATCH || self.shutdown
    }
}

/// What the recording layer and the export thread share.
#[derive(Default)]
pub(crate) struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes what is pending, then wakes the export thread.
    fn urge(&self, change: impl FnOnce(&mut Pending)) {
        change(&mut self.lock());
        self.wake.notify_one();
    }

    /// Waits until something is urgent or the batch is due, and takes what is pending,
    /// leaving `spare` (emptied, its room kept: no allocation per batch) in its place.
    fn take_when_due(&self, spare: Spans) -> Pending {
        let due = Instant::now() + SEND_EVERY;
        let mut pending = self.lock();
        while !pending.urgent() {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            pending = self
                .wake
                .wait_timeout(pending, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let spans = std::mem::replace(&mut pending.spans, spare);
        Pending {
            spans,
            shutdown: pending.shutdown,
        }
    }

    /// Queues a finished span, encoded here, on the thread that closed it (which frees
    /// what it allocated, faster than another thread would); drops it (counted) when the
    /// queue is full.
    pub(crate) fn push(&self, span: Recorded) {
        thread_local! {
            static SCRATCH: RefCell<Scratch> = RefCell::default();
        }
        let queue = |scratch: &mut Scratch| {
            scratch.encode(&span);
            self.queue(scratch);
        };
        // A span closed as its thread ends finds no scratch: it gets one of its own.
        let queued = SCRATCH.try_with(|scratch| {
            scratch
                .try_borrow_mut()
                .map(|mut scratch| queue(&mut scratch))
        });
        if !matches!(queued, Ok(Ok(()))) {
            queue(&mut Scratch::default());
        }
    }

    fn queue(&self, encoded: &Scratch) {
        let mut pending = self.lock();
        if pending.spans.count >= QUEUE || pending.shutdown {
            drop(pending);
            count_dropped(1);
            return;
        }
        pending.spans.push(encoded);
        let full = pending.spans.count == BATCH;
        drop(pending);
        if full {
            self.wake.notify_one();
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

/// The export thread, sending what the layer queues in [`Shared`].
#[derive(Debug)]
pub(crate) struct Exporting {
    pub(crate) shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl Exporting {
    /// Starts the export thread, which sends `service`'s spans to `url` (an OTLP/HTTP
    /// `/v1/traces`).
    pub(crate) fn start(url: String, service: String) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let pending = shared.clone();
        let worker = std::thread::Builder::new()
            .name("span-export".into())
            .spawn(move || {
                let collector = Collector {
                    agent: ureq::Agent::config_builder()
                        .timeout_global(Some(EXPORT_TIMEOUT))
                        .build()
                        .into(),
                    url,
                    encoder: otlp::Encoder::new(&service),
                    failing: false,
                };
                collector.send_until_shutdown(&pending);
            })?;
        Ok(Self {
            shared,
            worker: Some(worker),
        })
    }

    /// Sends what is queued and stops the thread, waiting `timeout` at most: a collector
    /// that hangs leaves the thread, and its spans, behind.
    pub(crate) fn shutdown(&mut self, timeout: Duration) {
        let Some(worker) = self.worker.take() else {
            return;
        };
        let deadline = Instant::now() + timeout;
        self.shared.urge(|pending| pending.shutdown = true);
        while !worker.is_finished() {
            if Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = worker.join();
    }
}

/// Where the spans go.
struct Collector {
    agent: ureq::Agent,
    url: String,
    encoder: otlp::Encoder,
    /// Whether the last batch failed: failing is logged when it starts and stops.
    failing: bool,
}

impl Collector {
    /// Sends what is pending whenever a batch is full or due, until shutdown.
    fn send_until_shutdown(mut self, shared: &Shared) {
        let mut spare = Spans::default();
        loop {
            let Pending {
                mut spans,
                shutdown,
            } = shared.take_when_due(std::mem::take(&mut spare));
            if spans.count > 0 {
                self.send(&spans);
            }
            if shutdown {
                return;
            }
            spans.clear();
            spare = spans;
        }
    }

    /// Sends `batch`, counting the outcome.
    fn send(&mut self, batch: &Spans) {
        let count = batch.count;
        let sent = self
            .agent
            .post(&self.url)
            .content_type("application/x-protobuf")
            .send(self.encoder.encode(batch))
            // Read to the end, so the connection is kept for the next batch.
            .and_then(|mut response| response.body_mut().read_to_vec());
        match sent {
            Ok(_) => {
                EXPORTED.fetch_add(count as u64, Ordering::Relaxed);
                if std::mem::take(&mut self.failing) {
                    tracing::info!("traces: the collector takes spans again");
                }
            }
            Err(e) => {
                count_dropped(count);
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::warn!(error = %e, "traces: the collector refused spans; dropping them");
                }
            }
        }
    }
}

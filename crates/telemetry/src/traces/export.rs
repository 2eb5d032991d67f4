//! The span processor: finished spans into a bounded buffer, one thread sending them in
//! batches. The SDK's `BatchSpanProcessor` does the same but keeps its drops to itself;
//! here every span that does not reach the collector is counted, for `/metrics`.
//!
//! The thread is woken once per full batch (or when one is due), not once per span: a
//! wake-up per span was a context switch per request, and cost traced GETs a third of
//! their throughput on two cores.

use std::{
    sync::{
        Arc, Condvar, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
        mpsc::{self, SyncSender},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use opentelemetry::Context;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::{
    Resource,
    error::{OTelSdkError, OTelSdkResult},
    trace::{Span, SpanData, SpanExporter as _, SpanProcessor},
};

/// Spans waiting for the export thread at most; past it, new ones are dropped.
const QUEUE: usize = 4096;
/// Spans per request to the collector at most; a full batch wakes the thread.
const MAX_BATCH: usize = 512;
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
    spans: Vec<SpanData>,
    /// Callers of `force_flush`, answered once what was pending with them is sent.
    flushes: Vec<SyncSender<()>>,
    /// What the spans are of (`service.name`), from the provider before any span.
    resource: Option<Resource>,
    /// Send what is pending, then end.
    shutdown: bool,
}

impl Pending {
    /// Whether the export thread has something to do before its batch is due.
    fn urgent(&self) -> bool {
        self.spans.len() >= MAX_BATCH
            || !self.flushes.is_empty()
            || self.resource.is_some()
            || self.shutdown
    }
}

#[derive(Default)]
struct Shared {
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

    /// Waits until something is urgent or the batch is due, and takes what is pending.
    fn take_when_due(&self) -> Pending {
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
        let spans = std::mem::replace(&mut pending.spans, Vec::with_capacity(MAX_BATCH));
        Pending {
            spans,
            flushes: std::mem::take(&mut pending.flushes),
            resource: pending.resource.take(),
            shutdown: pending.shutdown,
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

#[derive(Debug)]
pub(crate) struct Exporting {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Exporting {
    /// Starts the export thread, which sends to `url` (an OTLP/HTTP `/v1/traces`).
    pub(crate) fn start(url: String) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let pending = shared.clone();
        let worker = std::thread::Builder::new()
            .name("span-export".into())
            // The HTTP client is made on its own thread: its blocking flavour may not be
            // made or dropped on an async runtime's thread.
            .spawn(move || {
                let mut exporter = exporter(url)
                    .inspect_err(|e| {
                        tracing::error!(error = %e, "traces: no exporter, spans are dropped");
                    })
                    .ok();
                send_until_shutdown(exporter.as_mut(), &pending);
            })?;
        Ok(Self {
            shared,
            worker: Mutex::new(Some(worker)),
        })
    }
}

fn exporter(url: String) -> Result<SpanExporter, opentelemetry_otlp::ExporterBuildError> {
    SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
}

/// Sends what is pending whenever a batch is full or due, until shutdown; without an
/// exporter, drops it (counted).
fn send_until_shutdown(mut exporter: Option<&mut SpanExporter>, shared: &Shared) {
    let mut failing = false;
    loop {
        let Pending {
            mut spans,
            flushes,
            resource,
            shutdown,
        } = shared.take_when_due();
        match exporter.as_deref_mut() {
            Some(exporter) => {
                if let Some(resource) = resource {
                    exporter.set_resource(&resource);
                }
                while !spans.is_empty() {
                    let rest = spans.split_off(spans.len().min(MAX_BATCH));
                    send(exporter, std::mem::replace(&mut spans, rest), &mut failing);
                }
            }
            None => count_dropped(spans.len()),
        }
        for done in flushes {
            let _ = done.send(());
        }
        if shutdown {
            if let Some(exporter) = exporter {
                let _ = exporter.shutdown();
            }
            return;
        }
    }
}

/// Sends `batch`, counting the outcome; logs when export starts or stops failing, not once
/// per batch.
fn send(exporter: &SpanExporter, batch: Vec<SpanData>, failing: &mut bool) {
    let count = batch.len();
    match futures_executor::block_on(exporter.export(batch)) {
        Ok(()) => {
            EXPORTED.fetch_add(count as u64, Ordering::Relaxed);
            if std::mem::take(failing) {
                tracing::info!("traces: the collector takes spans again");
            }
        }
        Err(e) => {
            count_dropped(count);
            if !std::mem::replace(failing, true) {
                tracing::warn!(error = %e, "traces: the collector refused spans; dropping them");
            }
        }
    }
}

impl SpanProcessor for Exporting {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let mut pending = self.shared.lock();
        if pending.spans.len() >= QUEUE || pending.shutdown {
            drop(pending);
            count_dropped(1);
            return;
        }
        pending.spans.push(span);
        let full = pending.spans.len() == MAX_BATCH;
        drop(pending);
        if full {
            self.shared.wake.notify_one();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let patience = EXPORT_TIMEOUT * 2;
        let (done, flushed) = mpsc::sync_channel(1);
        self.shared.urge(|pending| pending.flushes.push(done));
        flushed
            .recv_timeout(patience)
            .map_err(|_| OTelSdkError::Timeout(patience))
    }

    fn set_resource(&mut self, resource: &Resource) {
        let resource = resource.clone();
        self.shared
            .urge(|pending| pending.resource = Some(resource));
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(worker) = worker else {
            return Err(OTelSdkError::AlreadyShutdown);
        };
        let deadline = Instant::now() + timeout;
        self.shared.urge(|pending| pending.shutdown = true);
        while !worker.is_finished() {
            if Instant::now() >= deadline {
                // A collector that hangs: leave the thread, and its spans, behind.
                return Err(OTelSdkError::Timeout(timeout));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = worker.join();
        Ok(())
    }
}

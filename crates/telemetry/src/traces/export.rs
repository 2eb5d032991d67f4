//! The span processor: finished spans into a bounded queue, one thread sending them in
//! batches. The SDK's `BatchSpanProcessor` does the same but keeps its drops to itself;
//! here every span that does not reach the collector is counted, for `/metrics`.

use std::{
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
        mpsc::{self, RecvTimeoutError, SyncSender, TrySendError},
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
/// Spans per request to the collector at most.
const MAX_BATCH: usize = 512;
/// How long a span may wait for a fuller batch on a quiet server.
const SEND_EVERY: Duration = Duration::from_millis(500);
/// One request to the collector gives up after this (its spans are dropped).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

static DROPPED: AtomicU64 = AtomicU64::new(0);
static EXPORTED: AtomicU64 = AtomicU64::new(0);

/// Spans that never reached the collector: the queue was full, or their batch failed.
pub fn dropped_spans() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Spans the collector accepted.
pub fn exported_spans() -> u64 {
    EXPORTED.load(Ordering::Relaxed)
}

enum Message {
    Span(Box<SpanData>),
    /// Send what is queued, then answer.
    Flush(SyncSender<()>),
    /// Send what is queued, then end.
    Shutdown,
    /// What the spans are of (`service.name`), from the provider before any span.
    Resource(Box<Resource>),
}

#[derive(Debug)]
pub(crate) struct Exporting {
    queue: SyncSender<Message>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

impl Exporting {
    /// Starts the export thread, which sends to `url` (an OTLP/HTTP `/v1/traces`).
    pub(crate) fn start(url: String) -> std::io::Result<Self> {
        let (queue, spans) = mpsc::sync_channel(QUEUE);
        let worker = std::thread::Builder::new()
            .name("span-export".into())
            // The HTTP client is made on its own thread: its blocking flavour may not be
            // made or dropped on an async runtime's thread.
            .spawn(move || match exporter(url) {
                Ok(mut exporter) => send_forever(&mut exporter, &spans),
                Err(e) => {
                    tracing::error!(error = %e, "traces: no exporter, spans are dropped");
                    for message in spans {
                        match message {
                            Message::Span(_) => _ = DROPPED.fetch_add(1, Ordering::Relaxed),
                            Message::Flush(done) => _ = done.send(()),
                            Message::Resource(_) => {}
                            Message::Shutdown => return,
                        }
                    }
                }
            })?;
        Ok(Self {
            queue,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Queues `message` once there is room, for at most `patience`.
    fn send_within(&self, mut message: Message, patience: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + patience;
        loop {
            match self.queue.try_send(message) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(OTelSdkError::AlreadyShutdown),
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    message = back;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TrySendError::Full(_)) => return Err(OTelSdkError::Timeout(patience)),
            }
        }
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

/// Batches until the queue's senders are all gone (shutdown), then sends the rest.
fn send_forever(exporter: &mut SpanExporter, spans: &mpsc::Receiver<Message>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut failing = false;
    let mut due = Instant::now() + SEND_EVERY;
    loop {
        let wait = due.saturating_duration_since(Instant::now());
        match spans.recv_timeout(wait) {
            Ok(Message::Span(span)) => {
                batch.push(*span);
                if batch.len() < MAX_BATCH {
                    continue;
                }
            }
            Ok(Message::Resource(resource)) => {
                exporter.set_resource(&resource);
                continue;
            }
            Ok(Message::Flush(done)) => {
                send(exporter, &mut batch, &mut failing);
                let _ = done.send(());
                continue;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Message::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                send(exporter, &mut batch, &mut failing);
                let _ = exporter.shutdown();
                return;
            }
        }
        send(exporter, &mut batch, &mut failing);
        due = Instant::now() + SEND_EVERY;
    }
}

/// Sends `batch` (emptying it), counting the outcome; logs when export starts or stops
/// failing, not once per batch.
fn send(exporter: &SpanExporter, batch: &mut Vec<SpanData>, failing: &mut bool) {
    if batch.is_empty() {
        return;
    }
    let count = batch.len() as u64;
    let spans = std::mem::replace(batch, Vec::with_capacity(MAX_BATCH));
    match futures_executor::block_on(exporter.export(spans)) {
        Ok(()) => {
            EXPORTED.fetch_add(count, Ordering::Relaxed);
            if std::mem::take(failing) {
                tracing::info!("traces: the collector takes spans again");
            }
        }
        Err(e) => {
            DROPPED.fetch_add(count, Ordering::Relaxed);
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
        if self.queue.try_send(Message::Span(Box::new(span))).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let patience = EXPORT_TIMEOUT * 2;
        let (done, flushed) = mpsc::sync_channel(1);
        self.send_within(Message::Flush(done), patience)?;
        flushed
            .recv_timeout(patience)
            .map_err(|_| OTelSdkError::Timeout(patience))
    }

    fn set_resource(&mut self, resource: &Resource) {
        let _ = self.send_within(
            Message::Resource(Box::new(resource.clone())),
            EXPORT_TIMEOUT,
        );
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
        self.send_within(Message::Shutdown, timeout)?;
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

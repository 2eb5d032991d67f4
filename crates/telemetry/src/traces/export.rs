//! Export: each finished span encoded (OTLP protobuf) on the thread that closed it into
//! that thread's buffer; full buffers handed to one export thread, which sends them in
//! batches over OTLP/HTTP. Every span that does not reach the collector is counted, for
//! `/metrics`.
//!
//! A span costs its thread a lock of the thread's own buffer, which no other thread takes
//! but the export thread once per batch; the lock all threads share is taken once per
//! [`HANDOVER`] spans. One shared queue taken per span cost a traced request more than its
//! encoding, the request threads fighting over it. The export thread is woken once per full
//! batch (or when one is due), not once per span, and takes what the threads hold too, so
//! a quiet thread's spans wait [`SEND_EVERY`] at most.

use std::{
    cell::RefCell,
    sync::{
        Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use super::{
    otlp::{self, Spans},
    record::Recorded,
};

/// Spans handed over and waiting for the export thread at most; past it, new ones are
/// dropped.
const QUEUE: usize = 4096;
/// Spans that make a batch: this many handed over wake the thread, which sends what is
/// waiting then (more, when it was busy sending: `QUEUE` at most) in one request.
const BATCH: usize = 512;
/// Spans a thread buffers before handing them over.
const HANDOVER: usize = 32;
/// Emptied buffers the export thread keeps to leave in the threads' place when it takes
/// what they hold: about one per request thread.
const SPARE: usize = 16;
/// How long a span may wait for a fuller batch on a quiet server.
const SEND_EVERY: Duration = Duration::from_millis(500);
/// Each step of a request to the collector (connect, send, wait for the answer, read it)
/// gives up after this, and the batch's spans are dropped.
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

pub(crate) fn count_dropped(spans: usize) {
    DROPPED.fetch_add(spans as u64, Ordering::Relaxed);
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One thread's spans, until handed over or taken by the export thread.
type Buffer = Mutex<Spans>;

/// What the request threads hand the export thread.
#[derive(Default)]
struct Pending {
    /// Buffers handed over, oldest first.
    full: Vec<Spans>,
    /// Spans in `full`.
    count: usize,
    /// Emptied buffers, given back by the export thread for the next handovers.
    spare: Vec<Spans>,
    /// Send what is pending, then end.
    shutdown: bool,
}

impl Pending {
    /// Whether the export thread has something to do before its batch is due.
    fn urgent(&self) -> bool {
        self.count >= BATCH || self.shutdown
    }
}

/// What the recording layer and the export thread share.
#[derive(Default)]
pub(crate) struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Every thread's buffer, emptied by the export thread into each batch.
    buffers: Mutex<Vec<Weak<Buffer>>>,
}

/// A thread's buffer for one [`Shared`].
struct Local {
    shared: Arc<Shared>,
    buffer: Arc<Buffer>,
}

impl Local {
    /// Encodes `span` straight into the buffer.
    fn push(&mut self, span: &Recorded) {
        let mut buffer = lock(&self.buffer);
        buffer.push(span);
        if buffer.count >= HANDOVER {
            self.shared.hand_over(&mut buffer);
        }
    }
}

/// A thread that ends, or turns to another exporter, hands over what it holds.
impl Drop for Local {
    fn drop(&mut self) {
        let mut buffer = lock(&self.buffer);
        if buffer.count > 0 {
            self.shared.hand_over(&mut buffer);
        }
    }
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

impl Shared {
    /// Changes what is pending, then wakes the export thread.
    fn urge(&self, change: impl FnOnce(&mut Pending)) {
        change(&mut lock(&self.pending));
        self.wake.notify_one();
    }

    /// Queues a finished span, encoded here, on the thread that closed it (which frees
    /// what it allocated, faster than another thread would).
    pub(crate) fn push(self: &Arc<Self>, span: &Recorded) {
        let buffered = LOCAL.try_with(|local| {
            let Ok(mut local) = local.try_borrow_mut() else {
                return false;
            };
            if local
                .as_ref()
                .is_some_and(|local| !Arc::ptr_eq(&local.shared, self))
            {
                *local = None;
            }
            local.get_or_insert_with(|| self.local()).push(span);
            true
        });
        // A span closed as its thread ends finds no buffer: it is handed over alone.
        if !matches!(buffered, Ok(true)) {
            let mut spans = Spans::default();
            spans.push(span);
            self.hand_over(&mut spans);
        }
    }

    /// A buffer for this thread, which the export thread will empty too.
    fn local(self: &Arc<Self>) -> Local {
        let buffer = Arc::new(Buffer::default());
        lock(&self.buffers).push(Arc::downgrade(&buffer));
        Local {
            shared: self.clone(),
            buffer,
        }
    }

    /// Moves `spans` to the queue, leaving an empty buffer; drops them (counted) when the
    /// queue is full. Wakes the export thread when a batch is full.
    fn hand_over(&self, spans: &mut Spans) {
        let mut pending = lock(&self.pending);
        if pending.shutdown || pending.count + spans.count > QUEUE {
            drop(pending);
            count_dropped(spans.count);
            spans.clear();
            return;
        }
        let empty = pending.spare.pop().unwrap_or_default();
        let full = std::mem::replace(spans, empty);
        let before = pending.count;
        pending.count += full.count;
        pending.full.push(full);
        let wake = before < BATCH && pending.count >= BATCH;
        drop(pending);
        if wake {
            self.wake.notify_one();
        }
    }

    /// Waits until something is urgent or the batch is due, then takes what is pending
    /// and what each thread holds into `batch` (empty), leaving a thread one of `spare`
    /// (emptied buffers, their room kept) for what it holds; returns whether to end.
    fn take_when_due(&self, batch: &mut Vec<Spans>, spare: &mut Vec<Spans>) -> bool {
        let due = Instant::now() + SEND_EVERY;
        let mut pending = lock(&self.pending);
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
        std::mem::swap(batch, &mut pending.full);
        pending.count = 0;
        let shutdown = pending.shutdown;
        drop(pending);
        // Buffers of threads that ended are gone (they handed over what they held).
        lock(&self.buffers).retain(|buffer| match buffer.upgrade() {
            Some(buffer) => {
                let mut buffer = lock(&buffer);
                if buffer.count > 0 {
                    let empty = spare.pop().unwrap_or_default();
                    batch.push(std::mem::replace(&mut *buffer, empty));
                }
                true
            }
            None => false,
        });
        shutdown
    }

    /// Empties the buffers of a sent `batch` for reuse: first into `spare`, for the
    /// threads' buffers the next batch takes, then for handovers.
    fn recycle(&self, batch: &mut Vec<Spans>, spare: &mut Vec<Spans>) {
        let mut pending = lock(&self.pending);
        for mut spans in batch.drain(..) {
            spans.clear();
            if spare.len() < SPARE {
                spare.push(spans);
            } else if pending.spare.len() < QUEUE / HANDOVER {
                pending.spare.push(spans);
            }
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
                    // Each step bounded, not the whole call: under a timeout for the
                    // whole call ureq resolves the host on a thread of its own, one per
                    // batch. The host is resolved as the system's resolver does.
                    agent: ureq::Agent::config_builder()
                        .timeout_connect(Some(EXPORT_TIMEOUT))
                        .timeout_send_request(Some(EXPORT_TIMEOUT))
                        .timeout_send_body(Some(EXPORT_TIMEOUT))
                        .timeout_recv_response(Some(EXPORT_TIMEOUT))
                        .timeout_recv_body(Some(EXPORT_TIMEOUT))
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
        let (mut batch, mut spare) = (Vec::new(), Vec::new());
        loop {
            let shutdown = shared.take_when_due(&mut batch, &mut spare);
            if !batch.is_empty() {
                self.send(&batch);
            }
            shared.recycle(&mut batch, &mut spare);
            if shutdown {
                return;
            }
        }
    }

    /// Sends `batch`, counting the outcome.
    fn send(&mut self, batch: &[Spans]) {
        let count = batch.iter().map(|spans| spans.count).sum::<usize>();
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, mpsc};

    use opentelemetry::trace::TraceId;

    use super::{HANDOVER, Shared};
    use crate::traces::record::{Kind, Recorded};

    fn push(shared: &Arc<Shared>, spans: usize) {
        for _ in 0..spans {
            let span = Recorded::start(TraceId::from(1), None, "test", Kind::Internal, Vec::new());
            shared.push(&span);
        }
    }

    /// A thread that ended handed over what it held; one still running holds fewer spans
    /// than a handover, which the export thread takes from it when the batch is due.
    #[test]
    fn a_batch_holds_the_spans_of_threads_that_ended_and_of_threads_that_hold_a_few() {
        let shared = Arc::new(Shared::default());
        let ended = shared.clone();
        std::thread::spawn(move || push(&ended, HANDOVER + 8))
            .join()
            .expect("a thread that pushes");
        let (pushed, pushed_rx) = mpsc::channel();
        let (end, end_rx) = mpsc::channel::<()>();
        let running = shared.clone();
        let alive = std::thread::spawn(move || {
            push(&running, 3);
            let _ = pushed.send(());
            let _ = end_rx.recv();
        });
        pushed_rx.recv().expect("the spans pushed");
        let mut batch = Vec::new();
        assert!(
            !shared.take_when_due(&mut batch, &mut Vec::new()),
            "not shut down"
        );
        let spans: usize = batch.iter().map(|spans| spans.count).sum();
        assert_eq!(spans, HANDOVER + 8 + 3);
        let _ = end.send(());
        alive.join().expect("the running thread ends");
    }
}

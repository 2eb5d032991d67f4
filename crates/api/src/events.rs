//! `GET /randoms/events`: a server-sent event stream that tells the page when the latest
//! items changed, fed by the `randoms_changed` notifications the cache listener receives
//! ([`crate::latest`]), so a write from anywhere (another replica, a direct INSERT) reaches
//! every open page.
//!
//! Events carry no items: the page refetches `GET /randoms`, which is ETag'd and cached per
//! replica, and a burst of writes makes at most one event per [`MIN_GAP`]. Each replica
//! serves its own subscribers, at most `API_MAX_STREAMS` of them; a heartbeat comment keeps
//! proxies from cutting an idle stream and finds clients that left. Every stream ends the
//! moment shutdown begins: an open stream must not hold a rollout for its grace period.

use std::{
    convert::Infallible,
    sync::{Arc, OnceLock},
    time::Duration,
};

use actix_web::web::Bytes;
use futures_util::Stream;
use prometheus::IntGauge;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    time::{Instant, sleep_until},
};

use crate::error::ApiError;

/// The closest two `changed` events on one stream may follow each other.
pub const MIN_GAP: Duration = Duration::from_millis(200);

/// Sent first: how long an `EventSource` waits before it reconnects by itself.
const OPENING: &[u8] = b"retry: 2000\n: connected\n\n";
const CHANGED: &[u8] = b"event: changed\ndata: {}\n\n";
const HEARTBEAT: &[u8] = b": heartbeat\n\n";

/// That the latest items changed, as a counter each stream waits on: a stream that is
/// behind sees only the latest value, so bursts coalesce and nothing queues up.
#[derive(Clone)]
pub struct Changes(Arc<watch::Sender<u64>>);

impl Default for Changes {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl Changes {
    /// Every open stream sends a `changed` event.
    pub fn announce(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// This replica's event streams: the changes they announce, the bound on how many, and
/// the signal that closes them.
#[derive(Clone)]
pub struct Streams {
    changes: Changes,
    slots: Arc<Semaphore>,
    heartbeat: Duration,
    closing: Arc<watch::Sender<bool>>,
    open: Arc<OnceLock<IntGauge>>,
}

impl Streams {
    pub fn new(changes: Changes, max: usize, heartbeat: Duration) -> Self {
        Self {
            changes,
            slots: Arc::new(Semaphore::new(max)),
            heartbeat,
            closing: Arc::new(watch::Sender::new(false)),
            open: Arc::default(),
        }
    }

    /// Keeps `open` at the number of streams open, for `/metrics`.
    pub fn count_into(&self, open: IntGauge) {
        let _ = self.open.set(open);
    }

    /// Ends every stream now, and refuses new ones.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// A new stream's body: an opening, then `changed` events and heartbeats until the
    /// client leaves or shutdown begins.
    pub fn subscribe(
        &self,
    ) -> Result<impl Stream<Item = Result<Bytes, Infallible>> + use<>, ApiError> {
        if *self.closing.borrow() {
            return Err(ApiError::ShuttingDown);
        }
        let slot = Slot::take(self)?;
        let mut changes = self.changes.0.subscribe();
        // What happened before the page opened the stream, it fetched itself.
        changes.borrow_and_update();
        let subscriber = Subscriber {
            changes,
            closing: self.closing.subscribe(),
            heartbeat: self.heartbeat,
            last: Instant::now(),
            _slot: slot,
        };
        Ok(futures_util::stream::unfold(
            (subscriber, true),
            |(mut subscriber, first)| async move {
                let chunk = if first {
                    OPENING
                } else {
                    subscriber.next().await?
                };
                Some((Ok(Bytes::from_static(chunk)), (subscriber, false)))
            },
        ))
    }
}

/// One of the `API_MAX_STREAMS`, held for the life of a stream.
struct Slot {
    _permit: OwnedSemaphorePermit,
    open: Option<IntGauge>,
}

impl Slot {
    fn take(streams: &Streams) -> Result<Self, ApiError> {
        let permit = streams
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::TooManyStreams)?;
        let open = streams.open.get().cloned();
        if let Some(open) = &open {
            open.inc();
        }
        Ok(Self {
            _permit: permit,
            open,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(open) = &self.open {
            open.dec();
        }
    }
}

struct Subscriber {
    changes: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    heartbeat: Duration,
    /// When the stream last sent anything.
    last: Instant,
    _slot: Slot,
}

enum Next {
    Close,
    Changed,
    Heartbeat,
}

impl Subscriber {
    /// The next chunk to send; None when the stream is to end.
    async fn next(&mut self) -> Option<&'static [u8]> {
        let next = tokio::select! {
            // Closing wins over a change that arrives at the same moment.
            biased;
            _ = self.closing.wait_for(|closing| *closing) => Next::Close,
            changed = self.changes.changed() => match changed {
                Ok(()) => Next::Changed,
                Err(_) => Next::Close,
            },
            () = sleep_until(self.last + self.heartbeat) => Next::Heartbeat,
        };
        let chunk = match next {
            Next::Close => return None,
            Next::Heartbeat => HEARTBEAT,
            Next::Changed => {
                // What arrives during the pause rides on this event.
                sleep_until(self.last + MIN_GAP).await;
                self.changes.borrow_and_update();
                CHANGED
            }
        };
        self.last = Instant::now();
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn streams(max: usize) -> (Changes, Streams) {
        let changes = Changes::default();
        let streams = Streams::new(changes.clone(), max, Duration::from_secs(3600));
        (changes, streams)
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_changes_is_one_event() {
        let (changes, streams) = streams(1);
        let mut stream = Box::pin(streams.subscribe().expect("a slot"));
        assert_eq!(stream.next().await, Some(Ok(Bytes::from_static(OPENING))));
        for _ in 0..5 {
            changes.announce();
        }
        assert_eq!(stream.next().await, Some(Ok(Bytes::from_static(CHANGED))));
        // Nothing more until the next change or heartbeat.
        let next = tokio::time::timeout(Duration::from_secs(60), stream.next()).await;
        assert!(next.is_err(), "{next:?}");
    }

    #[tokio::test]
    async fn slots_are_bounded_and_closing_ends_every_stream() {
        let (_, streams) = streams(1);
        let mut first = Box::pin(streams.subscribe().expect("a slot"));
        assert!(matches!(streams.subscribe(), Err(ApiError::TooManyStreams)));
        first.next().await;
        streams.close();
        assert_eq!(first.next().await, None);
        drop(first);
        assert!(matches!(streams.subscribe(), Err(ApiError::ShuttingDown)));
    }
}

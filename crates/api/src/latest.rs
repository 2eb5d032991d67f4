//! The latest items, cached in each replica, so most `GET /randoms` need not run a query.
//!
//! Correct with any number of replicas, and for writes from anywhere: every write to
//! `randoms` fires a statement trigger (migration V3) that does `NOTIFY randoms_changed`,
//! and each replica holds one connection that `LISTEN`s and drops its copies on every
//! notification. A notification can still be on its way when the next GET arrives, so a
//! copy is served only after a *sync*: an empty query on the listening connection, sent
//! after the GET arrived. PostgreSQL signals listeners while the writing transaction commits
//! (before the writer hears that it committed), and a listening session sends what it was
//! signalled before it answers its next query, so by the time the sync returns, every write
//! acknowledged before the GET has dropped the copies it made stale. Concurrent GETs share
//! one sync, so under load it costs the database a trivial query per batch of GETs rather
//! than a read per request.
//!
//! Nothing is cached unless the listener is connected; losing it drops everything and stops
//! caching until it is back. As a last bound, a copy is served for [`MAX_AGE`] at most.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, OnceLock, PoisonError, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use prometheus::IntCounter;
use tokio::sync::{Notify, oneshot};
use tokio_postgres::{AsyncMessage, Config};

use crate::{events::Changes, http_cache::Answer};

/// The channel the trigger notifies.
pub const CHANNEL: &str = "randoms_changed";
/// The longest a copy is served, whatever the listener says.
pub const MAX_AGE: Duration = Duration::from_secs(2);
/// How often the listening connection is checked when no GET asks for a sync, and the
/// longest a sync may take before the GET reads the database instead.
const PING_EVERY: Duration = Duration::from_secs(1);
/// Reconnection backoff bounds.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The serialized answers of `GET /randoms?limit=N` (with their ETags), by N. Cheap to
/// clone.
#[derive(Clone, Default)]
pub struct LatestCache {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every notification, local write, connect and disconnect: a copy is valid
    /// only for the generation it was read in.
    generation: AtomicU64,
    listening: AtomicBool,
    /// Told of every notification and reconnect, for the event streams.
    changes: Changes,
    copies: RwLock<HashMap<u16, CachedAnswer>>,
    /// GETs waiting for the next sync, and the bell that starts it.
    syncs: Mutex<Vec<oneshot::Sender<bool>>>,
    sync_wanted: Notify,
    /// Hits and misses, for `/metrics`.
    counters: OnceLock<[IntCounter; 2]>,
}

/// One serialized answer, valid only for the generation it was read in.
struct CachedAnswer {
    generation: u64,
    stored: Instant,
    answer: Answer,
}

/// Taken before reading from the database: what is read may be stored only if nothing
/// changed meanwhile.
#[derive(Clone, Copy, Debug)]
pub struct Ticket(u64);

impl LatestCache {
    /// The cached answer for `limit`, if there is one and it is still valid after a sync:
    /// no write acknowledged before this call is missing from it.
    pub async fn fresh(&self, limit: u16) -> Option<Answer> {
        let found = self.lookup(limit).await;
        if let Some([hits, misses]) = self.inner.counters.get() {
            if found.is_some() { hits } else { misses }.inc();
        }
        found
    }

    /// Counts hits and misses of [`fresh`](Self::fresh) from now on.
    pub fn count_into(&self, hits: IntCounter, misses: IntCounter) {
        let _ = self.inner.counters.set([hits, misses]);
    }

    async fn lookup(&self, limit: u16) -> Option<Answer> {
        // Nothing cached: go straight to the database, no sync needed.
        self.get(limit)?;
        if !self.sync().await {
            return None;
        }
        self.get(limit)
    }

    /// Waits for a round trip on the listening connection that starts after this call;
    /// false if there is no listener or it did not answer in time.
    async fn sync(&self) -> bool {
        if !self.is_listening() {
            return false;
        }
        let (done, wait) = oneshot::channel();
        self.inner
            .syncs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(done);
        self.inner.sync_wanted.notify_one();
        let _span = crate::spans::cache_sync();
        matches!(tokio::time::timeout(PING_EVERY, wait).await, Ok(Ok(true)))
    }

    /// The GETs waiting for a sync now; later ones wait for the next.
    fn take_syncs(&self) -> Vec<oneshot::Sender<bool>> {
        std::mem::take(
            &mut *self
                .inner
                .syncs
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The cached answer for `limit` as it stands, if there is a valid one.
    fn get(&self, limit: u16) -> Option<Answer> {
        if !self.inner.listening.load(Ordering::SeqCst) {
            return None;
        }
        let generation = self.inner.generation.load(Ordering::SeqCst);
        let copies = self
            .inner
            .copies
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        copies
            .get(&limit)
            .filter(|c| c.generation == generation && c.stored.elapsed() < MAX_AGE)
            .map(|c| c.answer.clone())
    }

    /// None while not listening: then nothing read now may be kept.
    pub fn ticket(&self) -> Option<Ticket> {
        // Generation first: a connect that completes in between bumps it, voiding the ticket.
        let generation = self.inner.generation.load(Ordering::SeqCst);
        self.inner
            .listening
            .load(Ordering::SeqCst)
            .then_some(Ticket(generation))
    }

    /// Keeps `answer`, read from the database after `ticket` was taken, for `limit`. If
    /// anything changed since, the copy is born stale and never served.
    pub fn put(&self, limit: u16, ticket: Ticket, answer: Answer) {
        if ticket.0 != self.inner.generation.load(Ordering::SeqCst) {
            return;
        }
        let copy = CachedAnswer {
            generation: ticket.0,
            stored: Instant::now(),
            answer,
        };
        self.inner
            .copies
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(limit, copy);
    }

    /// What the event streams announce: every notification, and every (re)connect of the
    /// listener, after which writes made while it was away may be missing from a page.
    pub fn changes(&self) -> Changes {
        self.inner.changes.clone()
    }

    /// A notification: every copy is stale, and every stream says so.
    fn changed(&self) {
        self.invalidate();
        self.inner.changes.announce();
    }

    /// Every copy is stale from now on.
    pub fn invalidate(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn set_listening(&self, listening: bool) {
        self.invalidate();
        self.inner.listening.store(listening, Ordering::SeqCst);
        // A ticket taken while the flag was off is None; one taken before this bump is void.
        self.invalidate();
    }

    pub fn is_listening(&self) -> bool {
        self.inner.listening.load(Ordering::SeqCst)
    }

    /// Runs for the life of the process: keeps a connection listening on [`CHANNEL`],
    /// invalidating on every notification, reconnecting with backoff when it is lost.
    pub async fn listen(self, config: Config) {
        let mut retry = RETRY_MIN;
        loop {
            let started = Instant::now();
            let lost = self.session(&config).await;
            self.set_listening(false);
            if started.elapsed() > RETRY_MAX {
                retry = RETRY_MIN;
            }
            tracing::warn!(
                error = %lost,
                retry_in_ms = retry.as_millis() as u64,
                "cache listener down: GET /randoms reads the database until it is back"
            );
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(RETRY_MAX);
        }
    }

    /// One connection's life; returns why it ended.
    async fn session(&self, config: &Config) -> String {
        let (client, mut connection) = match config.connect(db::connector()).await {
            Ok(pair) => pair,
            Err(e) => return e.to_string(),
        };
        let cache = self.clone();
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        let mut driver = tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(_)) => cache.changed(),
                    Ok(_) => {}
                    Err(e) => return e.to_string(),
                }
            }
            "the server closed the connection".to_owned()
        });
        let listened = async {
            client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
            self.set_listening(true);
            self.inner.changes.announce();
            tracing::info!(channel = CHANNEL, "cache listener up");
            loop {
                // A sync when a GET asks for one, a ping when none has for a while.
                tokio::select! {
                    () = self.inner.sync_wanted.notified() => {}
                    () = tokio::time::sleep(PING_EVERY) => {}
                }
                // Only GETs already waiting ride on this round trip: it starts after them.
                let waiting = self.take_syncs();
                match tokio::time::timeout(PING_EVERY, client.simple_query("")).await {
                    Ok(Ok(_)) => answer(waiting, true),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        return Ok::<_, tokio_postgres::Error>(format!(
                            "no answer to a sync within {PING_EVERY:?}"
                        ));
                    }
                }
            }
        };
        // Whichever ends first: the driver (the connection broke) or a failed LISTEN/ping.
        let why = tokio::select! {
            ended = &mut driver => ended.unwrap_or_else(|e| e.to_string()),
            failed = listened => failed.unwrap_or_else(|e| e.to_string()),
        };
        self.set_listening(false);
        // Those of the failed round trip are dropped with it: they read the database.
        answer(self.take_syncs(), false);
        driver.abort();
        why
    }
}

fn answer(waiting: Vec<oneshot::Sender<bool>>, ok: bool) {
    for done in waiting {
        // A GET that gave up waiting is gone; nothing to tell it.
        let _ = done.send(ok);
    }
}

#[cfg(test)]
mod tests {
    use actix_web::web::Bytes;

    use super::*;

    fn answer(body: &'static [u8]) -> Answer {
        Answer::new(Bytes::from_static(body))
    }

    fn listening() -> LatestCache {
        let cache = LatestCache::default();
        cache.set_listening(true);
        cache
    }

    #[test]
    fn nothing_is_cached_while_not_listening() {
        let cache = LatestCache::default();
        assert!(cache.ticket().is_none());
        let cache = listening();
        let ticket = cache.ticket().expect("listening");
        cache.set_listening(false);
        cache.put(10, ticket, answer(b"[]"));
        assert!(cache.get(10).is_none());
    }

    #[test]
    fn a_copy_is_served_until_something_changes() {
        let cache = listening();
        let ticket = cache.ticket().expect("listening");
        cache.put(10, ticket, answer(b"[1]"));
        let hit = cache.get(10).expect("a copy");
        assert_eq!(
            (&hit.body[..], &hit.etag),
            (&b"[1]"[..], &answer(b"[1]").etag)
        );
        assert!(cache.get(11).is_none());
        cache.invalidate();
        assert!(cache.get(10).is_none());
    }

    #[test]
    fn a_read_overtaken_by_a_write_is_never_served() {
        let cache = listening();
        let ticket = cache.ticket().expect("listening");
        cache.invalidate(); // a write committed while the query ran
        cache.put(10, ticket, answer(b"[old]"));
        assert!(cache.get(10).is_none());
    }
}

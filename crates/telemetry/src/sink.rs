//! The one writer of a server's stdout. Every line, tracing's and the access log's, is
//! appended whole to a shared batch that a background thread writes every [`FLUSH_EVERY`],
//! or sooner once it is big; so lines never interleave, and nothing on a request's path
//! waits for stdout. If stdout stalls (a log pipeline that stopped reading), lines past
//! [`MAX_BATCH`] queued bytes are dropped; if it is broken, the lines written to it are
//! lost. Both are counted ([`Sink::lost`]), never waited for, and never a panic.

use std::{
    io::{self, Write},
    sync::{
        Arc, Condvar, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

/// How long a line may wait in the batch on a quiet server.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A batch this big is written at once instead of waiting for the tick.
const EARLY_FLUSH_BYTES: usize = 64 * 1024;
/// Past this many queued bytes (stdout not keeping up), new lines are dropped.
const MAX_BATCH: usize = 8 * 1024 * 1024;
/// At exit, how long the queued lines may take to reach stdout. A stalled stdout would
/// otherwise keep a stopped server from exiting.
pub(crate) const EXIT_FLUSH: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub(crate) struct Sink {
    state: Mutex<State>,
    /// Wakes the writer thread: a big batch, or the close.
    wake: Condvar,
    /// Tells the guard that the writer thread has written everything.
    done: Condvar,
    /// Lines that never reached the output, since the start.
    lost: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    bytes: Vec<u8>,
    /// Lines dropped for want of room since the writer last warned about it.
    unreported: u64,
    closed: bool,
    finished: bool,
}

impl Sink {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a batch of whole lines: still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `line` (or several, each ending in `\n`), or drops it if the batch is full.
    pub(crate) fn push(&self, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        let mut state = self.lock();
        if state.bytes.len() + line.len() > MAX_BATCH {
            state.unreported += 1;
            drop(state);
            self.lost.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.bytes.extend_from_slice(line);
        if state.bytes.len() >= EARLY_FLUSH_BYTES {
            self.wake.notify_one();
        }
    }

    /// Lines dropped or lost so far.
    pub(crate) fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

/// What tracing-subscriber writes through: each event is one `write_all` of whole lines,
/// which always succeeds, so the subscriber never has an error to report.
impl Write for &Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Keep it until exit: dropping it writes what is still queued (for at most `limit`) and
/// stops the thread.
#[derive(Debug)]
pub(crate) struct FlushGuard {
    sink: Arc<Sink>,
    thread: Option<JoinHandle<()>>,
    limit: Duration,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        let mut state = self.sink.lock();
        state.closed = true;
        self.sink.wake.notify_one();
        let finished = self
            .sink
            .done
            .wait_timeout_while(state, self.limit, |state| !state.finished)
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .finished;
        // Unfinished means stuck writing to a stalled stdout: leave it to the exit.
        if let Some(thread) = self.thread.take().filter(|_| finished) {
            let _ = thread.join();
        }
    }
}

/// A sink and its writer thread, writing to `out`.
pub(crate) fn spawn(
    out: impl Write + Send + 'static,
    exit_limit: Duration,
) -> io::Result<(Arc<Sink>, FlushGuard)> {
    let sink = Arc::new(Sink::default());
    let writer = sink.clone();
    let mut out = out;
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_batches(&writer, &mut out))?;
    let guard = FlushGuard {
        sink: sink.clone(),
        thread: Some(thread),
        limit: exit_limit,
    };
    Ok((sink, guard))
}

/// The writer thread: every tick (or when woken by a big batch, or at close), swap the batch
/// out and write it outside the lock; after the close, until nothing is left.
fn write_batches(sink: &Sink, out: &mut impl Write) {
    let mut spare = Vec::new();
    loop {
        let (closed, dropped) = {
            let mut state = sink.lock();
            if !state.closed && state.bytes.len() < EARLY_FLUSH_BYTES {
                state = sink
                    .wake
                    .wait_timeout(state, FLUSH_EVERY)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut state.bytes, &mut spare);
            (state.closed, std::mem::take(&mut state.unreported))
        };
        if dropped > 0 {
            // Queued like any line, so it reaches stdout once stdout drains again.
            tracing::warn!(dropped, "stdout is not keeping up: log lines dropped");
        }
        let lost = write_lines(out, &spare);
        sink.lost.fetch_add(lost, Ordering::Relaxed);
        let idle = spare.is_empty();
        spare.clear();
        if closed && idle {
            break;
        }
    }
    sink.lock().finished = true;
    sink.done.notify_all();
}

/// Writes `bytes` and returns how many lines did not get out (a broken stdout: there is
/// nowhere to report it, and serving goes on).
fn write_lines(out: &mut impl Write, bytes: &[u8]) -> u64 {
    let mut rest = bytes;
    while !rest.is_empty() {
        match out.write(rest) {
            Ok(0) => break,
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = out.flush();
    // A line cut short counts as lost: it ends in the last `\n` of `rest`.
    rest.iter().filter(|&&b| b == b'\n').count() as u64
}

/// A `Write` into a shared buffer, for the tests of this crate to read what was written.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Shared(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Shared {
    pub(crate) fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8(bytes).expect("utf-8")
    }
}

#[cfg(test)]
impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn every_line_is_written_whole_and_in_order_before_the_guard_returns() {
        let out = Shared::default();
        let (sink, guard) = spawn(out.clone(), EXIT_FLUSH).expect("thread");
        for i in 0..10_000 {
            sink.push(format!("line {i}\n").as_bytes());
        }
        drop(guard);
        let text = String::from_utf8(out.0.lock().expect("buffer").clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10_000);
        assert!(
            lines
                .iter()
                .enumerate()
                .all(|(i, l)| *l == format!("line {i}"))
        );
        assert_eq!(sink.lost(), 0);
    }

    #[test]
    fn past_the_bound_lines_are_dropped_and_counted() {
        let sink = Sink::default();
        let line = [&[b'x'; 1023][..], b"\n"].concat();
        for _ in 0..(MAX_BATCH / line.len() + 10) {
            sink.push(&line);
        }
        assert_eq!(sink.lost(), 10);
        assert!(sink.lock().bytes.len() <= MAX_BATCH);
        assert_eq!(sink.lock().unreported, 10);
    }

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn lines_written_to_a_broken_output_are_counted_as_lost() {
        assert_eq!(write_lines(&mut Broken, b"a\nb\nc\n"), 3);
        let (sink, guard) = spawn(Broken, EXIT_FLUSH).expect("thread");
        sink.push(b"one\ntwo\n");
        drop(guard);
        assert_eq!(sink.lost(), 2);
    }

    /// Blocks every write until the test ends: a stdout nobody reads.
    struct Stalled(Mutex<mpsc::Receiver<()>>);

    impl Write for Stalled {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            let _ = self.0.lock().expect("receiver").recv();
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_output_neither_blocks_pushes_nor_the_exit() {
        let (_unblock, stalled) = mpsc::channel();
        let (sink, guard) =
            spawn(Stalled(Mutex::new(stalled)), Duration::from_millis(100)).expect("thread");
        let (done_tx, done) = mpsc::channel();
        std::thread::spawn(move || {
            sink.push(b"stuck in the write\n");
            std::thread::sleep(FLUSH_EVERY * 3);
            let line = [&[b'x'; 127][..], b"\n"].concat();
            for _ in 0..100_000 {
                sink.push(&line);
            }
            drop(guard);
            let _ = done_tx.send(sink.lost());
        });
        // A bound that only a hang would miss.
        let lost = done
            .recv_timeout(Duration::from_secs(30))
            .expect("pushes and the guard returned");
        assert!(lost > 0, "the batch filled up and dropped lines");
    }
}

//! One line per request, on the hot path: formatted and batched here rather than by
//! tracing-subscriber.
//!
//! Measured with wrk on `index.html` (see docs/performance.md), going through tracing cost
//! about a quarter of the server's throughput: its formatter, then a channel send and a
//! wake-up of the writer thread for every line. Here a line is formatted in the same shapes
//! as the rest of the log (text, or one JSON object with `LOG_FORMAT=json`) into a reused
//! per-thread buffer and appended to a shared batch, which a background thread writes to
//! stdout every [`FLUSH_EVERY`], or sooner once it is big. Lines are written whole, so they
//! never interleave with the other log lines; if stdout stalls, lines past [`MAX_BATCH`]
//! are dropped rather than stalling responses or growing memory.

use std::{
    cell::RefCell,
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread::JoinHandle,
    time::Duration,
};

use chrono::{SecondsFormat, Utc};

use crate::config::LogFormat;

/// How long a line may wait in the batch on a quiet server.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A batch this big is written at once instead of waiting for the tick.
const EARLY_FLUSH_BYTES: usize = 64 * 1024;
/// Past this many queued bytes (stdout not keeping up), new lines are dropped.
const MAX_BATCH: usize = 8 * 1024 * 1024;

/// The `target` of access lines, as `RUST_LOG` names it (`web_server::access=off`).
pub const TARGET: &str = "web_server::access";

/// What one access line says.
#[derive(Debug)]
pub struct Entry<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub bytes: u64,
    pub latency: Duration,
}

/// Writes access lines; cheap to clone.
#[derive(Debug, Clone)]
pub struct AccessLog {
    format: LogFormat,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    batch: Mutex<Batch>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    dropped: u64,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Batch> {
        // A panic while holding the lock leaves a batch of whole lines: still usable.
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Keep it until exit: dropping it writes what is still queued and stops the thread.
#[derive(Debug)]
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

thread_local! {
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(256));
    /// The current second, formatted once per second per thread (`2026-01-02T03:04:05`).
    static SECOND: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
}

/// RFC 3339 in UTC with microseconds, as tracing-subscriber writes it.
fn write_timestamp(line: &mut String) {
    let now = Utc::now();
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != now.timestamp() {
            *second = now.timestamp();
            *text = now.to_rfc3339_opts(SecondsFormat::Secs, true);
            text.pop(); // the `Z`, written after the fraction
        }
        line.push_str(text);
    });
    line.push('.');
    push_padded(line, now.timestamp_subsec_micros(), 6);
    line.push('Z');
}

impl AccessLog {
    /// The log and the guard of its writer thread, which writes to stdout.
    pub fn to_stdout(format: LogFormat) -> std::io::Result<(Self, FlushGuard)> {
        let shared = Arc::new(Shared::default());
        let writer = shared.clone();
        let thread = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_batches(&writer, &mut std::io::stdout()))?;
        Ok((
            Self {
                format,
                shared: shared.clone(),
            },
            FlushGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    pub fn record(&self, entry: &Entry<'_>) {
        LINE.with_borrow_mut(|line| {
            line.clear();
            format_line(self.format, entry, line);
            let mut batch = self.shared.lock();
            if batch.bytes.len() + line.len() > MAX_BATCH {
                batch.dropped += 1;
                return;
            }
            batch.bytes.extend_from_slice(line.as_bytes());
            if batch.bytes.len() >= EARLY_FLUSH_BYTES {
                self.shared.wake.notify_one();
            }
        });
    }
}

/// The writer thread: every tick (or when woken by a big batch, or at close), swap the batch
/// out and write it outside the lock.
fn write_batches(shared: &Shared, out: &mut impl std::io::Write) {
    let mut spare = Vec::new();
    loop {
        let (closed, dropped) = {
            let mut batch = shared.lock();
            if !batch.closed && batch.bytes.len() < EARLY_FLUSH_BYTES {
                batch = shared
                    .wake
                    .wait_timeout(batch, FLUSH_EVERY)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut batch.bytes, &mut spare);
            (batch.closed, std::mem::take(&mut batch.dropped))
        };
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "stdout is not keeping up: access-log lines dropped"
            );
        }
        if !spare.is_empty() {
            // Nowhere to report a broken stdout; serving goes on.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
        }
        if closed {
            return;
        }
    }
}

/// Appends the line for `entry`, newline included. Written piece by piece rather than with
/// `write!`, which costs several times as much on this path.
fn format_line(format: LogFormat, entry: &Entry<'_>, line: &mut String) {
    let mut number = itoa::Buffer::new();
    match format {
        LogFormat::Json => {
            line.push_str(r#"{"timestamp":""#);
            write_timestamp(line);
            line.push_str(r#"","level":"INFO","method":""#);
            line.push_str(entry.method);
            line.push_str(r#"","path":"#);
            if needs_escaping(entry.path) {
                // The path is the only client-chosen text.
                line.push_str(&serde_json::to_string(entry.path).unwrap_or_default());
            } else {
                line.push('"');
                line.push_str(entry.path);
                line.push('"');
            }
            line.push_str(r#","status":"#);
            line.push_str(number.format(entry.status));
            line.push_str(r#","bytes":"#);
            line.push_str(number.format(entry.bytes));
            line.push_str(r#","latency_ms":"#);
            write_millis(line, entry.latency);
            line.push_str(r#","message":"request","target":""#);
            line.push_str(TARGET);
            line.push_str("\"}\n");
        }
        LogFormat::Text => {
            write_timestamp(line);
            line.push_str("  INFO ");
            line.push_str(TARGET);
            line.push_str(": request method=");
            line.push_str(entry.method);
            line.push_str(" path=");
            if needs_escaping(entry.path) {
                line.extend(entry.path.escape_debug());
            } else {
                line.push_str(entry.path);
            }
            line.push_str(" status=");
            line.push_str(number.format(entry.status));
            line.push_str(" bytes=");
            line.push_str(number.format(entry.bytes));
            line.push_str(" latency_ms=");
            write_millis(line, entry.latency);
            line.push('\n');
        }
    }
}

/// Anything but printable ASCII other than quote and backslash (hyper lets few through).
fn needs_escaping(text: &str) -> bool {
    !text
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// Milliseconds with microsecond precision, e.g. `0.042` or `1250.000`.
fn write_millis(line: &mut String, latency: Duration) {
    let micros = latency.as_micros();
    line.push_str(itoa::Buffer::new().format(micros / 1000));
    line.push('.');
    push_padded(line, (micros % 1000) as u32, 3);
}

/// `value` in decimal, zero-padded to `width` digits.
fn push_padded(line: &mut String, value: u32, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(value);
    line.extend(std::iter::repeat_n('0', width.saturating_sub(digits.len())));
    line.push_str(digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_thread_writes_every_line_and_stops_at_close() {
        let shared = Arc::new(Shared::default());
        let log = AccessLog {
            format: LogFormat::Json,
            shared: shared.clone(),
        };
        let writer = shared.clone();
        let thread = std::thread::spawn(move || {
            let mut out = Vec::new();
            write_batches(&writer, &mut out);
            out
        });
        for _ in 0..1000 {
            log.record(&entry("/"));
        }
        let guard = FlushGuard {
            shared,
            thread: None,
        };
        drop(guard);
        let out = thread.join().expect("writer thread");
        let out = String::from_utf8(out).expect("utf-8");
        assert_eq!(out.lines().count(), 1000);
        assert!(
            out.lines()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        );
    }

    fn entry(path: &str) -> Entry<'_> {
        Entry {
            method: "GET",
            path,
            status: 404,
            bytes: 10,
            latency: Duration::from_micros(1500),
        }
    }

    #[test]
    fn json_lines_are_one_object_with_the_fields() {
        let mut line = String::new();
        format_line(LogFormat::Json, &entry("/a\"b\\c\n"), &mut line);
        assert!(
            line.ends_with("}\n") && line.matches('\n').count() == 1,
            "{line}"
        );
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(v["path"], "/a\"b\\c\n");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["status"], 404);
        assert_eq!(v["bytes"], 10);
        assert_eq!(v["latency_ms"], 1.5);
        assert!(line.contains(r#""latency_ms":1.500,"#), "{line}");
        assert_eq!(v["target"], TARGET);
        assert_eq!(v["level"], "INFO");
        let ts = v["timestamp"].as_str().expect("timestamp");
        let parsed = chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339");
        assert_eq!(ts.len(), "2026-01-02T03:04:05.123456Z".len(), "{ts}");
        assert!(
            (Utc::now() - parsed.with_timezone(&Utc))
                .num_seconds()
                .abs()
                < 60
        );
    }

    #[test]
    fn text_lines_stay_on_one_line() {
        let mut line = String::new();
        format_line(LogFormat::Text, &entry("/x\ny"), &mut line);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(
            line.contains(" INFO web_server::access: request method=GET path=/x\\ny status=404 bytes=10 latency_ms=1.500\n"),
            "{line}"
        );
    }
}

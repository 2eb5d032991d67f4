//! Access logs: one line per request, on the hot path, formatted and batched here rather
//! than by tracing-subscriber. Used by the API and the static server.
//!
//! Measured with wrk (see docs/performance.md), going through tracing cost about a quarter
//! of the static server's throughput and 30% of the API's cached GETs: its formatter, then
//! (for a non-blocking writer) a channel send and a wake-up of the writer thread per line. Here a line is formatted in the same shapes
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

use crate::LogFormat;

/// How long a line may wait in the batch on a quiet server.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A batch this big is written at once instead of waiting for the tick.
const EARLY_FLUSH_BYTES: usize = 64 * 1024;
/// Past this many queued bytes (stdout not keeping up), new lines are dropped.
const MAX_BATCH: usize = 8 * 1024 * 1024;

/// What one access line says; absent fields are left out of the line.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The caller's or a generated id, to follow a request across services.
    pub request_id: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    /// Body bytes sent, when known.
    pub bytes: Option<u64>,
    pub latency: Duration,
}

/// Writes access lines; cheap to clone.
#[derive(Debug, Clone)]
pub struct AccessLog {
    format: LogFormat,
    /// The `target` field, as `RUST_LOG` names it (`web_server::access=off`).
    target: &'static str,
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
    pub fn to_stdout(
        format: LogFormat,
        target: &'static str,
    ) -> std::io::Result<(Self, FlushGuard)> {
        let shared = Arc::new(Shared::default());
        let writer = shared.clone();
        let thread = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_batches(&writer, &mut std::io::stdout()))?;
        Ok((
            Self {
                format,
                target,
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
            format_line(self.format, self.target, entry, line);
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
fn format_line(format: LogFormat, target: &str, entry: &Entry<'_>, line: &mut String) {
    let mut number = itoa::Buffer::new();
    let mut fields = Fields { format, line };
    fields.start(target);
    if let Some(id) = entry.request_id {
        fields.text("request_id", id);
    }
    fields.bare("method", entry.method, true);
    fields.text("path", entry.path);
    fields.bare("status", number.format(entry.status), false);
    if let Some(bytes) = entry.bytes {
        fields.bare("bytes", number.format(bytes), false);
    }
    fields.key("latency_ms");
    write_millis(fields.line, entry.latency);
    fields.end(target);
}

/// The two shapes of a line: `<time>  INFO <target>: request k=v …`, or one JSON object with
/// the fields tracing-subscriber's JSON formatter writes.
struct Fields<'a> {
    format: LogFormat,
    line: &'a mut String,
}

impl Fields<'_> {
    fn start(&mut self, target: &str) {
        match self.format {
            LogFormat::Json => {
                self.line.push_str(r#"{"timestamp":""#);
                write_timestamp(self.line);
                self.line.push_str(r#"","level":"INFO""#);
            }
            LogFormat::Text => {
                write_timestamp(self.line);
                self.line.push_str("  INFO ");
                self.line.push_str(target);
                self.line.push_str(": request");
            }
        }
    }

    fn key(&mut self, key: &str) {
        match self.format {
            LogFormat::Json => {
                self.line.push_str(",\"");
                self.line.push_str(key);
                self.line.push_str("\":");
            }
            LogFormat::Text => {
                self.line.push(' ');
                self.line.push_str(key);
                self.line.push('=');
            }
        }
    }

    /// A value we produced (a method, a number): never escaped; quoted in JSON if a string.
    fn bare(&mut self, key: &str, value: &str, string: bool) {
        self.key(key);
        if string && self.format == LogFormat::Json {
            self.line.push('"');
            self.line.push_str(value);
            self.line.push('"');
        } else {
            self.line.push_str(value);
        }
    }

    /// Client-chosen text: quoted and escaped as the format needs.
    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        let plain = !needs_escaping(value);
        match self.format {
            LogFormat::Json if plain => {
                self.line.push('"');
                self.line.push_str(value);
                self.line.push('"');
            }
            LogFormat::Json => self
                .line
                .push_str(&serde_json::to_string(value).unwrap_or_default()),
            LogFormat::Text if plain => self.line.push_str(value),
            LogFormat::Text => self.line.extend(value.escape_debug()),
        }
    }

    fn end(self, target: &str) {
        match self.format {
            LogFormat::Json => {
                self.line.push_str(r#","message":"request","target":""#);
                self.line.push_str(target);
                self.line.push_str("\"}\n");
            }
            LogFormat::Text => self.line.push('\n'),
        }
    }
}

/// Anything but printable ASCII other than quote and backslash.
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
            target: TARGET,
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

    const TARGET: &str = "web_server::access";

    fn entry(path: &str) -> Entry<'_> {
        Entry {
            request_id: None,
            method: "GET",
            path,
            status: 404,
            bytes: Some(10),
            latency: Duration::from_micros(1500),
        }
    }

    #[test]
    fn json_lines_are_one_object_with_the_fields() {
        let mut line = String::new();
        format_line(LogFormat::Json, TARGET, &entry("/a\"b\\c\n"), &mut line);
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
    fn a_request_id_is_a_quoted_field_and_absent_bytes_are_left_out() {
        let mut line = String::new();
        let entry = Entry {
            request_id: Some("a\"b"),
            bytes: None,
            ..entry("/")
        };
        format_line(LogFormat::Json, "api::request", &entry, &mut line);
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(v["request_id"], "a\"b");
        assert_eq!(v["target"], "api::request");
        assert!(v.get("bytes").is_none(), "{line}");
        line.clear();
        format_line(LogFormat::Text, "api::request", &entry, &mut line);
        assert!(
            line.ends_with(
                " INFO api::request: request request_id=a\\\"b method=GET path=/ status=404 \
                 latency_ms=1.500\n"
            ),
            "{line}"
        );
    }

    #[test]
    fn text_lines_stay_on_one_line() {
        let mut line = String::new();
        format_line(LogFormat::Text, TARGET, &entry("/x\ny"), &mut line);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(
            line.contains(" INFO web_server::access: request method=GET path=/x\\ny status=404 bytes=10 latency_ms=1.500\n"),
            "{line}"
        );
    }
}

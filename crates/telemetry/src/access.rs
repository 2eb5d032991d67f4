//! Access logs: one line per request, on the hot path, formatted here rather than by
//! tracing-subscriber. Used by the API and the static server.
//!
//! Measured with wrk (see docs/performance.md), going through tracing cost about a quarter
//! of the static server's throughput and 30% of the API's cached GETs: its formatter, then
//! (for a non-blocking writer) a channel send and a wake-up of the writer thread per line.
//! Here a line is formatted in the same shapes as the rest of the log (text, or one JSON
//! object with `LOG_FORMAT=json`) into a reused per-thread buffer and handed to the
//! process's log writer (`sink`), which writes it whole with the other log lines, and
//! drops it rather than wait if stdout stalls.

use std::{cell::RefCell, sync::Arc, time::Duration};

use chrono::{SecondsFormat, Utc};

use crate::{LogFormat, sink::Sink};

/// What one access line says; absent fields are left out of the line.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The caller's or a generated id, to follow a request across services.
    pub request_id: Option<&'a str>,
    /// The trace the request belongs to (32 hex digits), to find its spans.
    pub trace_id: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    /// Body bytes sent, when known.
    pub bytes: Option<u64>,
    pub latency: Duration,
}

/// Writes access lines; cheap to clone. Made by [`Logs::access_log`](crate::Logs::access_log).
#[derive(Debug, Clone)]
pub struct AccessLog {
    format: LogFormat,
    /// The `target` field, as `RUST_LOG` names it (`web_server::access=off`).
    target: &'static str,
    sink: Arc<Sink>,
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
    pub(crate) fn new(format: LogFormat, target: &'static str, sink: Arc<Sink>) -> Self {
        Self {
            format,
            target,
            sink,
        }
    }

    pub fn record(&self, entry: &Entry<'_>) {
        LINE.with_borrow_mut(|line| {
            line.clear();
            format_line(self.format, self.target, entry, line);
            self.sink.push(line.as_bytes());
        });
    }
}

/// Appends one line with only a level, a target and a message (newline included), in the
/// shape tracing-subscriber gives an event without fields.
pub(crate) fn format_message(
    format: LogFormat,
    level: Level,
    target: &str,
    message: &str,
    line: &mut String,
) {
    let fields = Fields { format, line };
    fields.start(level, target, message).end(target, message);
}

/// The levels these lines are written at, padded as tracing-subscriber pads them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Level {
    Debug,
    Info,
}

impl Level {
    fn text(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => " INFO",
        }
    }
}

/// Appends the line for `entry`, newline included. Written piece by piece rather than with
/// `write!`, which costs several times as much on this path.
fn format_line(format: LogFormat, target: &str, entry: &Entry<'_>, line: &mut String) {
    let mut number = itoa::Buffer::new();
    let mut fields = Fields { format, line }.start(Level::Info, target, "request");
    if let Some(id) = entry.request_id {
        fields.text("request_id", id);
    }
    if let Some(id) = entry.trace_id {
        fields.text("trace_id", id);
    }
    fields.bare("method", entry.method, true);
    fields.text("path", entry.path);
    fields.bare("status", number.format(entry.status), false);
    if let Some(bytes) = entry.bytes {
        fields.bare("bytes", number.format(bytes), false);
    }
    fields.key("latency_ms");
    write_millis(fields.line, entry.latency);
    fields.end(target, "request");
}

/// The two shapes of a line: `<time>  INFO <target>: <message> k=v …`, or one JSON object
/// with the fields tracing-subscriber's JSON formatter writes.
struct Fields<'a> {
    format: LogFormat,
    line: &'a mut String,
}

impl Fields<'_> {
    fn start(self, level: Level, target: &str, message: &str) -> Self {
        match self.format {
            LogFormat::Json => {
                self.line.push_str(r#"{"timestamp":""#);
                write_timestamp(self.line);
                self.line.push_str(r#"","level":""#);
                self.line.push_str(level.text().trim_start());
                self.line.push('"');
            }
            LogFormat::Text => {
                write_timestamp(self.line);
                self.line.push(' ');
                self.line.push_str(level.text());
                self.line.push(' ');
                self.line.push_str(target);
                self.line.push_str(": ");
                // On one line whatever it says.
                for c in message.chars() {
                    if c.is_control() {
                        self.line.extend(c.escape_debug());
                    } else {
                        self.line.push(c);
                    }
                }
            }
        }
        self
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
            LogFormat::Json => push_json_string(self.line, value),
            LogFormat::Text if plain => self.line.push_str(value),
            LogFormat::Text => self.line.extend(value.escape_debug()),
        }
    }

    fn end(self, target: &str, message: &str) {
        match self.format {
            LogFormat::Json => {
                self.line.push_str(r#","message":"#);
                push_json_string(self.line, message);
                self.line.push_str(r#","target":""#);
                self.line.push_str(target);
                self.line.push_str("\"}\n");
            }
            LogFormat::Text => self.line.push('\n'),
        }
    }
}

fn push_json_string(line: &mut String, value: &str) {
    if needs_escaping(value) {
        line.push_str(&serde_json::to_string(value).unwrap_or_default());
    } else {
        line.push('"');
        line.push_str(value);
        line.push('"');
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
mod tests;

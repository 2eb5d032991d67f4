//! Traces without a collector to install: dev receives OTLP itself (`otlp_receiver`, on a
//! runtime of its own), points every process at it, prints a waterfall of each request
//! slower than `--slow-ms` in the log stream, and serves the recent traces as a page.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use anyhow::Context;
use otlp_receiver::{Background, ReceivedSpan, waterfall};

use super::output::Output;

/// Spans kept for the page: a long session's worth of clicks, a few MiB.
const KEPT: usize = 20_000;
/// Columns of a waterfall's bars.
const BAR: usize = 40;
/// OTLP's `SpanKind` of a server span: a request someone made.
const SERVER: i32 = 2;

pub struct Traces {
    receiver: Background,
    slow: Duration,
    /// Spans seen so far, so each is looked at once.
    seen: u64,
}

impl Traces {
    pub fn start(port: u16, slow: Duration) -> anyhow::Result<Self> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let receiver = Background::bind(addr, KEPT).with_context(|| {
            format!("port {port} is in use; choose another with --traces-port <port>")
        })?;
        Ok(Self {
            receiver,
            slow,
            seen: 0,
        })
    }

    /// What `OTEL_EXPORTER_OTLP_ENDPOINT` is set to; the page is its `/`.
    pub fn endpoint(&self) -> String {
        self.receiver.endpoint()
    }

    /// Prints the waterfall of each request that arrived since the last call and took
    /// `--slow-ms` or longer.
    pub fn report_slow(&mut self, out: &Output) {
        let (arrived, seen) = self.receiver.spans_after(self.seen);
        self.seen = seen;
        if !arrived.iter().any(|s| is_slow(s, self.slow)) {
            return;
        }
        let all = self.receiver.spans();
        for root in slow_requests(&arrived, &all, self.slow) {
            for line in waterfall::waterfall(root, &all, BAR) {
                out.line("trace", &line);
            }
        }
    }
}

/// A server span (a request someone made) that took `slow` or longer.
fn is_slow(span: &ReceivedSpan, slow: Duration) -> bool {
    span.kind == SERVER && span.duration() >= slow
}

/// The requests among `arrived` that took `slow` or longer, each the top of its tree here:
/// a local root, whose parent (the page's action, or nothing) was not exported here.
fn slow_requests<'a>(
    arrived: &'a [ReceivedSpan],
    all: &[ReceivedSpan],
    slow: Duration,
) -> Vec<&'a ReceivedSpan> {
    waterfall::local_roots(arrived, all)
        .into_iter()
        .filter(|s| is_slow(s, slow))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: &str, kind: i32, millis: u64) -> ReceivedSpan {
        ReceivedSpan {
            service: "api".into(),
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: id.into(),
            parent_span_id: parent.into(),
            name: id.into(),
            kind,
            start_unix_nano: 1_000_000_000,
            end_unix_nano: 1_000_000_000 + millis * 1_000_000,
            attributes: Default::default(),
            links: Vec::new(),
            status: 0,
        }
    }

    /// Only requests at or past the threshold, at the top of their trees here: not a fast
    /// one, not an internal span however slow, not a slow request under another request.
    #[test]
    fn only_slow_requests_are_printed() {
        let spans = [
            span("fast", "", SERVER, 19),
            span("at-the-threshold", "", SERVER, 20),
            span("slow-from-the-page", "00f067aa0ba902b7", SERVER, 50),
            span("internal", "", 1, 100),
            span("under-a-request", "slow-from-the-page", SERVER, 40),
        ];
        let names: Vec<&str> = slow_requests(&spans, &spans, Duration::from_millis(20))
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["at-the-threshold", "slow-from-the-page"]);
        assert!(slow_requests(&spans, &spans, Duration::from_millis(51)).is_empty());
    }
}

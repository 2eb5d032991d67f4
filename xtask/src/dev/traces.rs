//! Traces without a collector to install: dev receives OTLP itself (`otlp_receiver`, on a
//! runtime of its own), points every process at it, prints a waterfall of each request
//! slower than `--slow-ms` in the log stream, and serves the recent traces as a page.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use anyhow::Context;
use otlp_receiver::{Background, waterfall};

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
    /// `--slow-ms` or longer. A request is a local root: its parent (the page's action, or
    /// nothing) was not exported here.
    pub fn report_slow(&mut self, out: &Output) {
        let (arrived, seen) = self.receiver.spans_after(self.seen);
        self.seen = seen;
        let slow = |s: &&otlp_receiver::ReceivedSpan| s.kind == SERVER && s.duration() >= self.slow;
        if !arrived.iter().any(|s| slow(&s)) {
            return;
        }
        let all = self.receiver.spans();
        for root in waterfall::local_roots(&arrived, &all)
            .into_iter()
            .filter(slow)
        {
            for line in waterfall::waterfall(root, &all, BAR) {
                out.line("trace", &line);
            }
        }
    }
}

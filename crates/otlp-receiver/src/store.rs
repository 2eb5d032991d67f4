//! The spans kept, and how many ever arrived.

use std::collections::VecDeque;

use crate::ReceivedSpan;

/// Spans in order of arrival: all of them, or only the latest `max`.
pub(crate) struct Store {
    spans: VecDeque<ReceivedSpan>,
    max: usize,
    /// Spans ever received, dropped ones included: the cursor of [`Store::after`].
    received: u64,
}

impl Store {
    /// `max: usize::MAX` keeps everything.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            spans: VecDeque::new(),
            max,
            received: 0,
        }
    }

    pub(crate) fn extend(&mut self, batch: Vec<ReceivedSpan>) {
        self.received += batch.len() as u64;
        let excess = (self.spans.len().saturating_add(batch.len())).saturating_sub(self.max);
        // Oldest first out: what is kept already, then the head of this batch.
        let from_kept = excess.min(self.spans.len());
        self.spans.drain(..from_kept);
        self.spans
            .extend(batch.into_iter().skip(excess - from_kept));
    }

    pub(crate) fn all(&self) -> Vec<ReceivedSpan> {
        self.spans.iter().cloned().collect()
    }

    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    /// The spans kept of those that arrived after the first `seen`, and the count so far.
    pub(crate) fn after(&self, seen: u64) -> (Vec<ReceivedSpan>, u64) {
        let first_kept = self.received - self.spans.len() as u64;
        let skip = seen.saturating_sub(first_kept);
        let spans = self
            .spans
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        (spans, self.received)
    }

    /// The spans kept of one trace, in order of arrival.
    pub(crate) fn trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        self.spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

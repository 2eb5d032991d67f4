//! One trace's spans as a tree, walked depth first. Parent ids come from the network, so
//! the walk visits each span once (cycles end) and stops descending at [`MAX_DEPTH`].

use std::collections::{HashMap, HashSet};

use crate::ReceivedSpan;

/// Levels shown below a root, the root included.
pub(crate) const MAX_DEPTH: usize = 32;

/// The spans a walk has shown.
pub(crate) type Visited = HashSet<*const ReceivedSpan>;

/// A span and its depth below the root it was reached from.
pub(crate) struct Row<'a> {
    pub(crate) depth: usize,
    pub(crate) span: &'a ReceivedSpan,
}

/// One trace's spans, indexed by parent.
pub(crate) struct Tree<'a> {
    /// By start time.
    spans: Vec<&'a ReceivedSpan>,
    ids: HashSet<&'a str>,
    /// Each parent's children, by start time.
    children: HashMap<&'a str, Vec<&'a ReceivedSpan>>,
}

fn by_start(a: &&ReceivedSpan, b: &&ReceivedSpan) -> std::cmp::Ordering {
    (a.start_unix_nano, &a.span_id).cmp(&(b.start_unix_nano, &b.span_id))
}

impl<'a> Tree<'a> {
    /// `spans` should be of one trace: parent ids are matched without the trace id.
    pub(crate) fn new(spans: impl IntoIterator<Item = &'a ReceivedSpan>) -> Self {
        let mut spans: Vec<_> = spans.into_iter().collect();
        spans.sort_by(by_start);
        let ids = spans.iter().map(|s| s.span_id.as_str()).collect();
        let mut children: HashMap<&str, Vec<&ReceivedSpan>> = HashMap::new();
        for span in &spans {
            if !span.parent_span_id.is_empty() {
                children
                    .entry(span.parent_span_id.as_str())
                    .or_default()
                    .push(span);
            }
        }
        Self {
            spans,
            ids,
            children,
        }
    }

    /// The spans whose parent is not here (none, or another process's), by start time.
    pub(crate) fn roots(&self) -> Vec<&'a ReceivedSpan> {
        self.spans
            .iter()
            .copied()
            .filter(|s| {
                s.parent_span_id.is_empty() || !self.ids.contains(s.parent_span_id.as_str())
            })
            .collect()
    }

    /// `root` and the descendants not yet `visited`, depth first, children by start time.
    pub(crate) fn walk(
        &self,
        root: &'a ReceivedSpan,
        visited: &mut Visited,
        rows: &mut Vec<Row<'a>>,
    ) {
        let mut stack = vec![(root, 0)];
        while let Some((span, depth)) = stack.pop() {
            // By address, not id: a span exported twice is shown twice, its children once.
            if !visited.insert(std::ptr::from_ref(span)) {
                continue;
            }
            rows.push(Row { depth, span });
            if depth + 1 >= MAX_DEPTH {
                continue;
            }
            if let Some(children) = self.children.get(span.span_id.as_str()) {
                // Reversed, so the earliest is popped first.
                stack.extend(children.iter().rev().map(|&c| (c, depth + 1)));
            }
        }
    }

    /// Every span once: each root's tree in turn, then, as roots of their own, whatever a
    /// cycle or the depth bound left out.
    pub(crate) fn rows(&self) -> Vec<Row<'a>> {
        let mut visited = Visited::new();
        let mut rows = Vec::with_capacity(self.spans.len());
        for root in self.roots() {
            self.walk(root, &mut visited, &mut rows);
        }
        for &span in &self.spans {
            self.walk(span, &mut visited, &mut rows);
        }
        rows
    }
}

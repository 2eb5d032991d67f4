//! Traces as text for a terminal: which new spans begin a tree to print ([`local_roots`]),
//! and that tree as a waterfall of bars on the root's time range ([`waterfall`]).

use std::collections::HashSet;

use crate::{
    ReceivedSpan,
    tree::{Tree, Visited},
};

/// Columns of the service and of the (indented) name.
const SERVICE: usize = 10;
const NAME: usize = 34;
/// Deeper spans are indented no further, so the name keeps some room.
const MAX_INDENT: usize = 10;

/// Of the `arrived` spans, those whose parent is not among `all` (which should include
/// `arrived`) in the same trace: no parent, or a remote one, such as the browser's span that
/// is never exported. Each is the top of a tree to print once it arrives.
///
/// This assumes that within a process a parent ends after its children, so they arrive in
/// the same export batch as their parent or an earlier one: once a local root is here, its
/// tree is complete. A span of a cycle of parent ids is never a local root.
pub fn local_roots<'a>(arrived: &'a [ReceivedSpan], all: &[ReceivedSpan]) -> Vec<&'a ReceivedSpan> {
    let ids: HashSet<(&str, &str)> = all
        .iter()
        .map(|s| (s.trace_id.as_str(), s.span_id.as_str()))
        .collect();
    arrived
        .iter()
        .filter(|s| {
            s.parent_span_id.is_empty()
                || !ids.contains(&(s.trace_id.as_str(), s.parent_span_id.as_str()))
        })
        .collect()
}

/// `root` and its descendants among `all` as lines of text: a header (short trace id, the
/// root's name, service, duration, span count, errors), then one line per span, depth first
/// with children by start time: service, the name indented by depth, a bar `width` columns
/// wide on the root's time range, the duration in ms, and `error` for an error status.
///
/// Never panics on odd input: bars are clamped to the root's range, an end before its start
/// counts as the start, a cycle of parent ids is cut, and depth stops at 32 levels.
pub fn waterfall(root: &ReceivedSpan, all: &[ReceivedSpan], width: usize) -> Vec<String> {
    let width = width.max(1);
    let tree = Tree::new(all.iter().filter(|s| s.trace_id == root.trace_id));
    let mut rows = Vec::new();
    tree.walk(root, &mut Visited::new(), &mut rows);

    let errors = rows.iter().filter(|r| r.span.is_error()).count();
    let short: String = root.trace_id.chars().take(8).collect();
    let mut header = format!(
        "trace {short}  {}  {}  {} ms  {} span{}",
        fit(&root.name, 60).trim_end(),
        fit(&root.service, SERVICE).trim_end(),
        ms(root.start_unix_nano, root.end_unix_nano),
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
    );
    if errors > 0 {
        header.push_str(&format!(
            "  {errors} error{}",
            if errors == 1 { "" } else { "s" }
        ));
    }

    let mut lines = vec![header];
    for row in rows {
        let span = row.span;
        let indent = " ".repeat(2 * row.depth.min(MAX_INDENT));
        let mut line = format!(
            "{} {} {} {:>8} ms",
            fit(&span.service, SERVICE),
            fit(&format!("{indent}{}", label(span)), NAME),
            bar(span, root, width),
            ms(span.start_unix_nano, span.end_unix_nano),
        );
        if span.is_error() {
            line.push_str(" error");
        }
        lines.push(line);
    }
    lines
}

/// The name, and what a statement's attributes add to it.
fn label(span: &ReceivedSpan) -> String {
    let mut label = span.name.clone();
    for key in ["db.statement.name", "db.operation"] {
        match span.attribute(key) {
            Some(value) if !value.is_empty() && !label.contains(value) => {
                label.push(' ');
                label.push_str(value);
            }
            _ => {}
        }
    }
    label
}

/// `span` on the root's time range: at least one column, clamped to the range.
fn bar(span: &ReceivedSpan, root: &ReceivedSpan, width: usize) -> String {
    let origin = root.start_unix_nano;
    let range = u128::from(root.end_unix_nano.saturating_sub(origin)).max(1);
    let offset = |t: u64| u128::from(t.saturating_sub(origin)).min(range);
    let start = offset(span.start_unix_nano);
    let end = offset(span.end_unix_nano.max(span.start_unix_nano));
    let columns = width as u128;
    let from = usize::try_from(start * columns / range)
        .unwrap_or(width)
        .min(width - 1);
    let to = usize::try_from((end * columns).div_ceil(range))
        .unwrap_or(width)
        .clamp(from + 1, width);
    (0..width)
        .map(|c| if (from..to).contains(&c) { '█' } else { '·' })
        .collect()
}

/// Milliseconds with one decimal, an end before the start counting as zero.
pub(crate) fn ms(start: u64, end: u64) -> String {
    format!("{:.1}", end.saturating_sub(start) as f64 / 1e6)
}

/// `text` in exactly `width` characters: padded, or cut with an ellipsis. Control characters
/// become `?`: a span's name is the network's, and must not drive the terminal.
fn fit(text: &str, width: usize) -> String {
    let clean = text.chars().map(|c| if c.is_control() { '?' } else { c });
    let count = text.chars().count();
    if count <= width {
        let mut out: String = clean.collect();
        out.extend(std::iter::repeat_n(' ', width - count));
        out
    } else {
        let mut out: String = clean.take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

//! `GET /traces/{trace_id}`: one trace as a waterfall, a row per span with its details.

use std::fmt::Write;

use super::{clock, escape, layout};
use crate::{ReceivedSpan, tree::Tree, waterfall::ms};

/// The page of the trace made of `spans`, or `None` when there are none.
pub(crate) fn trace(spans: &[ReceivedSpan]) -> Option<String> {
    let first = spans.first()?;
    let tree = Tree::new(spans);
    let rows = tree.rows();
    let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
    let end = spans
        .iter()
        .map(|s| s.end_unix_nano.max(s.start_unix_nano))
        .max()
        .unwrap_or(start);
    let range = end.saturating_sub(start).max(1) as f64;
    let title = tree
        .roots()
        .first()
        .map_or(first.name.as_str(), |root| root.name.as_str());

    let mut body = format!(
        "<p><a href=\"/\">← Recent traces</a></p>\n<h1>{}</h1>\n<p class=\"meta\">trace {} · \
         started {} UTC · {} span{} · {} ms</p>\n",
        escape(title),
        escape(&first.trace_id),
        clock(start),
        spans.len(),
        if spans.len() == 1 { "" } else { "s" },
        ms(start, end),
    );
    for row in rows {
        let span = row.span;
        let offset = span.start_unix_nano.saturating_sub(start);
        let left = (offset as f64 / range * 100.0).min(100.0);
        let width = (span.duration().as_nanos() as f64 / range * 100.0).min(100.0 - left);
        let name = escape(&span.name);
        // Writing to a String cannot fail.
        let _ = write!(
            body,
            "<details{}><summary><span style=\"padding-left:{}em\" title=\"{name}\">{name}</span>\
             <span>{}</span><span class=\"track\"><span class=\"bar\" \
             style=\"left:{left:.2}%;width:{width:.2}%\"></span></span>\
             <span class=\"num\">{} ms{}</span></summary>\n<table>",
            if span.is_error() {
                " class=\"error\""
            } else {
                ""
            },
            row.depth,
            escape(&span.service),
            ms(span.start_unix_nano, span.end_unix_nano),
            if span.is_error() { " error" } else { "" },
        );
        details(&mut body, span, offset);
        body.push_str("</table></details>\n");
    }
    Some(layout(title, false, &body))
}

/// The span's ids, kind, status, offset, links and attributes, as table rows.
fn details(body: &mut String, span: &ReceivedSpan, offset: u64) {
    let mut row = |key: &str, value: &str| {
        let _ = writeln!(
            body,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(key),
            escape(value)
        );
    };
    row("span id", &span.span_id);
    if !span.parent_span_id.is_empty() {
        row("parent span id", &span.parent_span_id);
    }
    row("kind", kind(span.kind));
    row("status", status(span.status));
    row("starts at", &format!("+{} ms", ms(0, offset)));
    for (trace_id, span_id) in &span.links {
        row("link", &format!("{trace_id} {span_id}"));
    }
    for (key, value) in &span.attributes {
        row(key, value);
    }
}

fn kind(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn status(status: i32) -> &'static str {
    match status {
        1 => "ok",
        2 => "error",
        _ => "unset",
    }
}

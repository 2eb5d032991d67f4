//! `GET /`: the recent traces, newest first.

use std::{
    collections::{BTreeSet, HashMap},
    fmt::Write,
};

use super::{clock, escape, layout};
use crate::{ReceivedSpan, tree::Tree, waterfall::ms};

/// Traces listed at most.
const SHOWN: usize = 100;

struct Summary<'a> {
    trace_id: &'a str,
    start: u64,
    end: u64,
    /// The earliest-starting local root's (or, with none, the earliest span's).
    name: &'a str,
    services: BTreeSet<&'a str>,
    spans: usize,
    error: bool,
}

fn summarize<'a>(trace_id: &'a str, spans: &[&'a ReceivedSpan]) -> Summary<'a> {
    let tree = Tree::new(spans.iter().copied());
    let first = tree
        .roots()
        .first()
        .copied()
        .or_else(|| spans.iter().copied().min_by_key(|s| s.start_unix_nano));
    Summary {
        trace_id,
        start: spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0),
        end: spans
            .iter()
            .map(|s| s.end_unix_nano.max(s.start_unix_nano))
            .max()
            .unwrap_or(0),
        name: first.map_or("", |s| s.name.as_str()),
        services: spans.iter().map(|s| s.service.as_str()).collect(),
        spans: spans.len(),
        error: spans.iter().any(|s| s.is_error()),
    }
}

/// The page listing the traces among `spans`; `received` counts those no longer kept too.
pub(crate) fn traces(spans: &[ReceivedSpan], received: u64) -> String {
    let mut by_trace: HashMap<&str, Vec<&ReceivedSpan>> = HashMap::new();
    for span in spans {
        by_trace.entry(&span.trace_id).or_default().push(span);
    }
    let total = by_trace.len();
    let mut summaries: Vec<_> = by_trace
        .iter()
        .map(|(id, spans)| summarize(id, spans))
        .collect();
    summaries.sort_by(|a, b| (b.start, b.trace_id).cmp(&(a.start, a.trace_id)));
    summaries.truncate(SHOWN);

    let mut body = format!(
        "<h1>Recent traces</h1>\n<p class=\"meta\">{total} trace{} in the {} span{} kept \
         ({received} received); the newest {SHOWN} at most, refreshed every 5 s.</p>\n",
        plural(total),
        spans.len(),
        plural(spans.len()),
    );
    if summaries.is_empty() {
        body.push_str("<p>No traces yet.</p>");
        return layout("Traces", true, &body);
    }
    body.push_str(
        "<table>\n<tr><th>started (UTC)</th><th>trace</th><th>services</th>\
         <th class=\"num\">spans</th><th class=\"num\">ms</th><th></th></tr>\n",
    );
    for s in &summaries {
        let services: Vec<_> = s.services.iter().map(|name| escape(name)).collect();
        let name = if s.name.is_empty() {
            "(unnamed)".to_owned()
        } else {
            escape(s.name)
        };
        // Writing to a String cannot fail.
        let _ = writeln!(
            body,
            "<tr{}><td class=\"num\">{}</td><td><a href=\"/traces/{}\">{name}</a></td>\
             <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if s.error { " class=\"error\"" } else { "" },
            clock(s.start),
            escape(s.trace_id),
            services.join(", "),
            s.spans,
            ms(s.start, s.end),
            if s.error { "error" } else { "" },
        );
    }
    body.push_str("</table>");
    layout("Traces", true, &body)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

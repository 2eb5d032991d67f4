//! The HTML pages: `GET /` lists the recent traces ([`traces`]), `GET /traces/{id}` shows
//! one ([`trace`]). Everything a span says came from the network, so every piece of it is
//! escaped; the pages have inline CSS only, no script and nothing to fetch.

mod list;
mod trace;

pub(crate) use list::traces;
pub(crate) use trace::trace;

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.3em;margin:.2em 0}\
a{color:#0650b0;text-decoration:none}a:hover{text-decoration:underline}\
table{border-collapse:collapse}\
td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #eee;vertical-align:top}\
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.meta{color:#666}.error,.error a{color:#b00020}\
summary{display:grid;grid-template-columns:minmax(12em,26em) 8em 1fr 7em;gap:.6em;\
align-items:center;cursor:pointer;padding:.1em 0;border-bottom:1px solid #f4f4f4}\
summary>span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\
.track{position:relative;height:.9em;background:#f2f2f2}\
.bar{position:absolute;top:0;bottom:0;min-width:1px;background:#4a7fd6}\
.error .bar{background:#d33}\
details table{margin:.3em 0 .8em 2em;font-size:12px}\
details td{font-family:ui-monospace,monospace;word-break:break-all}";

/// A whole page around `body` (which is HTML already; `title` is text).
fn layout(title: &str, refresh: bool, body: &str) -> String {
    let refresh = if refresh {
        "<meta http-equiv=\"refresh\" content=\"5\">"
    } else {
        ""
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{refresh}\
         <title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

pub(crate) fn not_found(message: &str) -> String {
    layout(
        message,
        false,
        &format!(
            "<h1>{}</h1><p><a href=\"/\">Recent traces</a></p>",
            escape(message)
        ),
    )
}

/// `text` safe as HTML text and as a quoted attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The UTC time of day, `HH:MM:SS.mmm`, of a Unix time in nanoseconds.
fn clock(unix_nano: u64) -> String {
    let millis = unix_nano / 1_000_000;
    let seconds = millis / 1000 % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_the_utc_time_of_day() {
        // 2024-01-02T03:04:05.678Z
        assert_eq!(clock(1_704_164_645_678_901_234), "03:04:05.678");
        assert_eq!(clock(0), "00:00:00.000");
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

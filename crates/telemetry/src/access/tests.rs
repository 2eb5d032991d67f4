//! The access lines' shapes, and that they reach the writer whole.

use super::*;
use crate::sink::Shared;

#[test]
fn every_recorded_line_reaches_the_output_as_one_json_object() {
    let out = Shared::default();
    let (sink, guard) =
        crate::sink::spawn(out.clone(), crate::sink::EXIT_FLUSH).expect("writer thread");
    let log = AccessLog::new(LogFormat::Json, TARGET, sink);
    for _ in 0..1000 {
        log.record(&entry("/"));
    }
    drop(guard);
    let out = out.text();
    assert_eq!(out.lines().count(), 1000);
    assert!(
        out.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
}

#[test]
fn a_message_line_has_the_level_and_stays_on_one_line() {
    let mut line = String::new();
    format_message(LogFormat::Text, Level::Debug, "t", "a\nb \"c\"", &mut line);
    assert!(line.ends_with("Z DEBUG t: a\\nb \"c\"\n"), "{line:?}");
    line.clear();
    format_message(LogFormat::Json, Level::Debug, "t", "a\nb \"c\"", &mut line);
    let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
    assert_eq!(v["level"], "DEBUG");
    assert_eq!(v["message"], "a\nb \"c\"");
    assert_eq!(v["target"], "t");
}

const TARGET: &str = "web_server::access";

fn entry(path: &str) -> Entry<'_> {
    Entry {
        request_id: None,
        trace_id: None,
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
fn request_and_trace_ids_are_quoted_fields_and_absent_bytes_are_left_out() {
    let mut line = String::new();
    let entry = Entry {
        request_id: Some("a\"b"),
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736"),
        bytes: None,
        ..entry("/")
    };
    format_line(LogFormat::Json, "api::request", &entry, &mut line);
    let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
    assert_eq!(v["request_id"], "a\"b");
    assert_eq!(v["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(v["target"], "api::request");
    assert!(v.get("bytes").is_none(), "{line}");
    line.clear();
    format_line(LogFormat::Text, "api::request", &entry, &mut line);
    assert!(
        line.ends_with(
            " INFO api::request: request request_id=a\\\"b \
             trace_id=4bf92f3577b34da6a3ce929d0e0e4736 method=GET path=/ status=404 \
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

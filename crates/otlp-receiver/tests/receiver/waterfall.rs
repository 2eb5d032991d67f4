use otlp_receiver::{
    ReceivedSpan,
    waterfall::{local_roots, waterfall},
};

use crate::support::received;

/// The request (under the browser's span 0x99), a pool wait, a statement and its failed
/// child, arrived children first.
fn tree() -> Vec<ReceivedSpan> {
    let mut fetch = received(4, 3, "fetch", 4, 5);
    fetch.status = 2;
    let mut select = received(3, 1, "randoms.latest", 3, 9);
    select
        .attributes
        .insert("db.operation".into(), "SELECT".into());
    vec![
        fetch,
        select,
        received(2, 1, "pool wait", 1, 2),
        received(1, 0x99, "GET /randoms", 0, 10),
    ]
}

/// The name column of a waterfall line: after the 10-character service and a space.
fn name_column(line: &str) -> String {
    line.chars().skip(11).take(34).collect()
}

fn bar(line: &str) -> String {
    line.chars().skip(46).take(40).collect()
}

#[test]
fn a_waterfall_is_depth_first_indented_and_timed() {
    let spans = tree();
    let lines = waterfall(&spans[3], &spans, 40);
    assert_eq!(
        lines[0],
        "trace abababab  GET /randoms  api  10.0 ms  4 spans  1 error"
    );
    let names: Vec<_> = lines[1..].iter().map(|l| name_column(l)).collect();
    assert_eq!(
        names.iter().map(|n| n.trim_end()).collect::<Vec<_>>(),
        [
            "GET /randoms",
            "  pool wait",
            "  randoms.latest SELECT",
            "    fetch"
        ]
    );
    assert!(lines[1..].iter().all(|l| l.starts_with("api        ")));
    assert!(lines[1].ends_with("    10.0 ms"), "{}", lines[1]);
    assert!(lines[2].ends_with("     1.0 ms"), "{}", lines[2]);
    assert!(lines[3].ends_with("     6.0 ms"), "{}", lines[3]);
    assert!(lines[4].ends_with("     1.0 ms error"), "{}", lines[4]);
    assert_eq!(bar(&lines[1]), "█".repeat(40));
    assert_eq!(
        bar(&lines[2]),
        format!("{}{}{}", "·".repeat(4), "█".repeat(4), "·".repeat(32))
    );
    assert_eq!(
        bar(&lines[3]),
        format!("{}{}{}", "·".repeat(12), "█".repeat(24), "·".repeat(4))
    );
    assert!(lines.iter().all(|l| l.chars().count() < 110), "{lines:#?}");
}

#[test]
fn local_roots_are_the_new_spans_without_a_parent_here() {
    let spans = tree();
    let roots = local_roots(&spans, &spans);
    assert_eq!(roots, [&spans[3]]);
    // Children arriving first are no roots: their parent is not here yet, but then it is.
    assert!(local_roots(&spans[..2], &spans).is_empty());

    let mut elsewhere = received(5, 0, "GET /index.html", 0, 1);
    elsewhere.trace_id = "cd".repeat(16);
    let mut stranger = received(6, 1, "same parent id, other trace", 0, 1);
    stranger.trace_id = "cd".repeat(16);
    let arrived = [elsewhere, stranger];
    let roots: Vec<_> = local_roots(&arrived, &arrived)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(roots, ["GET /index.html", "same parent id, other trace"]);
}

#[test]
fn odd_spans_make_a_waterfall_without_panicking() {
    // A cycle, an end before its start, a zero-length root, a child before its root.
    let cycle = [received(1, 2, "one", 0, 1), received(2, 1, "other", 5, 2)];
    let lines = waterfall(&cycle[0], &cycle, 40);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[2].ends_with(" 0.0 ms"), "{}", lines[2]);
    assert!(local_roots(&cycle, &cycle).is_empty());

    let own = [
        received(3, 3, "its own parent", 4, 4),
        received(4, 3, "early", 0, 9),
    ];
    let lines = waterfall(&own[0], &own, 0);
    assert_eq!(lines.len(), 3, "{lines:#?}");

    // A chain of 100 is cut at 32 levels; a long name is cut with an ellipsis; a name
    // cannot drive the terminal.
    let mut chain: Vec<_> = (1..=100u8)
        .map(|i| received(i, i - 1, &"x".repeat(80), u64::from(i), 200))
        .collect();
    chain[0].name = "\u{1b}[2J root".into();
    let lines = waterfall(&chain[0], &chain, 40);
    assert_eq!(lines.len(), 1 + 32);
    assert!(lines[5].contains('…'), "{}", lines[5]);
    assert!(lines.iter().all(|l| l.chars().count() < 110), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains('\u{1b}')), "{lines:#?}");
}

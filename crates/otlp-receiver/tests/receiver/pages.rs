use otlp_receiver::Receiver;

use crate::support::{Answer, failed, get, request, send, span, string};

const HTML: &str = "text/html; charset=utf-8";

/// Where `needle` is in `haystack`, which must hold it.
fn at(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in {haystack}"))
}

/// A request served in the API under the browser's (never exported) span 0x99, with a
/// statement and a hostile name, then the static server's span of the same trace.
async fn post_a_trace(receiver: &Receiver) {
    let url = format!("{}/v1/traces", receiver.endpoint());
    let mut select = span(0xab, 3, 1, "randoms.latest", 3, 9);
    select.attributes = vec![string("db.operation", "SELECT")];
    let mut hostile = failed(span(0xab, 4, 3, "<script>alert(1)</script>", 4, 5));
    hostile.attributes = vec![string("note", "<img src=x onerror=alert(1)>")];
    let api = vec![
        hostile,
        span(0xab, 2, 1, "pool wait", 1, 2),
        select,
        span(0xab, 1, 0x99, "GET /randoms", 0, 10),
    ];
    let web = vec![span(0xab, 5, 0x99, "GET /index.html", 11, 12)];
    let body = request(vec![("api", api), ("web-server", web)]);
    assert_eq!(send("POST", &url, body).await.status, 200);
}

fn html(answer: &Answer, status: u16) -> String {
    assert_eq!(answer.status, status, "{}", answer.text());
    assert_eq!(answer.content_type, HTML);
    answer.text()
}

#[tokio::test]
async fn the_list_shows_each_trace_newest_first_and_links_to_it() {
    let receiver = Receiver::start().await.expect("listens");
    let empty = html(&get(&format!("{}/", receiver.endpoint())).await, 200);
    assert!(empty.contains("No traces yet"), "{empty}");

    post_a_trace(&receiver).await;
    let later = span(0xcd, 1, 0, "POST /randoms", 100, 101);
    let url = format!("{}/v1/traces", receiver.endpoint());
    assert_eq!(
        send("POST", &url, request(vec![("api", vec![later])]))
            .await
            .status,
        200
    );

    let page = html(&get(&format!("{}/", receiver.endpoint())).await, 200);
    assert!(page.contains(r#"<meta http-equiv="refresh" content="5">"#));
    let first = at(&page, &format!(r#"<a href="/traces/{}">"#, "ab".repeat(16)));
    let newest = at(&page, &format!(r#"<a href="/traces/{}">"#, "cd".repeat(16)));
    assert!(newest < first, "newest first: {page}");
    // The earliest local root names the trace; both services; five spans; 12 ms; an error.
    let row = &page[first..];
    let row = &row[..at(row, "</tr>")];
    assert!(row.contains(">GET /randoms</a>"), "{row}");
    assert!(row.contains("api, web-server"), "{row}");
    assert!(row.contains(">5</td>"), "{row}");
    assert!(row.contains(">12.0</td>"), "{row}");
    assert!(row.contains("error"), "{row}");
    assert!(page.contains("03:04:05.000"), "the start, UTC: {page}");
    assert!(!page.contains("<script"), "{page}");
}

#[tokio::test]
async fn a_trace_page_shows_its_spans_depth_first_and_escaped() {
    let receiver = Receiver::start().await.expect("listens");
    post_a_trace(&receiver).await;
    let url = format!("{}/traces/{}", receiver.endpoint(), "ab".repeat(16));
    let page = html(&get(&url).await, 200);

    let order = [
        ">GET /randoms<",
        ">pool wait<",
        ">randoms.latest<",
        ">&lt;script&gt;alert(1)&lt;/script&gt;<",
        ">GET /index.html<",
    ];
    let places: Vec<_> = order.iter().map(|name| at(&page, name)).collect();
    assert!(places.is_sorted(), "depth first, children by start: {page}");
    assert!(
        page.contains("padding-left:2em"),
        "the statement's child, indented: {page}"
    );
    assert!(
        page.contains("left:0.00%;width:83.33%"),
        "the request's bar: {page}"
    );
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{page}"
    );
    assert!(page.contains("SELECT"), "attributes shown: {page}");
    assert!(
        !page.contains("<script") && !page.contains("<img"),
        "{page}"
    );
}

#[tokio::test]
async fn unknown_traces_and_other_paths_are_not_found() {
    let receiver = Receiver::start().await.expect("listens");
    post_a_trace(&receiver).await;
    let base = receiver.endpoint();
    for path in [
        format!("/traces/{}", "00".repeat(16)),
        format!("/traces/{}", "AB".repeat(16)),
        "/traces/%3Cscript%3E".to_owned(),
        "/traces/".to_owned(),
        "/nope".to_owned(),
        "/v1/traces".to_owned(),
    ] {
        let page = html(&get(&format!("{base}{path}")).await, 404);
        assert!(!page.contains("<script>"), "{page}");
    }
    assert_eq!(send("POST", &format!("{base}/"), vec![]).await.status, 404);
}

#[tokio::test]
async fn a_trace_of_odd_parents_still_shows_every_span() {
    let receiver = Receiver::start().await.expect("listens");
    let url = format!("{}/v1/traces", receiver.endpoint());
    let spans = vec![
        span(0xee, 1, 2, "one of a cycle", 0, 1),
        span(0xee, 2, 1, "the other", 2, 1),
        span(0xee, 3, 3, "its own parent", 0, 0),
    ];
    assert_eq!(
        send("POST", &url, request(vec![("api", spans)]))
            .await
            .status,
        200
    );
    let page = html(
        &get(&format!(
            "{}/traces/{}",
            receiver.endpoint(),
            "ee".repeat(16)
        ))
        .await,
        200,
    );
    for name in ["one of a cycle", "the other", "its own parent"] {
        at(&page, name);
    }
    let list = html(&get(&format!("{}/", receiver.endpoint())).await, 200);
    at(&list, &"ee".repeat(16));
}

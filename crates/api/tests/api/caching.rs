//! HTTP semantics for caches and pollers: ETags, `If-None-Match` → 304, `Cache-Control`,
//! and `/openapi.json` compressed when asked.

use std::io::Read;

use reqwest::{Response, StatusCode};

use crate::helpers::TestApi;

async fn get(api: &TestApi, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut req = reqwest::Client::new().get(api.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("answered")
}

fn header(res: &Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_list_is_revalidated_with_its_etag_and_a_write_changes_it() {
    let api = TestApi::spawn().await;
    let first = get(&api, "/randoms", &[]).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "cache-control"), "no-cache");
    let etag = header(&first, "etag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag:?}");

    // Current: 304, no body, same tag (twice, so the second comes from the replica's copy).
    for _ in 0..2 {
        let again = get(&api, "/randoms", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&again, "etag"), etag);
        assert_eq!(header(&again, "cache-control"), "no-cache");
        assert!(again.bytes().await.expect("a body").is_empty());
    }
    let weak = format!("W/{etag}");
    for matching in [weak.as_str(), "*", &format!("\"nope\", {etag}")] {
        let res = get(&api, "/randoms", &[("if-none-match", matching)]).await;
        assert_eq!(res.status(), 304, "{matching}");
    }
    let other = get(&api, "/randoms", &[("if-none-match", "\"nope\"")]).await;
    assert_eq!(other.status(), 200);
    // Another limit is another list.
    let five = get(&api, "/randoms?limit=5", &[("if-none-match", &etag)]).await;
    assert_eq!(five.status(), 200);
    assert_ne!(header(&five, "etag"), etag);

    assert_eq!(api.post("/randoms").await.status(), 201);
    let after = get(&api, "/randoms", &[("if-none-match", &etag)]).await;
    assert_eq!(after.status(), 200, "a write makes the old copy stale");
    assert_ne!(header(&after, "etag"), etag);
}

#[tokio::test]
async fn an_item_may_be_kept_for_a_while_and_revalidated() {
    let api = TestApi::spawn().await;
    let res = get(&api, "/randoms/7", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control"), "public, max-age=300");
    let etag = header(&res, "etag");
    let again = get(&api, "/randoms/7", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    let other = get(&api, "/randoms/8", &[("if-none-match", &etag)]).await;
    assert_eq!(other.status(), 200);
    // Errors are not cacheable answers: no ETag.
    let missing = get(&api, "/randoms/999999", &[("if-none-match", "*")]).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get("etag").is_none());
}

#[tokio::test]
async fn the_openapi_document_is_compressed_when_asked() {
    let api = TestApi::spawn().await;
    let plain = get(&api, "/openapi.json", &[]).await;
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("content-encoding").is_none());
    let vary = header(&plain, "vary");
    assert!(
        vary.split(',').any(|v| v.trim() == "accept-encoding"),
        "{vary}"
    );
    let plain = plain.bytes().await.expect("the document");
    serde_json::from_slice::<serde_json::Value>(&plain).expect("JSON");

    for (accept, coding) in [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
    ] {
        let res = get(&api, "/openapi.json", &[("accept-encoding", accept)]).await;
        assert_eq!(header(&res, "content-encoding"), coding, "{accept}");
        let body = res.bytes().await.expect("the document");
        assert!(body.len() < plain.len() / 3, "{coding} is smaller");
        let mut decoded = Vec::new();
        match coding {
            "br" => brotli::Decompressor::new(&body[..], 4096).read_to_end(&mut decoded),
            _ => flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut decoded),
        }
        .expect("decodes");
        assert_eq!(decoded, plain, "{coding}");
    }
    let none = get(&api, "/openapi.json", &[("accept-encoding", "identity")]).await;
    assert!(none.headers().get("content-encoding").is_none());
}

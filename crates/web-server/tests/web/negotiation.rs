use crate::helpers::{JS, TestServer, WASM, gunzip, unbrotli};

fn get(
    server: &TestServer,
    path: &str,
    accept_encoding: Option<&str>,
) -> crate::helpers::RawResponse {
    let headers: Vec<_> = accept_encoding
        .map(|v| ("Accept-Encoding", v))
        .into_iter()
        .collect();
    server.request("GET", path, &headers)
}

#[test]
fn brotli_then_gzip_then_identity_by_accept_encoding() {
    let server = TestServer::start();
    for name in [WASM, JS, "index.html"] {
        let path = format!("/{name}");
        let original = server.site.file(name);
        for (accept, expected) in [
            (Some("gzip, deflate, br, zstd"), Some("br")),
            (Some("br"), Some("br")),
            (Some("gzip, deflate"), Some("gzip")),
            (Some("br;q=0, gzip"), Some("gzip")),
            (Some("br;q=0.5, gzip;q=0.9"), Some("gzip")),
            (Some("gzip;q=0, br;q=0"), None),
            (Some("identity"), None),
            (Some("deflate"), None),
            (Some(""), None),
            (None, None),
        ] {
            let res = get(&server, &path, accept);
            let what = format!("{path} with {accept:?}");
            assert_eq!(res.status, 200, "{what}");
            assert_eq!(res.header("content-encoding"), expected, "{what}");
            assert_eq!(res.header("vary"), Some("accept-encoding"), "{what}");
            let decoded = match expected {
                Some("br") => unbrotli(&res.body),
                Some("gzip") => gunzip(&res.body),
                _ => res.body.clone(),
            };
            assert_eq!(decoded, original, "{what}: the body decodes to the file");
            // The precompressed file itself, not a recompression.
            if let Some(coding) = expected {
                let ext = if coding == "br" { "br" } else { "gz" };
                assert_eq!(
                    res.body,
                    server.site.file(&format!("{name}.{ext}")),
                    "{what}"
                );
            }
        }
    }
}

#[test]
fn the_wasm_is_served_gzipped_at_a_fraction_of_its_size() {
    let server = TestServer::start();
    let res = get(&server, &format!("/{WASM}"), Some("gzip"));
    assert_eq!(res.header("content-type"), Some("application/wasm"));
    assert!(res.body.len() < server.site.file(WASM).len() / 2);
}

#[test]
fn files_without_precompressed_siblings_do_not_vary() {
    let server = TestServer::start();
    for path in ["/photo.png", "/robots.txt", "/config.json", "/favicon.ico"] {
        let res = get(&server, path, Some("br, gzip"));
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("content-encoding"), None, "{path}");
        assert_eq!(res.header("vary"), None, "{path}");
    }
}

#[test]
fn each_representation_has_its_own_strong_etag_and_if_none_match_gives_304() {
    let server = TestServer::start();
    let path = format!("/{WASM}");
    let br = get(&server, &path, Some("br"));
    let gz = get(&server, &path, Some("gzip"));
    let id = get(&server, &path, None);
    let tags: Vec<String> = [&br, &gz, &id]
        .iter()
        .map(|r| r.header("etag").expect("an etag").to_owned())
        .collect();
    for tag in &tags {
        assert!(tag.starts_with('"') && tag.ends_with('"'), "strong: {tag}");
    }
    assert_ne!(tags[0], tags[1]);
    assert_ne!(tags[0], tags[2]);
    assert_ne!(tags[1], tags[2]);
    // Stable: the same bytes give the same tag.
    assert_eq!(
        get(&server, &path, Some("br")).header("etag"),
        Some(tags[0].as_str())
    );

    let (br_tag, gz_tag, id_tag) = (&tags[0], &tags[1], &tags[2]);
    for (accept, if_none_match, status) in [
        (Some("br"), br_tag.clone(), 304),
        (Some("br"), format!("\"nope\", {br_tag}"), 304),
        (Some("br"), format!("W/{br_tag}"), 304),
        (Some("br"), "*".to_owned(), 304),
        (Some("gzip"), gz_tag.clone(), 304),
        (None, id_tag.clone(), 304),
        // Another representation's tag does not match this one.
        (Some("br"), gz_tag.clone(), 200),
        (Some("gzip"), br_tag.clone(), 200),
        (None, br_tag.clone(), 200),
        (Some("br"), format!("{gz_tag}, {id_tag}"), 200),
        (Some("br"), "\"something-else\"".to_owned(), 200),
    ] {
        let mut headers = vec![("If-None-Match", if_none_match.as_str())];
        if let Some(accept) = accept {
            headers.push(("Accept-Encoding", accept));
        }
        let res = server.request("GET", &path, &headers);
        let what = format!("{accept:?} / If-None-Match: {if_none_match}");
        assert_eq!(res.status, status, "{what}");
        if status == 304 {
            assert!(res.body.is_empty(), "{what}: a 304 has no body");
            assert!(res.header("etag").is_some(), "{what}");
            assert_eq!(res.header("vary"), Some("accept-encoding"), "{what}");
            assert!(res.header("cache-control").is_some(), "{what}");
        }
    }
}

#[test]
fn navigations_and_config_json_revalidate_with_their_etag() {
    let server = TestServer::start();
    for path in ["/", "/about", "/config.json"] {
        let tag = server.get(path).header("etag").expect("an etag").to_owned();
        let res = server.request("GET", path, &[("If-None-Match", &tag)]);
        assert_eq!(res.status, 304, "{path}");
        assert!(res.body.is_empty(), "{path}");
        let head = server.request("HEAD", path, &[("If-None-Match", &tag)]);
        assert_eq!(head.status, 304, "HEAD {path}");
    }
}

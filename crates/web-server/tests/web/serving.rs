use crate::helpers::{
    API_BASE_URL, API_ORIGIN, CSS, INDEX_MARKER, JS, RawResponse, TestServer, WASM,
};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn assert_security_headers(res: &RawResponse, what: &str) {
    let csp = res
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert_eq!(
        csp,
        format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
             img-src 'self' data:; connect-src 'self' {API_ORIGIN}; frame-ancestors 'none'; \
             base-uri 'none'; form-action 'self'; object-src 'none'"
        ),
        "{what}"
    );
    let connect = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("connect-src"))
        .expect("a connect-src directive");
    assert_eq!(
        connect,
        format!("connect-src 'self' {API_ORIGIN}"),
        "{what}"
    );
    assert_eq!(
        res.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        res.header("referrer-policy"),
        Some("strict-origin-when-cross-origin"),
        "{what}"
    );
    assert_eq!(res.header("x-frame-options"), Some("DENY"), "{what}");
}

#[test]
fn content_types_are_exact_and_wasm_is_application_wasm() {
    let server = TestServer::start();
    for (path, expected) in [
        (format!("/{WASM}"), "application/wasm"),
        (format!("/{JS}"), "text/javascript; charset=utf-8"),
        (format!("/{CSS}"), "text/css; charset=utf-8"),
        ("/index.html".into(), "text/html; charset=utf-8"),
        ("/".into(), "text/html; charset=utf-8"),
        ("/data.json".into(), "application/json"),
        ("/config.json".into(), "application/json"),
        (format!("/{JS}.map"), "application/json"),
        ("/logo.svg".into(), "image/svg+xml"),
        ("/photo.png".into(), "image/png"),
        ("/favicon.ico".into(), "image/x-icon"),
        ("/robots.txt".into(), "text/plain; charset=utf-8"),
        ("/nested/deep/page.txt".into(), "text/plain; charset=utf-8"),
    ] {
        let res = server.get(&path);
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("content-type"), Some(expected), "{path}");
    }
    let wasm = server.get(&format!("/{WASM}"));
    assert_eq!(wasm.body, server.site.file(WASM));
    assert!(wasm.body.starts_with(b"\0asm"));
}

#[test]
fn hashed_files_are_immutable_and_the_rest_revalidates() {
    let server = TestServer::start();
    for path in [
        format!("/{JS}"),
        format!("/{WASM}"),
        format!("/{CSS}"),
        format!("/{JS}.map"),
    ] {
        assert_eq!(
            server.get(&path).header("cache-control"),
            Some(IMMUTABLE),
            "{path}"
        );
    }
    for path in [
        "/",
        "/index.html",
        "/config.json",
        "/favicon.ico",
        "/about",
        "/items/42",
    ] {
        assert_eq!(
            server.get(path).header("cache-control"),
            Some("no-cache"),
            "{path}"
        );
    }
}

#[test]
fn config_json_comes_from_the_environment_not_the_bundle() {
    let server = TestServer::start();
    let res = server.get("/config.json");
    assert_eq!(res.status, 200);
    assert_eq!(res.header("cache-control"), Some("no-cache"));
    let json: serde_json::Value = serde_json::from_slice(&res.body).expect("JSON");
    assert_eq!(json, serde_json::json!({ "api_base_url": API_BASE_URL }));
}

#[test]
fn healthz_is_ok_and_a_bundle_file_cannot_shadow_it() {
    let server = TestServer::start();
    for method in ["GET", "HEAD"] {
        let res = server.request(method, "/healthz", &[]);
        assert_eq!(res.status, 200, "{method}");
        assert_eq!(res.header("content-length"), Some("2"), "{method}");
        assert_eq!(res.header("cache-control"), Some("no-store"), "{method}");
        let expected: &[u8] = if method == "GET" { b"ok" } else { b"" };
        assert_eq!(res.body, expected, "{method}");
    }
}

#[test]
fn navigations_get_the_index_and_missing_assets_a_real_404() {
    let server = TestServer::start();
    let index = server.site.file("index.html");
    for path in [
        "/",
        "/about",
        "/items/42",
        "/about/",
        "/a/b/c",
        "/index.html",
        "/?x=1",
    ] {
        let res = server.get(path);
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.body, index, "{path}");
        assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    }
    for path in [
        "/missing.js",
        "/x.wasm",
        "/a/b.css",
        "/nested/deep/gone.txt",
        "/app.js.gz",
    ] {
        let res = server.get(path);
        assert_eq!(res.status, 404, "{path}");
        assert!(!res.text().contains(INDEX_MARKER), "{path}: the SPA page");
        assert!(res.body.len() < 100, "{path}: a small body");
        assert_eq!(res.header("vary"), Some("accept"), "{path}");
    }
    // A browser navigating to a path with a dot still gets the page; `fetch` does not.
    let browser = [("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")];
    let page = server.request("GET", "/users/jane.doe", &browser);
    assert_eq!(page.status, 200);
    assert_eq!(page.body, index);
    assert_eq!(page.header("vary"), Some("accept-encoding, accept"));
    let fetch = server.request("GET", "/users/jane.doe", &[("Accept", "*/*")]);
    assert_eq!(fetch.status, 404);
}

#[test]
fn symlinks_inside_the_root_are_served() {
    let server = TestServer::start();
    let res = server.get("/alias.css");
    assert_eq!(res.status, 200);
    assert_eq!(res.body, server.site.file(CSS));
}

#[test]
fn head_has_the_headers_of_get_and_no_body() {
    let server = TestServer::start();
    for (path, encoding) in [
        (format!("/{WASM}"), "gzip"),
        (format!("/{JS}"), "br"),
        ("/".into(), "identity"),
        ("/config.json".into(), "br"),
        ("/missing.js".into(), "br"),
    ] {
        let accept = [("Accept-Encoding", encoding)];
        let get = server.request("GET", &path, &accept);
        let head = server.request("HEAD", &path, &accept);
        assert_eq!(head.status, get.status, "{path}");
        assert!(head.body.is_empty(), "{path}: HEAD has a body");
        for name in [
            "content-type",
            "content-length",
            "content-encoding",
            "etag",
            "cache-control",
            "vary",
            "content-security-policy",
        ] {
            assert_eq!(head.header(name), get.header(name), "{path}: {name}");
        }
        assert_eq!(
            get.header("content-length"),
            Some(get.body.len().to_string().as_str()),
            "{path}"
        );
    }
}

#[test]
fn other_methods_get_405_with_allow() {
    let server = TestServer::start();
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
        for path in ["/", "/index.html", "/healthz", "/missing.js"] {
            let res = server.request(method, path, &[("Content-Length", "0")]);
            assert_eq!(res.status, 405, "{method} {path}");
            assert_eq!(res.header("allow"), Some("GET, HEAD"), "{method} {path}");
            assert_security_headers(&res, method);
        }
    }
}

#[test]
fn every_response_carries_the_security_headers() {
    let server = TestServer::start();
    let index = server.get("/");
    let etag = index.header("etag").expect("an etag").to_owned();
    let cases = [
        ("GET", "/".to_owned(), vec![]),
        ("GET", format!("/{WASM}"), vec![("Accept-Encoding", "br")]),
        ("GET", "/config.json".into(), vec![]),
        ("GET", "/healthz".into(), vec![]),
        ("GET", "/about".into(), vec![]),
        ("GET", "/missing.js".into(), vec![]),
        ("GET", "/../secret.txt".into(), vec![]),
        ("GET", "/".into(), vec![("If-None-Match", etag.as_str())]),
        ("HEAD", "/".into(), vec![]),
        ("POST", "/".into(), vec![("Content-Length", "0")]),
    ];
    for (method, path, headers) in cases {
        let res = server.request(method, &path, &headers);
        assert_security_headers(&res, &format!("{method} {path} ({})", res.status));
    }
}

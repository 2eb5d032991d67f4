use crate::helpers::{INDEX_MARKER, RawResponse, TestServer, raw, request};

/// Answers to an attempt must be refusals that reveal nothing: no secret, no system file.
fn assert_refused(server: &TestServer, res: &RawResponse, what: &str) {
    assert!(
        res.status == 400 || res.status == 404,
        "{what}: status {}",
        res.status
    );
    assert_reveals_nothing(server, res, what);
}

fn assert_reveals_nothing(server: &TestServer, res: &RawResponse, what: &str) {
    let text = res.text();
    assert!(
        !text.contains(&server.site.secret),
        "{what}: the secret leaked"
    );
    assert!(!text.contains("root:"), "{what}: /etc/passwd leaked");
    assert!(!text.contains("HIDDEN=1"), "{what}: a hidden file leaked");
}

#[test]
fn every_traversal_form_is_refused_over_raw_http() {
    let server = TestServer::start();
    for path in [
        // Plain dot segments.
        "/../secret.txt",
        "/../../secret.txt",
        "/../../../../../../etc/passwd",
        "/..",
        "/nested/../../secret.txt",
        "/./../secret.txt",
        "/nested/./deep/../../../secret.txt",
        // Percent-encoded dots, slashes and backslashes, any case.
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/nested%2f..%2f..%2fsecret.txt",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/..%5csecret.txt",
        "/%2e%2e%5csecret.txt",
        "/..%5C..%5Cetc%5Cpasswd",
        // Double encoding.
        "/%252e%252e%252fsecret.txt",
        "/%252e%252e/secret.txt",
        "/..%252fsecret.txt",
        // NUL bytes.
        "/index.html%00",
        "/secret.txt%00.js",
        "/%00",
        "/..%00/secret.txt",
        // Overlong UTF-8 for `.` and `/`.
        "/%c0%ae%c0%ae/secret.txt",
        "/%c0%ae%c0%ae%c0%afsecret.txt",
        "/%e0%80%ae%e0%80%ae/secret.txt",
        "/%c0%2e%c0%2e/secret.txt",
        "/%f0%80%80%ae%f0%80%80%ae/secret.txt",
        // Absolute paths and empty segments.
        "//etc/passwd",
        "//secret.txt",
        "///../secret.txt",
        "/nested//../../secret.txt",
        // Absolute-form request target.
        "http://localhost/../secret.txt",
        "http://localhost/%2e%2e/secret.txt",
        // Symlinks in the root that lead out of it.
        "/leak.txt",
        "/abs-leak.txt",
        "/leakdir/secret.txt",
        "/leakdir/dist/index.html",
        "/loop/leakdir/secret.txt",
        // Malformed escapes.
        "/%",
        "/%2",
        "/%zz/secret.txt",
    ] {
        let res = request(server.addr, "GET", path, &[]);
        assert_refused(&server, &res, path);
        let res = request(server.addr, "HEAD", path, &[]);
        assert_refused(&server, &res, &format!("HEAD {path}"));
        // A browser navigation to a clean path that names no file (`/leak.txt`) gets the SPA
        // page, by the fallback rule; anything else is still refused.
        let html = [("Accept", "text/html")];
        let res = request(server.addr, "GET", path, &html);
        let what = format!("{path} as a navigation");
        if res.status == 200 {
            assert!(
                res.text().contains(INDEX_MARKER),
                "{what}: 200 but not the SPA page"
            );
            assert_reveals_nothing(&server, &res, &what);
        } else {
            assert_refused(&server, &res, &what);
        }
    }
}

#[test]
fn raw_backslashes_and_nul_bytes_on_the_wire_are_refused() {
    let server = TestServer::start();
    for bytes in [
        &b"GET /..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
        b"GET \\..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /nested\\..\\..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /secret.txt\0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /\0/../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET ../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ] {
        let what = String::from_utf8_lossy(bytes);
        let res = raw(server.addr, bytes);
        assert_refused(&server, &res, &what);
    }
}

#[test]
fn the_symlinked_secret_is_not_even_loaded() {
    let server = TestServer::start();
    let bundle = web_server::bundle::Bundle::load(&server.site.root()).expect("loads");
    for key in ["leak.txt", "abs-leak.txt", "leakdir/secret.txt", ".env"] {
        assert!(bundle.get(key).is_none(), "{key} was loaded");
    }
    assert!(bundle.get("alias.css").is_some());
    assert!(bundle.get("nested/deep/page.txt").is_some());
}

#[test]
fn hidden_files_are_not_served() {
    let server = TestServer::start();
    let res = server.get("/.env");
    // `.env` has no extension: a navigation, so the SPA page, never the file.
    assert!(!res.text().contains("HIDDEN=1"));
}

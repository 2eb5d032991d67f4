//! The dev live-reload channel: on with `WEB_DEV_RELOAD=1` in a build with the `live-reload`
//! feature (`cargo test --features web-server/live-reload`, as `cargo xtask test` runs),
//! absent otherwise.

use crate::helpers::{INDEX_MARKER, RawResponse, Site, TestBinary, TestServer, request};

/// The index through every `Accept-Encoding` a client might send, and through the SPA
/// fallback; each must be the whole page, so all are compared as identity bodies.
const INDEX_REQUESTS: &[(&str, &str)] = &[
    ("/", ""),
    ("/", "br, gzip"),
    ("/", "gzip"),
    ("/", "br"),
    ("/index.html", "br, gzip"),
    ("/about", "gzip, deflate, br, zstd"),
];

fn get_index(addr: std::net::SocketAddr, path: &str, encoding: &str) -> RawResponse {
    let headers: &[(&str, &str)] = if encoding.is_empty() {
        &[]
    } else {
        &[("Accept-Encoding", encoding)]
    };
    let res = request(addr, "GET", path, headers);
    assert_eq!(res.status, 200, "{path} {encoding:?}");
    res
}

/// The dev routes are not there: `/_dev/boot-id` is an SPA navigation like any other,
/// the script a missing asset.
fn assert_off(addr: std::net::SocketAddr) {
    for &(path, encoding) in INDEX_REQUESTS {
        let res = get_index(addr, path, encoding);
        let body = match res.header("content-encoding") {
            Some("br") => crate::helpers::unbrotli(&res.body),
            Some("gzip") => crate::helpers::gunzip(&res.body),
            _ => res.body.clone(),
        };
        let body = String::from_utf8(body).expect("UTF-8");
        assert!(body.contains(INDEX_MARKER), "{path} {encoding:?}");
        assert!(!body.contains("live-reload"), "{path} {encoding:?}: {body}");
    }
    let boot = request(addr, "GET", "/_dev/boot-id", &[]);
    assert_eq!(boot.status, 200);
    assert_eq!(
        boot.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(boot.text().contains(INDEX_MARKER), "not the SPA page");
    assert_eq!(
        request(addr, "GET", "/_dev/live-reload.js", &[]).status,
        404
    );
}

#[test]
fn off_by_default_in_process() {
    let server = TestServer::start();
    assert_off(server.addr);
}

#[test]
fn off_in_the_binary_when_unset_or_0() {
    for env in [&[][..], &[("WEB_DEV_RELOAD", "0")]] {
        let site = Site::new();
        let root = site.root().display().to_string();
        let mut vars = vec![("WEB_ROOT", root.as_str())];
        vars.extend_from_slice(env);
        let server = TestBinary::spawn(&vars);
        assert_off(server.addr);
        let events = server.log_events();
        assert!(
            !events.iter().any(|e| e["message"]
                .as_str()
                .is_some_and(|m| m.contains("live reload"))),
            "{env:?}: {events:?}"
        );
    }
}

#[cfg(feature = "live-reload")]
mod on {
    use std::net::SocketAddr;

    use super::{INDEX_REQUESTS, get_index};
    use crate::{
        binary::assert_one_line_naming,
        helpers::{INDEX_MARKER, Site, TestBinary, TestServer, request},
    };

    const TAG: &str = r#"<script type="module" src="/_dev/live-reload.js"></script>"#;

    fn boot_id(addr: SocketAddr) -> String {
        let res = request(addr, "GET", "/_dev/boot-id", &[]);
        assert_eq!(res.status, 200);
        assert_eq!(
            res.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(res.header("cache-control"), Some("no-store"));
        let id = res.text();
        assert_eq!(id.len(), 16, "{id:?}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id:?}");
        id
    }

    /// Every representation of the index carries the tag once, before the first `</head>`.
    fn assert_injected(addr: SocketAddr) {
        for &(path, encoding) in INDEX_REQUESTS {
            let res = get_index(addr, path, encoding);
            // The stale br/gzip were dropped: identity, whatever was asked.
            assert_eq!(res.header("content-encoding"), None, "{path} {encoding:?}");
            let body = res.text();
            assert!(body.contains(INDEX_MARKER), "{path} {encoding:?}");
            assert_eq!(body.matches(TAG).count(), 1, "{path} {encoding:?}: {body}");
            let tag = body.find(TAG).expect("the tag");
            assert_eq!(body.find("</head>"), Some(tag + TAG.len()), "{body}");
            assert_eq!(
                res.header("content-length"),
                Some(body.len().to_string().as_str())
            );
        }
    }

    #[test]
    fn index_carries_the_script_in_every_encoding_with_its_own_etag() {
        let server = TestServer::start_live_reload();
        let plain = TestServer::start();
        assert_injected(server.addr);

        let injected = server.get("/");
        let original = plain.get("/");
        let etag = injected.header("etag").expect("an ETag");
        assert_ne!(Some(etag), original.header("etag"));
        assert_eq!(
            injected.header("cache-control"),
            original.header("cache-control")
        );
        // The CSP is the same: the same-origin script and polls need nothing new.
        assert_eq!(
            injected.header("content-security-policy"),
            original.header("content-security-policy")
        );
        let again = server.request("GET", "/", &[("If-None-Match", etag)]);
        assert_eq!(again.status, 304);
        let stale = original.header("etag").expect("an ETag");
        assert_eq!(
            server
                .request("GET", "/", &[("If-None-Match", stale)])
                .status,
            200
        );
    }

    #[test]
    fn the_script_and_the_boot_id_are_served() {
        let server = TestServer::start_live_reload();
        let js = server.get("/_dev/live-reload.js");
        assert_eq!(js.status, 200);
        assert_eq!(
            js.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(js.header("cache-control"), Some("no-store"));
        assert!(js.header("content-security-policy").is_some());
        let script = js.text();
        for needle in [
            r#"fetch("/_dev/boot-id", { cache: "no-store" })"#,
            "location.reload()",
            "500",
        ] {
            assert!(script.contains(needle), "{needle}: {script}");
        }

        let id = boot_id(server.addr);
        assert_eq!(boot_id(server.addr), id, "stable for the process's life");
        let head = server.request("HEAD", "/_dev/boot-id", &[]);
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_eq!(server.request("POST", "/_dev/boot-id", &[]).status, 405);
    }

    #[test]
    fn an_edited_stylesheet_is_served_from_disk_as_it_changes() {
        let server = TestServer::start_live_reload();
        assert_eq!(server.get("/_dev/style.css").status, 404, "none edited yet");
        let file = server.site.root().join("_dev/style.css");
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        for css in ["h1 { color: red }", "h1 { color: blue }"] {
            std::fs::write(&file, css).expect("write");
            let res = server.get("/_dev/style.css?12345");
            assert_eq!(res.status, 200);
            assert_eq!(res.header("content-type"), Some("text/css; charset=utf-8"));
            assert_eq!(res.header("cache-control"), Some("no-store"));
            assert_eq!(res.text(), css);
        }
        let script = server.get("/_dev/live-reload.js").text();
        assert!(script.contains(r#"fetch("/_dev/style.css""#), "{script}");
    }

    #[test]
    fn two_servers_have_different_boot_ids() {
        let a = TestServer::start_live_reload();
        let b = TestServer::start_live_reload();
        assert_ne!(boot_id(a.addr), boot_id(b.addr));
    }

    #[test]
    fn web_dev_reload_1_turns_it_on_in_the_binary_with_a_boot_id_per_start() {
        let site = Site::new();
        let root = site.root().display().to_string();
        let env = [("WEB_ROOT", root.as_str()), ("WEB_DEV_RELOAD", "1")];
        let first = TestBinary::spawn(&env);
        assert_injected(first.addr);
        let js = request(first.addr, "GET", "/_dev/live-reload.js", &[]);
        assert_eq!(js.status, 200);
        assert_eq!(
            js.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        let id = boot_id(first.addr);
        let events = first.log_events();
        let on: Vec<_> = events
            .iter()
            .filter(|e| {
                e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("live reload on"))
            })
            .collect();
        assert_eq!(on.len(), 1, "one info line: {events:?}");
        assert_eq!(on[0]["level"], "INFO");
        assert_eq!(on[0]["boot_id"], id.as_str());

        // What `cargo xtask dev` does after a rebuild: a new process, a new id.
        drop(first);
        let second = TestBinary::spawn(&env);
        assert_ne!(boot_id(second.addr), id);
    }

    #[test]
    fn a_bad_value_exits_1_naming_web_dev_reload() {
        let site = Site::new();
        let root = site.root().display().to_string();
        for bad in ["maybe", "true", "yes", "2", ""] {
            assert_one_line_naming(
                &[("WEB_ROOT", &root), ("WEB_DEV_RELOAD", bad)],
                "WEB_DEV_RELOAD",
            );
        }
    }
}

/// A build without the feature (a release build, an image) has no live reload: the
/// variable, even a bad value, is ignored.
#[cfg(not(feature = "live-reload"))]
#[test]
fn a_build_without_the_feature_ignores_web_dev_reload() {
    for value in ["1", "maybe"] {
        let site = Site::new();
        let root = site.root().display().to_string();
        let server = TestBinary::spawn(&[("WEB_ROOT", &root), ("WEB_DEV_RELOAD", value)]);
        assert_off(server.addr);
    }
}

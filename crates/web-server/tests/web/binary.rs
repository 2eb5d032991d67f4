use std::time::Duration;

use nix::sys::signal::Signal;

use crate::helpers::{Site, TempDir, TestBinary, request, run_to_exit};

pub fn assert_one_line_naming(env: &[(&str, &str)], var: &str) -> String {
    let (status, stderr) = run_to_exit(env);
    assert_eq!(status.code(), Some(1), "{env:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{env:?}: one line, got {stderr:?}");
    assert!(lines[0].starts_with("web-server: "), "{env:?}: {stderr:?}");
    assert!(lines[0].contains(var), "{env:?}: {stderr:?}");
    stderr
}

#[test]
fn bad_values_exit_1_with_one_line_naming_the_variable() {
    let site = Site::new();
    let root = site.root().display().to_string();
    for (var, value) in [
        ("WEB_PORT", "abc"),
        ("WEB_PORT", "70000"),
        ("WEB_PORT", "-1"),
        ("WEB_PORT", ""),
        ("API_BASE_URL", "localhost:3080"),
        ("API_BASE_URL", "/api"),
        ("API_BASE_URL", "ftp://example.com"),
        ("API_BASE_URL", "not a url"),
        ("LOG_FORMAT", "xml"),
        ("WEB_MAX_CONNECTIONS", "0"),
        ("WEB_MAX_CONNECTIONS", "-1"),
        ("WEB_MAX_CONNECTIONS", "1000001"),
        ("WEB_MAX_CONNECTIONS", "many"),
        ("WEB_MAX_CONNECTIONS", ""),
    ] {
        assert_one_line_naming(&[("WEB_ROOT", &root), (var, value)], var);
    }
}

#[test]
fn a_missing_or_empty_web_root_is_named() {
    let empty = TempDir::new();
    let missing = empty.path().join("nope");
    let file = empty.path().join("file");
    std::fs::write(&file, "x").expect("write");
    for root in [&missing, empty.path(), &file] {
        let root = root.display().to_string();
        let stderr = assert_one_line_naming(&[("WEB_ROOT", &root)], "WEB_ROOT");
        assert!(stderr.contains(&root), "{stderr}");
    }
    let stderr = assert_one_line_naming(
        &[("WEB_ROOT", &empty.path().display().to_string())],
        "WEB_ROOT",
    );
    assert!(stderr.contains("index.html"), "{stderr}");
}

#[test]
fn a_port_in_use_is_named() {
    let site = Site::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let root = site.root().display().to_string();
    let stderr = assert_one_line_naming(&[("WEB_ROOT", &root), ("WEB_PORT", &port)], "WEB_PORT");
    assert!(stderr.contains(&port), "{stderr}");
}

#[test]
fn config_json_is_built_from_the_environment() {
    let site = Site::new();
    let root = site.root().display().to_string();
    let api = "https://randoms-api.example.org";
    let server = TestBinary::spawn(&[("WEB_ROOT", &root), ("API_BASE_URL", api)]);
    let res = request(server.addr, "GET", "/config.json", &[]);
    assert_eq!(res.status, 200);
    let json: serde_json::Value = serde_json::from_slice(&res.body).expect("JSON");
    assert_eq!(json, serde_json::json!({ "api_base_url": api }));
    let csp = res.header("content-security-policy").expect("a CSP");
    assert!(csp.contains(&format!("connect-src 'self' {api};")), "{csp}");
}

#[test]
fn sigterm_and_sigint_drain_and_exit_0_with_an_access_log() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let site = Site::new();
        let root = site.root().display().to_string();
        let mut server = TestBinary::spawn(&[("WEB_ROOT", &root)]);
        let res = request(server.addr, "GET", "/about", &[]);
        assert_eq!(res.status, 200);
        let res = request(server.addr, "GET", "/missing.js", &[]);
        assert_eq!(res.status, 404);
        // An idle keep-alive connection must not hold the exit up.
        let idle = std::net::TcpStream::connect(server.addr).expect("connect");

        server.signal(signal);
        let status = server.wait_exit(Duration::from_secs(15));
        assert_eq!(status.code(), Some(0), "{signal}: {status}");
        drop(idle);
        assert!(
            std::net::TcpStream::connect(server.addr).is_err(),
            "{signal}: still accepting"
        );

        let events = server.log_events();
        let access: Vec<_> = events
            .iter()
            .filter(|e| e["target"] == "web_server::access")
            .collect();
        assert_eq!(
            access.len(),
            2,
            "{signal}: one line per request: {events:?}"
        );
        let about = access[0];
        assert_eq!(about["method"], "GET");
        assert_eq!(about["path"], "/about");
        assert_eq!(about["status"], 200);
        assert_eq!(about["bytes"], site.file("index.html").len());
        assert!(about["latency_ms"].as_f64().is_some(), "{about}");
        assert_eq!(access[1]["status"], 404);
        assert!(
            events.iter().any(|e| e["message"] == "stopped"),
            "{signal}: {events:?}"
        );
    }
}

//! The checks against a real HTTP server on loopback answering what each check must accept
//! or refuse. (The images test runs them against the real API and static server.)

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    thread,
};

/// Serves `routes` (path → status, body) until the test ends; its base URL.
fn serve(routes: &'static [(&'static str, u16, &'static str)]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {}
            let (status, body) = routes
                .iter()
                .find(|(p, ..)| *p == path)
                .map_or((404, "not found"), |(_, s, b)| (*s, *b));
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[test]
fn a_release_that_answers_as_it_should_passes() {
    let base = serve(&[
        ("/ready", 200, r#"{"status":"ready"}"#),
        ("/randoms", 200, r#"[{"id":1,"name":"x"}]"#),
        ("/", 200, "<!doctype html><html><body></body></html>"),
        (
            "/config.json",
            200,
            r#"{"api_base_url":"https://api.example"}"#,
        ),
    ]);
    smoke::ready(&base, "/ready").expect("ready");
    assert_eq!(smoke::lists(&base).expect("a list"), 1);
    smoke::page(&base).expect("the page");
    smoke::config_names(&base, "https://api.example").expect("the API named");
}

#[test]
fn each_check_refuses_what_is_wrong_and_says_what_it_got() {
    let base = serve(&[
        (
            "/ready",
            503,
            r#"{"status":"not ready","reason":"schema at version 2"}"#,
        ),
        ("/randoms", 200, r#"{"items":[]}"#),
        ("/", 200, "plain text"),
        (
            "/config.json",
            200,
            r#"{"api_base_url":"http://localhost:3080"}"#,
        ),
    ]);
    let ready = smoke::ready(&base, "/ready").expect_err("503").to_string();
    assert!(
        ready.contains("503") && ready.contains("schema at version 2"),
        "{ready}"
    );
    let list = smoke::lists(&base).expect_err("an object").to_string();
    assert!(list.contains("not a JSON array"), "{list}");
    assert!(smoke::page(&base).is_err());
    let config = smoke::config_names(&base, "https://api.example").expect_err("another API");
    assert!(
        config.to_string().contains("expected api_base_url"),
        "{config}"
    );
    let gone = smoke::ready("http://127.0.0.1:9", "/ready").expect_err("nothing listens");
    assert!(
        gone.to_string()
            .starts_with("GET http://127.0.0.1:9/ready: "),
        "{gone}"
    );
}

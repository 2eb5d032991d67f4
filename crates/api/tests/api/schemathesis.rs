//! Bad input, generated: schemathesis (PyPI) reads `/openapi.json` and throws valid and
//! invalid requests at every documented operation of the real binary. No answer may be a
//! 5xx, and every answer must be one the document promises (status, content type, headers,
//! body schema).
//!
//! `.ci/run` installs it and sets `SCHEMATHESIS` to its `st`; elsewhere `st` or
//! `schemathesis` on `PATH` is used. Without any, the test is skipped with a note, except
//! in CI (`CI` set), where it fails.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;

use crate::helpers::{TestApi, json};

/// Every check that applies to an API without authentication or deletions: no 5xx; status,
/// content type, headers and body as documented; invalid input (per the document) refused
/// with a 4xx and valid input accepted; undocumented methods answered 405 with `Allow`.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,\
                      negative_data_rejection,positive_data_acceptance,unsupported_method,\
                      allow_header_conformance";
/// Test cases per operation and phase: enough to hit every documented parameter with
/// valid, boundary and invalid values; bounded so the run takes well under a minute.
const MAX_EXAMPLES: &str = "100";
/// Only a hung run reaches it.
const HANG_LIMIT: Duration = Duration::from_secs(300);

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let Some(st) = schemathesis() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "schemathesis is not installed, and CI must run this test: \
             set SCHEMATHESIS to its `st` (`.ci/run` does)"
        );
        eprintln!(
            "skipped: schemathesis not installed (`pip install schemathesis`, or set \
             SCHEMATHESIS to its `st`)"
        );
        return;
    };
    let api = TestApi::spawn().await;
    let schema = api.url("/openapi.json");
    // Its example database and any config file it looks for stay out of the work tree.
    let scratch = std::env::temp_dir().join(format!("api-schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("a scratch directory");
    let mut cmd = tokio::process::Command::new(&st);
    cmd.args(["run", &schema, "--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--workers", "2", "--request-timeout", "10"])
        .args(["--generation-database", "none", "--no-color"])
        // An endless event stream cannot be fuzzed by request and answer (events.rs).
        .args(["--exclude-path", "/randoms/events"])
        .current_dir(&scratch)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(HANG_LIMIT, cmd.output())
        .await
        .expect("schemathesis finished")
        .expect("run schemathesis");
    let status = out.status;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!("{output}");
    let warnings: Vec<String> = api
        .log_events()
        .into_iter()
        .filter(|e| e["level"] != "INFO")
        .map(|e| e.to_string())
        .collect();
    assert!(
        status.success(),
        "schemathesis found problems (exit {status}); its report is above. The API's \
         warnings and errors:\n{}",
        warnings.join("\n")
    );
    // It really ran: a run that tested nothing also exits 0.
    assert!(
        output.contains("passed") && !output.contains("No operations"),
        "schemathesis tested nothing"
    );
    let served: usize = api
        .log_events()
        .iter()
        .filter(|e| e["message"] == "request")
        .count();
    assert!(served > 100, "only {served} requests reached the API");
}

/// `SCHEMATHESIS`, else `st` or `schemathesis` on `PATH`.
fn schemathesis() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SCHEMATHESIS").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    ["st", "schemathesis"]
        .into_iter()
        .filter_map(processes::find_program)
        .find(|candidate| {
            Command::new(candidate)
                .arg("--version")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .output()
                .is_ok_and(|out| {
                    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("version")
                })
        })
}

/// Found by schemathesis: `limit` was documented as a required *path* parameter of
/// `/randoms` (utoipa's default for `IntoParams`), which has no `{limit}` in it, so a client
/// generated from the document could not send it at all. Every path parameter must name a
/// placeholder of its path and every placeholder must be documented; `limit` is an optional
/// query parameter, an integer in 1..=100.
#[tokio::test]
async fn parameters_are_documented_where_the_api_reads_them() {
    let api = TestApi::spawn().await;
    let doc = json(api.get("/openapi.json").await).await;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, operations) in paths {
        let placeholders: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, operation) in operations.as_object().expect("operations") {
            let params = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let in_path: Vec<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().expect("a name"))
                .collect();
            assert_eq!(in_path, placeholders, "{method} {path}: path parameters");
            for p in params.iter().filter(|p| p["in"] == "path") {
                assert_eq!(p["required"], true, "{method} {path}: {p}");
            }
        }
    }
    let list = doc["paths"]["/randoms"]["get"]["parameters"]
        .as_array()
        .expect("GET /randoms has parameters");
    let limit: Vec<&Value> = list.iter().filter(|p| p["name"] == "limit").collect();
    assert_eq!(limit.len(), 1, "{list:?}");
    let limit = limit[0];
    assert_eq!(limit["in"], "query", "{limit}");
    assert_eq!(limit["required"], false, "{limit}");
    assert_eq!(limit["schema"]["type"], "integer", "{limit}");
    assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
    assert_eq!(limit["schema"]["maximum"], 100, "{limit}");
}

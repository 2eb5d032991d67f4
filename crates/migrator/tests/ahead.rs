//! A rollback's migrator meets a newer release's schema, against a real PostgreSQL: with
//! every migration of this build applied unchanged, `up` has nothing to do and says the
//! database is ahead; a changed or skipped migration of this build stays an error.

mod common;

use common::{connect, count, fresh_db, migrator, run};

const LATEST: i32 = 3;

/// Migrates with this build, then records a migration of a newer one (version 4).
async fn migrated_by_a_newer_release() -> (String, tokio_postgres::Client) {
    let url = fresh_db().await;
    run(&mut migrator(&url, &["up"])).success();
    let db = connect(&url).await;
    db.batch_execute(
        "insert into refinery_schema_history (version, name, applied_on, checksum) \
         values (4, 'add_labels', '2026-12-01T10:00:00Z', '1234567890')",
    )
    .await
    .expect("record version 4");
    (url, db)
}

#[tokio::test]
async fn up_on_a_newer_schema_says_it_is_ahead_and_changes_nothing() {
    let (url, db) = migrated_by_a_newer_release().await;
    let out = run(&mut migrator(&url, &["up"]));
    out.success();
    let ahead: Vec<&str> = out.stderr.lines().filter(|l| l.contains("ahead")).collect();
    assert_eq!(ahead.len(), 1, "{out:#?}");
    assert!(
        ahead[0].contains("at version 4") && ahead[0].contains(&format!("up to {LATEST}")),
        "{out:#?}"
    );
    let history = "select count(*) from refinery_schema_history";
    assert_eq!(count(&db, history).await, i64::from(LATEST) + 1);

    // A target of this build's is as good as done, too.
    run(&mut migrator(&url, &["up", "--target", "2"])).success();
    let status = run(&mut migrator(&url, &["status"]));
    status.success();
    assert!(status.stdout.contains("add_labels"), "{status:#?}");
}

/// `migrator check` needs no database: it lists each migration's compatibility and what
/// the schema can run.
#[test]
fn check_lists_each_migration_and_the_oldest_compatible_release() {
    let out = run(migrator("postgres://nowhere.invalid/x", &["check"]).env_remove("DATABASE_URL"));
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "V1__create_randoms  expand",
            "V2__seed_randoms  expand",
            "V3__notify_changes  expand",
            "schema 3: releases built for schema 0 or later run on it",
        ],
        "{out:#?}"
    );
}

#[tokio::test]
async fn a_changed_migration_of_this_build_is_still_an_error() {
    let (url, db) = migrated_by_a_newer_release().await;
    db.batch_execute("update refinery_schema_history set checksum = '1' where version = 2")
        .await
        .expect("change the checksum");
    let line = run(&mut migrator(&url, &["up"])).failure();
    assert!(
        line.contains("V2__seed_randoms") && line.contains("different script"),
        "{line}"
    );
}

#[tokio::test]
async fn a_migration_of_this_build_missing_under_a_newer_one_is_still_an_error() {
    let (url, db) = migrated_by_a_newer_release().await;
    db.batch_execute("delete from refinery_schema_history where version = 3")
        .await
        .expect("forget version 3");
    let line = run(&mut migrator(&url, &["up"])).failure();
    assert!(
        line.contains("V3__notify_changes") && line.contains("never applied"),
        "{line}"
    );
    let history = "select count(*) from refinery_schema_history where version = 3";
    assert_eq!(
        count(&db, history).await,
        0,
        "nothing was applied out of order"
    );
}

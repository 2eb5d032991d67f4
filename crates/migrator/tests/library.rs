//! The library API the API crate and the binary build on, against a real PostgreSQL.

mod common;

use std::time::Duration;

use common::{connect, count, fresh_db, table_exists};
use db::DbSettings;
use migrator::{Error, State, Step};
use tokio_postgres::Client;

async fn migrator_client(url: &str) -> Client {
    migrator::connect(&DbSettings::from_url(url), Duration::from_secs(10))
        .await
        .expect("connect through the migrator")
}

fn steps(list: &[(i32, &str)]) -> Vec<Step> {
    list.iter()
        .map(|(version, name)| Step {
            version: *version,
            name: (*name).to_owned(),
        })
        .collect()
}

#[test]
fn latest_version_is_the_highest_embedded_migration() {
    assert_eq!(migrator::latest_version(), 3);
}

#[tokio::test]
async fn applied_version_follows_up_and_down() {
    let url = fresh_db().await;
    let mut client = migrator_client(&url).await;
    // No history table yet: no version, and no error.
    assert_eq!(
        migrator::applied_version(&client).await.expect("query"),
        None
    );

    let report = migrator::up(&mut client, Some(1)).await.expect("up to 1");
    assert_eq!(report.applied, steps(&[(1, "create_randoms")]));
    assert_eq!(report.version, Some(1));
    assert_eq!(
        migrator::applied_version(&client).await.expect("query"),
        Some(1)
    );

    let report = migrator::up(&mut client, None).await.expect("up");
    assert_eq!(
        report.applied,
        steps(&[(2, "seed_randoms"), (3, "notify_changes")])
    );
    assert_eq!(
        migrator::applied_version(&client).await.expect("query"),
        Some(3)
    );

    let report = migrator::up(&mut client, None).await.expect("up again");
    assert!(report.applied.is_empty());
    assert_eq!(report.version, Some(3));

    let report = migrator::down(&mut client, Some(0))
        .await
        .expect("down to 0");
    assert_eq!(
        report.reverted,
        steps(&[
            (3, "notify_changes"),
            (2, "seed_randoms"),
            (1, "create_randoms")
        ])
    );
    assert_eq!(report.version, None);
    // The history table stays (empty), as refinery would leave it.
    assert_eq!(
        migrator::applied_version(&client).await.expect("query"),
        None
    );
}

#[tokio::test]
async fn status_lists_every_embedded_migration() {
    let url = fresh_db().await;
    let mut client = migrator_client(&url).await;
    let status = migrator::status(&client).await.expect("status");
    assert_eq!(status.state_of(1), Some(State::Pending));
    assert_eq!(status.state_of(2), Some(State::Pending));
    assert!(status.rows.iter().all(|r| r.applied_on.is_none()));

    migrator::up(&mut client, Some(1)).await.expect("up to 1");
    let status = migrator::status(&client).await.expect("status");
    assert_eq!(status.state_of(1), Some(State::Applied));
    assert_eq!(status.state_of(2), Some(State::Pending));
    assert!(status.rows[0].applied_on.is_some());
}

#[tokio::test]
async fn reverting_the_seed_keeps_rows_added_since() {
    let url = fresh_db().await;
    let mut client = migrator_client(&url).await;
    migrator::up(&mut client, Some(1)).await.expect("up to 1");
    // Rows written before the seed (the API running at V1) and after it.
    client
        .batch_execute("insert into randoms default values")
        .await
        .expect("insert before the seed");
    migrator::up(&mut client, None).await.expect("seed");
    client
        .batch_execute("insert into randoms default values; insert into randoms default values")
        .await
        .expect("insert after the seed");
    assert_eq!(count(&client, "select count(*) from randoms").await, 103);

    migrator::down(&mut client, Some(1))
        .await
        .expect("revert the seed (and V3 above it)");
    assert_eq!(count(&client, "select count(*) from randoms").await, 3);

    // Seeding again after a revert, and reverting again, still removes just the seed.
    migrator::up(&mut client, None).await.expect("seed again");
    assert_eq!(count(&client, "select count(*) from randoms").await, 103);
    migrator::down(&mut client, Some(1))
        .await
        .expect("revert again");
    assert_eq!(count(&client, "select count(*) from randoms").await, 3);
}

#[tokio::test]
async fn down_refuses_migrations_it_does_not_know() {
    let url = fresh_db().await;
    let mut client = migrator_client(&url).await;
    migrator::up(&mut client, None).await.expect("up");

    // A version applied by some newer build: nothing here can undo it.
    client
        .batch_execute(
            "insert into refinery_schema_history (version, name, applied_on, checksum) \
             values (99, 'from_the_future', '2030-01-01T00:00:00Z', '1')",
        )
        .await
        .expect("fake a newer migration");
    let err = migrator::down(&mut client, None)
        .await
        .expect_err("refused");
    assert!(
        matches!(err, Error::NotEmbedded { version: 99, .. }),
        "{err}"
    );
    let status = migrator::status(&client).await.expect("status");
    assert_eq!(status.state_of(99), Some(State::Unknown));

    // V2 recorded with another script: its down script may not match, so it is refused,
    // and `down --target 0` refuses before reverting anything.
    client
        .batch_execute(
            "delete from refinery_schema_history where version = 99; \
             update refinery_schema_history set checksum = '42' where version = 2",
        )
        .await
        .expect("fake a divergent V2");
    let err = migrator::down(&mut client, Some(0))
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Divergent { version: 2, .. }), "{err}");
    assert!(table_exists(&client, "randoms").await);
    assert_eq!(count(&client, "select count(*) from randoms").await, 100);
    let status = migrator::status(&client).await.expect("status");
    assert_eq!(status.state_of(2), Some(State::Divergent));
}

#[tokio::test]
async fn a_failed_revert_leaves_schema_and_history_as_they_were() {
    let url = fresh_db().await;
    let mut client = migrator_client(&url).await;
    migrator::up(&mut client, None).await.expect("up");
    // Make V1's down script fail: a view depends on the table it drops.
    let other = connect(&url).await;
    other
        .batch_execute(
            "delete from randoms; \
             drop trigger randoms_changed on randoms; drop function randoms_changed(); \
             delete from refinery_schema_history where version in (2, 3); \
             create view latest as select * from randoms",
        )
        .await
        .expect("set up a blocking dependency");

    let err = migrator::down(&mut client, None)
        .await
        .expect_err("drop is blocked");
    assert!(matches!(err, Error::Revert { version: 1, .. }), "{err}");
    assert!(table_exists(&client, "randoms").await);
    assert_eq!(
        migrator::applied_version(&client).await.expect("query"),
        Some(1)
    );
    // The lock was released: another session can migrate.
    let mut second = migrator_client(&url).await;
    migrator::up(&mut second, None)
        .await
        .expect("up from another session");
}

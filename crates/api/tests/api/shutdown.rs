use std::time::Duration;

use nix::sys::signal::Signal;

use crate::helpers::{TestApi, connect, json};

/// A request held up in the database is still answered after SIGTERM, and then the
/// process exits 0.
#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits_zero() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let mut api = TestApi::spawn().await;
        // Hold a lock that the insert needs, so the POST stays in flight.
        let mut blocker = connect(&api.db_url).await;
        let tx = blocker.transaction().await.expect("begin");
        tx.batch_execute("LOCK TABLE randoms IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");

        let http = api.http.clone();
        let url = api.url("/randoms");
        let in_flight = tokio::spawn(async move { http.post(url).send().await });
        until_an_insert_waits_on_a_lock(&api.db_url).await;

        api.signal(signal);
        // New connections are refused once draining starts.
        crate::helpers::eventually(Duration::from_secs(10), "the listener closes", || async {
            reqwest::get(api.url("/healthz")).await.is_err()
        })
        .await;

        tx.rollback().await.expect("release the lock");
        let res = in_flight
            .await
            .expect("join")
            .expect("the in-flight POST is answered");
        assert_eq!(res.status(), 201, "{signal}");
        let created = json(res).await;
        assert_eq!(created["id"], 101);

        let status = api.wait_exit(Duration::from_secs(30));
        assert!(status.success(), "{signal}: exit {status}");
        let logs = api.logs();
        assert!(logs.contains("shutting down"), "{logs}");
    }
}

/// `SHUTDOWN_TIMEOUT_SECS` bounds the drain: a request stuck forever does not keep the
/// process alive.
#[tokio::test]
async fn the_drain_is_bounded_by_the_shutdown_timeout() {
    let url = crate::helpers::migrated_database().await;
    let mut api = TestApi::spawn_on(&url, &[("SHUTDOWN_TIMEOUT_SECS", "1")]);
    let mut blocker = connect(&url).await;
    let tx = blocker.transaction().await.expect("begin");
    tx.batch_execute("LOCK TABLE randoms IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let http = api.http.clone();
    let post_url = api.url("/randoms");
    let stuck = tokio::spawn(async move { http.post(post_url).send().await });
    until_an_insert_waits_on_a_lock(&url).await;
    api.signal(Signal::SIGTERM);
    let status = api.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "exit {status}");
    assert!(
        stuck.await.expect("join").is_err(),
        "the stuck request was cut off"
    );
    tx.rollback().await.expect("rollback");
}

async fn until_an_insert_waits_on_a_lock(db_url: &str) {
    let watcher = connect(db_url).await;
    crate::helpers::eventually(
        Duration::from_secs(10),
        "the POST waits on the lock",
        || async {
            watcher
                .query_one(
                    // This test's database only: the other tests' inserts may wait too.
                    "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() \
                 AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO randoms%'",
                    &[],
                )
                .await
                .is_ok_and(|row| row.get::<_, i64>(0) == 1)
        },
    )
    .await;
}

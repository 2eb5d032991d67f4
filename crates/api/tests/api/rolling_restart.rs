use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::{
    faults::{Load, Mix, Outcome, summary},
    helpers::{TestApi, connect, eventually, migrated_database},
};

/// Load clients, each with one request in flight at the moment of the signal (fewer than
/// the pool's 16 connections).
const CLIENTS: usize = 12;
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the in-flight requests stay stuck after SIGTERM.
const HELD_AFTER_SIGNAL: Duration = Duration::from_millis(2500);

/// A rolling restart: SIGTERM arrives while a steady load has a request in flight on every
/// client. Every one of them completes successfully, no write happens without its answer,
/// and the process exits 0 well within the shutdown timeout.
#[tokio::test]
async fn sigterm_under_load_completes_every_in_flight_request_then_exits_zero() {
    let url = migrated_database().await;
    let timeout = SHUTDOWN_TIMEOUT.as_secs().to_string();
    let mut api = TestApi::spawn_on(&url, &[("SHUTDOWN_TIMEOUT_SECS", &timeout)]);
    let load = Load::start(&api.url(""), CLIENTS, Mix::PostsAndGets);
    load.until_answered(200, Duration::from_secs(30)).await;

    // Hold the table so that each client's next write stays in flight in the API, then
    // signal once every client has been waiting a good while: the in-flight set is known
    // exactly, whatever the API does with them inside (one statement each or batched,
    // reads from a cache or not).
    let mut blocker = connect(&url).await;
    let tx = blocker.transaction().await.expect("begin");
    tx.batch_execute("LOCK TABLE randoms IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let watcher = connect(&url).await;
    eventually(
        Duration::from_secs(30),
        "every client has a request held up in the API, which waits on the table",
        || async {
            load.all_waiting_for(Duration::from_secs(1))
                && waiting_on_the_table(&watcher).await.is_ok_and(|n| n > 0)
        },
    )
    .await;

    let signalled = Instant::now();
    api.signal(Signal::SIGTERM);
    eventually(Duration::from_secs(10), "the listener closes", || async {
        tokio::net::TcpStream::connect(&api.addr).await.is_err()
    })
    .await;
    // Slow requests: still in flight well past actix's first check for idle workers (1 s
    // after the signal), so only a drain that really waits for them lets them finish.
    tokio::time::sleep(HELD_AFTER_SIGNAL.saturating_sub(signalled.elapsed())).await;
    tx.rollback().await.expect("release the table");

    let status = tokio::task::spawn_blocking(move || {
        let status = api.wait_exit(SHUTDOWN_TIMEOUT + Duration::from_secs(20));
        (status, api)
    });
    let (status, api) = status.await.expect("join");
    let exited_after = signalled.elapsed();
    let outcomes = load.finish().await;
    eprintln!("load: {}; exit after {exited_after:?}", summary(&outcomes));

    assert!(status.success(), "exit {status}:\n{}", api.logs());
    // Not a speed assertion: past the timeout, in-flight requests would have been cut off.
    assert!(
        exited_after < SHUTDOWN_TIMEOUT,
        "exited {exited_after:?} after SIGTERM, not within the {SHUTDOWN_TIMEOUT:?} drain"
    );
    let in_flight: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.started < signalled && o.finished > signalled)
        .collect();
    assert_eq!(in_flight.len(), CLIENTS, "{}", summary(in_flight));
    // Everything sent before the signal was answered successfully, the in-flight ones
    // included. A request sent after it is served, or refused (the listener is closed, a
    // kept-alive connection is closed once its response is out): never an error status.
    let before: Vec<&Outcome> = outcomes.iter().filter(|o| o.started < signalled).collect();
    assert!(
        before.iter().all(|o| o.is_success()),
        "sent before SIGTERM: {}",
        summary(before)
    );
    for o in outcomes.iter().filter(|o| o.started >= signalled) {
        assert!(
            o.result.is_err() || o.is_success(),
            "during the drain: {o:?}"
        );
    }
    // And no write without its answer (a request cut off after its insert would show as
    // a row without a 201): the rows added are exactly the 201s.
    let acknowledged = outcomes.iter().filter_map(Outcome::created_id).count();
    let added: i64 = watcher
        .query_one("SELECT count(*) FROM randoms WHERE id > 100", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(added, acknowledged as i64, "rows added vs 201s received");
}

/// The API's sessions waiting on a lock (the test's own hold it).
async fn waiting_on_the_table(
    watcher: &tokio_postgres::Client,
) -> Result<i64, tokio_postgres::Error> {
    watcher
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
            &[],
        )
        .await
        .map(|row| row.get(0))
}

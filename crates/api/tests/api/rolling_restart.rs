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
const HELD_AFTER_SIGNAL: Duration = Duration::from_millis(2000);

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

    // Hold the table so that each client's next request stays in flight in the API, then
    // signal once every client is waiting there: the in-flight set is known exactly,
    // whatever the API does with them inside (one statement each or batched, reads from a
    // cache or not).
    let blocker = connect(&url).await;
    let watcher = connect(&url).await;
    hold_every_client(&blocker, &watcher, &load).await;
    let signalled = Instant::now();
    api.signal(Signal::SIGTERM);
    eventually(Duration::from_secs(10), "the listener closes", || async {
        tokio::net::TcpStream::connect(&api.addr).await.is_err()
    })
    .await;
    // Slow requests: still in flight well past actix's first check for idle workers (1 s
    // after the signal), so only a drain that really waits for them lets them finish.
    tokio::time::sleep(HELD_AFTER_SIGNAL.saturating_sub(signalled.elapsed())).await;
    release(&blocker).await;

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

/// Locks the table and waits until every client has a request stuck behind it, with time
/// to spare before the oldest reaches the API's own 5 s limits (`QUERY_TIMEOUT`, the POST
/// deadline): it must still succeed after being held [`HELD_AFTER_SIGNAL`] past the signal.
/// On a machine too slow for that, the table is let go and the hold tried again.
async fn hold_every_client(
    blocker: &tokio_postgres::Client,
    watcher: &tokio_postgres::Client,
    load: &Load,
) {
    const OLDEST_AT_SIGNAL: Duration = Duration::from_millis(1800);
    const STUCK: Duration = Duration::from_millis(700);
    for _attempt in 0..5 {
        blocker
            .batch_execute("BEGIN; LOCK TABLE randoms IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let all_stuck = load.all_waiting_for(STUCK)
                && waiting_on_the_table(watcher).await.is_ok_and(|n| n > 0);
            if all_stuck || load.longest_wait() > OLDEST_AT_SIGNAL {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "every client has a request held up in the API: not within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if load.longest_wait() <= OLDEST_AT_SIGNAL {
            // Checked after the last look at every client: none has been stuck longer.
            return;
        }
        eprintln!(
            "hold: a client waited {:?} before all were held up; trying again",
            load.longest_wait()
        );
        release(blocker).await;
        load.until_answered(CLIENTS, Duration::from_secs(30)).await;
    }
    panic!("could not get every client held up within {OLDEST_AT_SIGNAL:?} in 5 tries");
}

async fn release(blocker: &tokio_postgres::Client) {
    blocker
        .batch_execute("ROLLBACK")
        .await
        .expect("release the table");
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

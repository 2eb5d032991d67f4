use std::time::{Duration, Instant};

use crate::{
    faults::{DedicatedPg, Kind, Load, Mix, Outcome, pid_listening_on, rss_kib, summary},
    helpers::{TestApi, connect, json, migrate},
};

/// How long a request may wait for a pool connection (`Settings::pool`): past it, 503.
const POOL_WAIT: Duration = Duration::from_secs(2);
/// Room on top of [`POOL_WAIT`] for a loaded 2-core machine; a request that hangs on the
/// dead database instead of giving up takes the client's 15 s timeout, far beyond it.
const MARGIN: Duration = Duration::from_millis(1500);
/// The API's resident memory may not exceed this at any point of the outage. A debug build
/// of the API serving this load sits around 20–30 MiB; thousands of failed connection
/// attempts that each leaked a connection, a task or a buffered request would pass it.
const RSS_CAP_KIB: u64 = 64 * 1024;
/// Load clients: fewer than the pool's 16 connections, so a healthy database serves every
/// request at once and the outage is the only cause of a 503.
const CLIENTS: usize = 12;

/// The database goes away under load and comes back: the API answers every request, with
/// a 503 within the pool's wait while the database is gone (no hang), keeps `/healthz` 200
/// and its memory bounded, and serves again within seconds of the database's return, as
/// the same process.
#[tokio::test]
async fn a_database_outage_under_load_gives_fast_503s_and_recovery_without_restart() {
    let pg = DedicatedPg::start().await;
    migrate(pg.url()).await;
    let api = TestApi::spawn_on(pg.url(), &[]);
    let port: u16 = api
        .addr
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("port");
    let pid = pid_listening_on(port);
    assert_eq!(api.get("/ready").await.status(), 200);

    let load = Load::start(&api.url(""), CLIENTS, Mix::PostsAndGets);
    load.until_answered(200, Duration::from_secs(30)).await;
    let baseline = rss_kib(pid).expect("the API runs");

    let stopping = Instant::now();
    pg.stop().await;
    let stopped = Instant::now();
    let mut samples = vec![baseline];
    let outage_until = stopped + Duration::from_secs(3);
    while Instant::now() < outage_until {
        let res = api.get("/healthz").await;
        assert_eq!(res.status(), 200, "/healthz during the outage");
        let asked = Instant::now();
        let res = api.get("/ready").await;
        assert!(
            asked.elapsed() < POOL_WAIT + MARGIN,
            "/ready took {:?}",
            asked.elapsed()
        );
        assert_eq!(res.status(), 503, "/ready during the outage");
        assert_eq!(json(res).await["error"], "database_unavailable");
        samples.push(rss_kib(pid).expect("the API runs"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answered_in_outage = load.answered();

    let restarting = Instant::now();
    pg.restart().await;
    let restarted = Instant::now();
    // No retry here hides anything: the clients keep sending; this only notes when the
    // API first serves again. Deadpool opens a fresh connection on the next request.
    let recovery_limit = Duration::from_secs(5);
    crate::helpers::eventually(
        recovery_limit,
        "/ready after the database returns",
        || async {
            api.http
                .get(api.url("/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        },
    )
    .await;
    let recovered = Instant::now();
    load.until_answered(200, Duration::from_secs(30)).await;
    let outcomes = load.finish().await;
    samples.push(rss_kib(pid).expect("the API runs"));

    eprintln!(
        "VmRSS (KiB) baseline then every ~200 ms of the outage, then after: {samples:?}; \
         stop took {:?}, restart {:?}, ready {:?} after it",
        stopped - stopping,
        restarted - restarting,
        recovered - restarted
    );
    eprintln!("load: {}", summary(&outcomes));

    let before: Vec<&Outcome> = outcomes.iter().filter(|o| o.finished < stopping).collect();
    let during: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.started > stopped && o.finished < restarting)
        .collect();
    let after: Vec<&Outcome> = outcomes.iter().filter(|o| o.started > recovered).collect();
    // Every request got an answer: no reset, no hang, no crash.
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    assert!(failed.is_empty(), "transport failures: {}", summary(failed));
    assert!(
        before.iter().all(|o| o.is_success()),
        "before the outage: {}",
        summary(before)
    );
    assert!(
        after.iter().all(|o| o.is_success()),
        "after recovery: {}",
        summary(after)
    );
    assert!(!after.is_empty(), "no request after recovery");
    // While the database is gone: a 503 saying so, within the pool's wait.
    assert!(
        during.len() >= CLIENTS,
        "the load kept going through the outage: {} requests",
        during.len()
    );
    // A GET may still be answered from a copy in memory until the API notices the
    // database is gone (its first 503 to a GET), never after.
    let first_get_503 = during
        .iter()
        .find(|o| o.kind == Kind::Get && o.status() == Some(503))
        .map(|o| o.started)
        .expect("GETs got 503s during the outage");
    for o in &during {
        assert!(
            o.latency() < POOL_WAIT + MARGIN,
            "took {:?}: {o:?}",
            o.latency()
        );
        if o.kind == Kind::Get && o.status() == Some(200) && o.finished < first_get_503 {
            continue;
        }
        assert_eq!(o.status(), Some(503), "during the outage: {o:?}");
        assert_eq!(
            o.body().map(|b| &b["error"]),
            Some(&"database_unavailable".into()),
            "{o:?}"
        );
    }
    // Around the transitions, a request may go either way, but only these two ways.
    for o in &outcomes {
        assert!(
            o.is_success() || o.status() == Some(503),
            "neither served nor 503: {o:?}"
        );
    }
    let peak = samples.iter().copied().max().unwrap_or_default();
    assert!(
        peak < RSS_CAP_KIB,
        "VmRSS reached {peak} KiB (cap {RSS_CAP_KIB} KiB) over {answered_in_outage} requests"
    );

    // The same process served throughout, and what was written before the outage is there.
    assert_eq!(pid_listening_on(port), pid, "the API was restarted");
    let db = connect(pg.url()).await;
    for o in outcomes.iter().filter(|o| o.created_id().is_some()) {
        let id = o.created_id().expect("filtered");
        let row = db
            .query_opt("SELECT name::text FROM randoms WHERE id = $1", &[&id])
            .await
            .expect("query");
        let stored: Option<String> = row.map(|r| r.get(0));
        assert_eq!(
            stored.as_deref(),
            o.body().and_then(|b| b["name"].as_str()),
            "item {id}, acknowledged, is stored as acknowledged"
        );
    }
    drop(api);
}

//! A database that hangs instead of going away (frozen with SIGSTOP, as a stalled host or a
//! network that drops packets looks): connections stay open but nothing answers. Every
//! request must still get its 503 within a bound, and the API must serve again once the
//! database wakes, without a restart.

use std::time::{Duration, Instant};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::{
    faults::{DedicatedPg, children_of, pid_listening_on},
    helpers::{TestApi, eventually, json, migrate},
};

/// The longest a request may take against a hung database: a sync with the cache's
/// listener (1 s), the pool's wait (2 s) or the statement timeout (`QUERY_TIMEOUT`, 5 s),
/// whichever applies, plus room for a loaded 2-core machine. Without the statement timeout
/// a request waits for the client's own 15 s timeout.
const BOUND: Duration = Duration::from_secs(10);

/// SIGSTOPs the postmaster and every process it forked (each session is its own process
/// group, so signalling the postmaster's group is not enough); SIGCONT on drop, panics
/// included, so the server can be stopped normally afterwards.
struct Frozen(Vec<Pid>);

impl Frozen {
    fn freeze(postmaster: u32) -> Self {
        let mut pids = vec![postmaster];
        pids.extend(children_of(postmaster));
        let frozen = Self(
            pids.into_iter()
                .map(|pid| Pid::from_raw(i32::try_from(pid).expect("a pid")))
                .collect(),
        );
        for pid in &frozen.0 {
            kill(*pid, Signal::SIGSTOP).expect("SIGSTOP a PostgreSQL process");
        }
        frozen
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = kill(*pid, Signal::SIGCONT);
        }
    }
}

#[tokio::test]
async fn a_hung_database_gives_bounded_503s_and_recovery_without_restart() {
    let pg = DedicatedPg::start().await;
    migrate(pg.url()).await;
    let api = TestApi::spawn_on(pg.url(), &[]);
    let pg_port: u16 = pg
        .url()
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("the database URL has a port");
    // Open connections first: the hang must catch requests on connections already there.
    for _ in 0..4 {
        assert_eq!(api.get("/randoms").await.status(), 200);
        assert_eq!(api.post("/randoms").await.status(), 201);
    }

    let frozen = Frozen::freeze(pid_listening_on(pg_port));
    let requests = (0..6).map(|i| {
        let api = &api;
        async move {
            let asked = Instant::now();
            let res = if i % 2 == 0 {
                api.get("/randoms").await
            } else {
                api.post("/randoms").await
            };
            (asked.elapsed(), res.status().as_u16(), json(res).await)
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let healthz = api.get("/healthz").await.status();
    drop(frozen);

    for (took, status, body) in &answers {
        assert!(*took < BOUND, "took {took:?}: {status} {body}");
        assert_eq!(*status, 503, "{body}");
        assert_eq!(body["error"], "database_unavailable", "{body}");
    }
    assert_eq!(healthz, 200, "/healthz does not touch the database");

    eventually(
        Duration::from_secs(15),
        "serving after the database wakes",
        || async {
            api.get("/randoms").await.status() == 200 && api.post("/randoms").await.status() == 201
        },
    )
    .await;
}

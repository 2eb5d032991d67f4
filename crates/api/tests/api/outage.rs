use std::time::Duration;

use local_pg::LocalPg;

use crate::helpers::{TestApi, eventually, json, migrate};

/// The database goes away and comes back; the API never hangs and recovers by itself.
#[tokio::test]
async fn a_database_outage_gives_fast_503s_and_recovery_without_restart() {
    // A server of its own: this test stops it.
    let mut pg = tokio::task::spawn_blocking(LocalPg::ephemeral)
        .await
        .expect("join")
        .expect("a dedicated PostgreSQL");
    let url = pg.url_for("postgres");
    migrate(&url).await;
    let api = TestApi::spawn_on(&url, &[]);
    assert_eq!(api.get("/ready").await.status(), 200);
    assert_eq!(api.post("/randoms").await.status(), 201);

    pg.stop().expect("stop PostgreSQL");
    // Every request is bounded by the client's timeout: a hang fails the test.
    for _ in 0..3 {
        let res = api.get("/randoms").await;
        assert_eq!(res.status(), 503);
        assert_eq!(json(res).await["error"], "database_unavailable");
        let res = api.post("/randoms").await;
        assert_eq!(res.status(), 503);
    }
    let res = api.get("/ready").await;
    assert_eq!(res.status(), 503);
    assert_eq!(json(res).await["error"], "database_unavailable");
    assert_eq!(api.get("/healthz").await.status(), 200);

    let mut pg = tokio::task::spawn_blocking(move || pg.start().map(|()| pg))
        .await
        .expect("join")
        .expect("restart PostgreSQL");
    eventually(
        Duration::from_secs(30),
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
    let res = api.get("/randoms?limit=1").await;
    assert_eq!(res.status(), 200);
    let latest: Vec<domain::Random> = res.json().await.expect("list");
    assert_eq!(
        latest[0].id, 101,
        "the row written before the outage survived"
    );
    assert_eq!(api.post("/randoms").await.status(), 201);
    drop(api);
    pg.stop().expect("stop");
}

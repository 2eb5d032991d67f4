use crate::helpers::{TestApi, empty_database, json};

#[tokio::test]
async fn healthz_and_ready_on_a_migrated_database() {
    let api = TestApi::spawn().await;
    let res = api.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["status"], "ok");
    let res = api.get("/ready").await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["schema_version"], migrator::latest_version());
}

#[tokio::test]
async fn an_unmigrated_database_is_not_ready_and_says_so() {
    let api = TestApi::spawn_on(&empty_database().await, &[]);
    assert_eq!(api.get("/healthz").await.status(), 200);
    let res = api.get("/ready").await;
    assert_eq!(res.status(), 503);
    let body = json(res).await;
    assert_eq!(body["error"], "schema_not_migrated");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("migrator")
    );

    let res = api.get("/randoms").await;
    assert_eq!(res.status(), 503);
    assert_eq!(json(res).await["error"], "schema_not_migrated");
}

#[tokio::test]
async fn starts_without_a_database_and_reports_not_ready() {
    // Nothing listens on port 1.
    let api = TestApi::spawn_on("postgres://app:pw@127.0.0.1:1/app", &[]);
    assert_eq!(api.get("/healthz").await.status(), 200);
    let res = api.get("/ready").await;
    assert_eq!(res.status(), 503);
    assert_eq!(json(res).await["error"], "database_unavailable");
    let res = api.post("/randoms").await;
    assert_eq!(res.status(), 503);
    assert_eq!(json(res).await["error"], "database_unavailable");
}

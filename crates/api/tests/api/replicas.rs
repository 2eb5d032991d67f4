//! Several API replicas on one database, each with its cached copy of the latest items: a
//! write through any replica, or straight into the database, is in the very next GET on
//! every replica.

use std::time::Duration;

use domain::Random;

use crate::helpers::{TestApi, connect, eventually, json, migrated_database};

async fn latest(api: &TestApi) -> Vec<Random> {
    let res = api.get("/randoms").await;
    assert_eq!(res.status(), 200);
    serde_json::from_value(json(res).await).expect("a list of items")
}

/// Replicas cache only once their listener is up; wait for that, so the test exercises
/// the cache rather than the database.
async fn warmed(replicas: &[TestApi]) {
    for api in replicas {
        eventually(
            Duration::from_secs(10),
            "the cache listener is up",
            || async { api.logs().contains("cache listener up") },
        )
        .await;
        latest(api).await;
    }
}

#[tokio::test]
async fn a_post_on_any_replica_is_in_the_next_get_on_every_replica() {
    let db = migrated_database().await;
    let replicas: Vec<TestApi> = (0..3).map(|_| TestApi::spawn_on(&db, &[])).collect();
    warmed(&replicas).await;

    let hits = async |api: &TestApi| -> f64 {
        let text = api.get("/metrics").await.text().await.expect("metrics");
        text.lines()
            .find_map(|l| l.strip_prefix("api_latest_cache_total{result=\"hit\"} "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let before: f64 = {
        let mut sum = 0.0;
        for api in &replicas {
            sum += hits(api).await;
        }
        sum
    };
    for round in 0..30 {
        let writer = &replicas[round % replicas.len()];
        let res = writer.post("/randoms").await;
        assert_eq!(res.status(), 201);
        let created: Random = serde_json::from_value(json(res).await).expect("the item");
        for (i, api) in replicas.iter().enumerate() {
            let first = latest(api).await.into_iter().next().expect("ten items");
            assert_eq!(
                first.id,
                created.id,
                "round {round}: replica {i} missed the POST made on replica {}",
                round % replicas.len()
            );
        }
        // Reads with no write in between: served from the copies.
        for api in &replicas {
            latest(api).await;
        }
    }
    let mut after = 0.0;
    for api in &replicas {
        after += hits(api).await;
    }
    assert!(
        after - before >= 60.0,
        "the copies were not used: {before} → {after} hits"
    );
}

#[tokio::test]
async fn a_write_straight_into_the_database_reaches_every_replica() {
    let db = migrated_database().await;
    let replicas: Vec<TestApi> = (0..2).map(|_| TestApi::spawn_on(&db, &[])).collect();
    warmed(&replicas).await;
    let client = connect(&db).await;

    let newest = async || -> i64 {
        client
            .query_one("select max(id) from randoms", &[])
            .await
            .expect("max")
            .get(0)
    };
    for _ in 0..10 {
        // The simple protocol answers after the commit, as psql sees it.
        client
            .batch_execute("insert into randoms default values")
            .await
            .expect("insert");
        let id = newest().await;
        for api in &replicas {
            assert_eq!(latest(api).await[0].id, id, "a replica served a stale list");
        }
    }
    // And a delete: the newest row goes, every replica shows the one before.
    client
        .execute(
            "delete from randoms where id = (select max(id) from randoms)",
            &[],
        )
        .await
        .expect("delete");
    let newest: i64 = client
        .query_one("select max(id) from randoms", &[])
        .await
        .expect("max")
        .get(0);
    for api in &replicas {
        assert_eq!(latest(api).await[0].id, newest);
    }
}

use std::collections::HashSet;

use domain::Random;

use crate::helpers::{TestApi, connect, json};

async fn list(api: &TestApi, query: &str) -> Vec<Random> {
    let res = api.get(&format!("/randoms{query}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.expect("a list of randoms")
}

#[tokio::test]
async fn lists_the_latest_ten_newest_first() {
    let api = TestApi::spawn().await;
    let items = list(&api, "").await;
    let ids: Vec<i64> = items.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        (91..=100).rev().collect::<Vec<_>>(),
        "the seeded rows, newest first"
    );
}

#[tokio::test]
async fn limit_selects_how_many() {
    let api = TestApi::spawn().await;
    assert_eq!(list(&api, "?limit=1").await.len(), 1);
    assert_eq!(list(&api, "?limit=37").await.len(), 37);
    let all = list(&api, "?limit=100").await;
    assert_eq!(all.len(), 100);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
}

#[tokio::test]
async fn every_bad_limit_is_a_400_saying_why() {
    let api = TestApi::spawn().await;
    for (raw, needle) in [
        ("0", "between 1 and 100"),
        ("101", "between 1 and 100"),
        ("-1", "between 1 and 100"),
        ("abc", "integer"),
        ("", "integer"),
        ("1.5", "integer"),
        ("%2B5", "integer"),
        ("99999999999999999999999", "between 1 and 100"),
    ] {
        let res = api.get(&format!("/randoms?limit={raw}")).await;
        assert_eq!(res.status(), 400, "limit={raw}");
        let body = json(res).await;
        assert_eq!(body["error"], "invalid_limit", "limit={raw}");
        let message = body["message"].as_str().expect("a message");
        assert!(message.contains(needle), "limit={raw}: {message}");
    }
}

#[tokio::test]
async fn an_empty_table_lists_as_an_empty_array_not_null() {
    let api = TestApi::spawn().await;
    let db = connect(&api.db_url).await;
    db.batch_execute("DELETE FROM randoms")
        .await
        .expect("empty the table");
    let res = api.get("/randoms").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.expect("body"), "[]");
}

#[tokio::test]
async fn post_creates_one_and_it_comes_first() {
    let api = TestApi::spawn().await;
    let res = api.post("/randoms").await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let created: Random = res.json().await.expect("the created item");
    assert_eq!(created.id, 101);
    assert_eq!(location, format!("/randoms/{}", created.id));
    assert_eq!(created.name.get_version_num(), 4);

    let fetched: Random = api.get(&location).await.json().await.expect("fetch by id");
    assert_eq!(fetched, created);

    let latest = list(&api, "").await;
    assert_eq!(latest.len(), 10);
    assert_eq!(latest[0], created);
}

#[tokio::test]
async fn get_by_id_answers_404_for_what_does_not_exist() {
    let api = TestApi::spawn().await;
    for path in [
        "/randoms/424242",
        "/randoms/abc",
        "/randoms/-1",
        "/randoms/99999999999999999999",
    ] {
        let res = api.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert_eq!(json(res).await["error"], "not_found", "{path}");
    }
    assert_eq!(api.get("/randoms/1").await.status(), 200);
}

#[tokio::test]
async fn fifty_concurrent_posts_make_fifty_distinct_rows() {
    let api = TestApi::spawn().await;
    let posts = (0..50).map(|_| async {
        let res = api.post("/randoms").await;
        assert_eq!(res.status(), 201);
        res.json::<Random>().await.expect("created item")
    });
    let created = futures_util::future::join_all(posts).await;
    let ids: HashSet<i64> = created.iter().map(|r| r.id).collect();
    let names: HashSet<_> = created.iter().map(|r| r.name).collect();
    assert_eq!(ids.len(), 50);
    assert_eq!(names.len(), 50);

    let db = connect(&api.db_url).await;
    let count: i64 = db
        .query_one("SELECT count(*) FROM randoms", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 150);
}

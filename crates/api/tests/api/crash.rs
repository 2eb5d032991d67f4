use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::{
    faults::{Load, Mix, Outcome, summary},
    helpers::{TestApi, connect, migrated_database},
};

const CLIENTS: usize = 16;

/// `kill -9` in the middle of a stream of concurrent POSTs: every item the API answered 201
/// for is in the database, exactly as answered. (An API that acknowledged before its
/// transaction committed, or batched writes behind the answer, would fail this.)
#[tokio::test]
async fn no_acknowledged_write_is_lost_when_the_api_is_killed() {
    let url = migrated_database().await;
    let mut api = TestApi::spawn_on(&url, &[]);
    let load = Load::start(&api.url(""), CLIENTS, Mix::Posts);
    load.until_answered(300, Duration::from_secs(60)).await;
    let killed = Instant::now();
    api.signal(Signal::SIGKILL);
    let status = tokio::task::spawn_blocking(move || api.wait_exit(Duration::from_secs(10)))
        .await
        .expect("join");
    let outcomes = load.finish().await;
    eprintln!("load: {}", summary(&outcomes));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "{status}"
    );

    // Nothing but 201s before the kill, and every client's stream was cut by it.
    for o in outcomes.iter().filter(|o| o.finished < killed) {
        assert_eq!(o.status(), Some(201), "{o:?}");
    }
    let cut: std::collections::BTreeSet<usize> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.client)
        .collect();
    assert_eq!(cut.len(), CLIENTS, "each client's stream ends at the kill");

    let acknowledged: Vec<(i64, &str)> = outcomes
        .iter()
        .filter_map(|o: &Outcome| Some((o.created_id()?, o.body()?["name"].as_str()?)))
        .collect();
    assert!(
        acknowledged.len() >= 300,
        "{} acknowledged",
        acknowledged.len()
    );
    let db = connect(&url).await;
    let ids: Vec<i64> = acknowledged.iter().map(|(id, _)| *id).collect();
    let rows = db
        .query(
            "SELECT id, name::text FROM randoms WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("query");
    let stored: std::collections::HashMap<i64, String> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for (id, name) in &acknowledged {
        assert_eq!(
            stored.get(id).map(String::as_str),
            Some(*name),
            "item {id} was acknowledged with name {name}"
        );
    }
    let added: i64 = db
        .query_one("SELECT count(*) FROM randoms WHERE id > 100", &[])
        .await
        .expect("count")
        .get(0);
    eprintln!(
        "{} acknowledged, {added} stored (the rest were written but their answer was cut off)",
        acknowledged.len()
    );
}

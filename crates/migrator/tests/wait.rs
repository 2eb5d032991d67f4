//! Waiting for the database: a server that comes up late, and one that never does.

mod common;

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use common::{connect, count, migrator, run};

#[tokio::test]
async fn up_waits_for_a_server_that_starts_late() {
    let (url_tx, url_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    // The server is signalled when the thread that started it ends, so one thread owns it
    // from creation to drop: it creates a database, stops the server, hands over the URL,
    // starts the server again a little later, and keeps it up until the test is done (or
    // has panicked, which drops `done_tx`).
    let owner = thread::spawn(move || {
        let (mut pg, url) = common::stopped_server_with_a_database();
        url_tx.send(url).expect("the test is waiting for the URL");
        thread::sleep(Duration::from_millis(1500));
        pg.start().expect("restart the server");
        let _ = done_rx.recv();
    });

    let url = url_rx.recv().expect("the server thread sends the URL");
    let out = run(migrator(&url, &["up"]).env("MIGRATE_WAIT_SECS", "120"));
    out.success();
    assert!(out.stderr.contains("not reachable yet"), "{out:#?}");
    assert!(out.stderr.contains("waiting"), "{out:#?}");

    let db = connect(&url).await;
    assert_eq!(count(&db, "select count(*) from randoms").await, 100);
    drop(db);
    let _ = done_tx.send(());
    owner.join().expect("the server thread");
}

#[test]
fn gives_up_with_one_clear_line_when_nothing_listens() {
    let port = processes::free_port().expect("a free port");
    let url = format!("postgres://postgres:secret-pass@127.0.0.1:{port}/postgres");

    let started = Instant::now();
    let out = run(migrator(&url, &["up"]).env("MIGRATE_WAIT_SECS", "1"));
    let line = out.failure();
    assert!(
        line.starts_with("migrator: database not reachable within 1 s"),
        "{line}"
    );
    assert!(out.stderr.contains("not reachable yet"), "{out:#?}");
    assert!(!out.all_output().contains("secret-pass"), "{out:#?}");
    // Bounded, not timed: far below the 60 s default it would take if the setting were ignored.
    assert!(started.elapsed() < Duration::from_secs(30), "{out:#?}");
}

//! Migrators racing each other, and racing the database's own start: whatever the timing,
//! the schema is applied exactly once and every migrator exits 0.

mod common;

use std::{
    path::{Path, PathBuf},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use common::{Finished, Running, connect, count, fresh_db, migrator};
use nix::{sys::signal::Signal, unistd::Pid};
use tokio_postgres::{Client, NoTls, error::SqlState};

/// The migrators' advisory lock key: "migrator" in ASCII (`src/lock.rs`). If it changed,
/// the migrators would not queue behind the test's lock and the first test would say so.
const LOCK_KEY: i64 = 0x6d69_6772_6174_6f72;

/// Each embedded version exactly once in refinery's history, and the seed applied once.
async fn assert_applied_once(db: &Client, outputs: &[Finished]) {
    let history: Vec<(i32, i64)> = db
        .query(
            "select version, count(*) from refinery_schema_history group by version order by version",
            &[],
        )
        .await
        .expect("read the history")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let once: Vec<(i32, i64)> = (1..=migrator::latest_version()).map(|v| (v, 1)).collect();
    assert_eq!(history, once, "{outputs:#?}");
    assert_eq!(count(db, "select count(*) from randoms").await, 100);
}

#[tokio::test]
async fn two_migrators_racing_on_an_empty_database_apply_the_schema_once() {
    let url = fresh_db().await;
    // Hold the migration lock so both are started and queued before either can begin:
    // the race is certain, not left to the scheduler.
    let holder = connect(&url).await;
    holder
        .execute("select pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .expect("take the migration lock");
    let racers: Vec<Running> = (0..2)
        .map(|_| Running::spawn(&mut migrator(&url, &["up"])))
        .collect();
    let watcher = connect(&url).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting = count(
            &watcher,
            "select count(*) from pg_locks l join pg_database d on d.oid = l.database \
             where l.locktype = 'advisory' and not l.granted and d.datname = current_database()",
        )
        .await;
        if waiting == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the two migrators did not both queue on the migration lock ({waiting} waiting)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    holder
        .execute("select pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
        .expect("release the migration lock");

    let outputs: Vec<Finished> = racers.into_iter().map(Running::finish).collect();
    for out in &outputs {
        out.success();
        assert!(
            out.stderr.contains("another migrator is running"),
            "it waited for the lock: {out:#?}"
        );
    }
    assert_applied_once(&watcher, &outputs).await;
    // One applied every migration, the other found nothing left to do.
    let applied = |out: &Finished| out.stderr.matches("applied migration=").count();
    let mut counts: Vec<usize> = outputs.iter().map(applied).collect();
    counts.sort_unstable();
    let all = usize::try_from(migrator::latest_version()).expect("a positive version");
    assert_eq!(counts, [0, all], "{outputs:#?}");
}

/// Two migrators started before the server runs at all, then kept waiting while it is up
/// but still refusing connections (SQLSTATE 57P03, as while it replays WAL after a crash or
/// before a standby is promoted), and the schema is applied once when it finally accepts.
#[tokio::test]
async fn migrators_started_before_the_database_wait_through_its_start_and_apply_it_once() {
    let (to_test, from_owner) = mpsc::channel::<Result<(String, PathBuf), String>>();
    let (to_owner, from_test) = mpsc::channel::<()>();
    // The server is signalled when the thread that started it ends, so one thread owns it
    // from creation to drop (it also ends, dropping the server, if the test panics).
    let owner = thread::spawn(move || {
        let (mut pg, url) = common::stopped_server_with_a_database();
        let data = pg.dir().join("data");
        // Next start: a standby that accepts no connection until it is promoted.
        std::fs::write(data.join("standby.signal"), "").expect("write standby.signal");
        let mut conf = std::fs::read_to_string(data.join("postgresql.auto.conf"))
            .expect("read postgresql.auto.conf");
        conf.push_str("\nhot_standby = off\n");
        std::fs::write(data.join("postgresql.auto.conf"), conf).expect("write the setting");
        let _ = to_test.send(Ok((url, data)));
        if from_test.recv().is_err() {
            return;
        }
        // Returns once the server accepts connections, i.e. after the promotion.
        let started = pg.start().map_err(|e| e.to_string());
        let _ = to_test.send(started.map(|()| (String::new(), PathBuf::new())));
        let _ = from_test.recv();
    });
    let (url, data) = from_owner
        .recv()
        .expect("the owner thread answers")
        .expect("a server to test with");

    let racers: Vec<Running> = (0..2)
        .map(|_| Running::spawn(migrator(&url, &["up"]).env("MIGRATE_WAIT_SECS", "120")))
        .collect();
    // Nothing listens yet: let them meet a refused connection first.
    tokio::time::sleep(Duration::from_millis(800)).await;
    to_owner.send(()).expect("the owner thread waits");

    // The server comes up refusing connections with 57P03...
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match tokio_postgres::connect(&url, NoTls).await {
            Err(e) if e.code() == Some(&SqlState::CANNOT_CONNECT_NOW) => break,
            Ok(_) => panic!("the server accepted a connection before its promotion"),
            Err(e) => assert!(
                Instant::now() < deadline,
                "the server did not come up as a standby: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ...long enough for every migrator to try it at least once (their pause between
    // attempts is at most 2 s)...
    tokio::time::sleep(Duration::from_millis(3500)).await;
    // ...and is promoted: `pg_ctl promote` without pg_ctl (which refuses to run as root).
    promote(&data);
    from_owner
        .recv()
        .expect("the owner thread answers")
        .expect("the server accepts connections after its promotion");

    let outputs: Vec<Finished> = racers.into_iter().map(Running::finish).collect();
    for out in &outputs {
        out.success();
        assert!(out.stderr.contains("Connection refused"), "{out:#?}");
        assert!(out.stderr.contains("not accepting connections"), "{out:#?}");
        assert!(out.stderr.contains("database reachable after"), "{out:#?}");
    }
    let db = connect(&url).await;
    assert_applied_once(&db, &outputs).await;
    drop(db);
    let _ = to_owner.send(());
    owner.join().expect("the server thread");
}

fn promote(data: &Path) {
    let pid = std::fs::read_to_string(data.join("postmaster.pid"))
        .expect("read postmaster.pid")
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
        .expect("the postmaster's pid");
    std::fs::write(data.join("promote"), "").expect("write the promote signal file");
    nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGUSR1).expect("signal the postmaster");
}

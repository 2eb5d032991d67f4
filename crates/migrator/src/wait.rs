//! Connecting to a database that may not be up yet (the migrator often starts alongside
//! it): retry with exponential backoff until a deadline, but give up at once on errors
//! that waiting cannot fix.

use std::{error::Error as _, io, time::Duration};

use db::DbSettings;
use tokio::time::{Instant, sleep, timeout};
use tokio_postgres::{Client, error::SqlState};
use tracing::{debug, info, warn};

use crate::{Error, error::one_line};

const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// Bounds on one attempt: at least this long even when little of the wait is left (a slow
/// but healthy server still gets a fair chance)...
const MIN_ATTEMPT: Duration = Duration::from_secs(3);
/// ...and at most this long, so a black-holed address is retried rather than waited on.
const MAX_ATTEMPT: Duration = Duration::from_secs(10);

/// Connects, retrying transient failures for up to `wait` in total.
pub async fn connect(settings: &DbSettings, wait: Duration) -> Result<Client, Error> {
    let started = Instant::now();
    // `None`: a wait too long to represent, i.e. forever.
    let deadline = started.checked_add(wait);
    let time_left = || {
        deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        })
    };
    let mut pause = FIRST_PAUSE;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let limit = time_left().clamp(MIN_ATTEMPT, MAX_ATTEMPT);
        let failure = match attempt(settings, limit).await? {
            Ok(client) => {
                if attempts > 1 {
                    info!(
                        "database reachable after {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
                return Ok(client);
            }
            Err(Failure::Driver(e)) if !is_transient(&e) => return Err(Error::Connect(e)),
            Err(failure) => failure,
        };
        let left = time_left();
        if left.is_zero() {
            return Err(Error::Unreachable {
                waited_secs: wait.as_secs(),
                attempts,
                source: failure.into(),
            });
        }
        let this_pause = pause.min(left);
        warn!(
            "database not reachable yet, retrying in {} ms (waiting at most {} s in total): {}",
            this_pause.as_millis(),
            wait.as_secs(),
            one_line(&failure)
        );
        sleep(this_pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Driver(tokio_postgres::Error),
    /// The server accepted the connection but did not finish the handshake in time.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
}

/// One connection attempt bounded by `limit`. The outer error is a settings error, which
/// no retry can fix.
async fn attempt(settings: &DbSettings, limit: Duration) -> Result<Result<Client, Failure>, Error> {
    // connect_timeout bounds each TCP connect; the outer timeout also covers a server that
    // accepts the connection but never answers the startup handshake.
    let config = settings.pg_config(limit)?;
    let (client, connection) = match timeout(limit, config.connect(db::connector())).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Ok(Err(Failure::Driver(e))),
        Err(_) => return Ok(Err(Failure::TimedOut(limit))),
    };
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            debug!("database connection closed: {e}");
        }
    });
    Ok(Ok(client))
}

/// Whether waiting may help. Network failures (refused, reset, DNS, timeouts) and a server
/// that is starting, stopping or full are transient. The rest cannot change by waiting and
/// fails at once: authentication (SQLSTATE class 28: bad password, unknown role, no
/// pg_hba.conf entry), an unknown database (3D000), TLS refused by the server, bad options.
fn is_transient(err: &tokio_postgres::Error) -> bool {
    if err.is_closed() {
        return true;
    }
    if let Some(code) = err.code() {
        return [
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
        ]
        .contains(code)
            || code.code().starts_with("08");
    }
    let mut cause = err.source();
    while let Some(e) = cause {
        if e.is::<io::Error>() {
            return true;
        }
        cause = e.source();
    }
    false
}

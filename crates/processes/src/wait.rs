use std::{
    thread,
    time::{Duration, Instant},
};

/// A condition that did not hold in time.
#[derive(Debug, thiserror::Error)]
#[error("{what}: not within {} s", limit.as_secs_f32())]
pub struct TimedOut {
    pub what: String,
    pub limit: Duration,
}

/// Polls `check` every `every` until it returns `Some`, for at most `limit` (it is polled
/// once more at the deadline, so a slow last poll still counts).
pub fn wait_until<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, TimedOut> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(TimedOut {
                what: what.to_owned(),
                limit,
            });
        }
        thread::sleep(every.min(deadline.saturating_duration_since(Instant::now())));
    }
}

//! One request at a time, to see that a server is up and answers what we are about to load.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::process::Server;

/// How long a server may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Far above any bundle file; a bound, so a misbehaving server cannot fill our memory.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// What a server answered.
pub struct Answer {
    pub status: u16,
    pub content_encoding: Option<String>,
    pub body_len: u64,
}

/// `GET url`, with the given `Accept-Encoding` (none at all when `None`). ureq is built
/// without its decompression features, so the body is counted as sent.
pub fn get(url: &str, accept_encoding: Option<&str>) -> anyhow::Result<Answer> {
    let mut req = ureq::get(url);
    if let Some(encoding) = accept_encoding {
        req = req.header("Accept-Encoding", encoding);
    }
    let mut res = req
        .config()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .call()
        .with_context(|| format!("GET {url}"))?;
    let content_encoding = res
        .headers()
        .get("content-encoding")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = res
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .with_context(|| format!("reading the body of GET {url}"))?;
    Ok(Answer {
        status: res.status().as_u16(),
        content_encoding,
        body_len: body.len() as u64,
    })
}

/// Waits until `server` answers `url` at all (any status), failing early if it exits.
pub fn wait_ready(server: &mut Server, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        server.check_running()?;
        let attempt = get(url, None);
        if attempt.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let e = attempt.err().map(|e| format!("{e:#}")).unwrap_or_default();
            bail!(
                "{} did not answer within {READY_TIMEOUT:?}: {e}",
                server.name
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

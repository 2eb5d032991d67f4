//! The checks themselves, against a base URL.

use std::time::Duration;

use serde_json::Value;

use crate::Error;

fn get(url: &str) -> Result<(u16, String), Error> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let fail = |why: String| Error::Check {
        what: format!("GET {url}"),
        why,
    };
    let mut res = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let body = res
        .body_mut()
        .read_to_string()
        .map_err(|e| fail(e.to_string()))?;
    Ok((res.status().as_u16(), body))
}

fn expect(url: &str, ok: bool, why: impl FnOnce() -> String) -> Result<(), Error> {
    if ok {
        return Ok(());
    }
    Err(Error::Check {
        what: format!("GET {url}"),
        why: why(),
    })
}

/// `path` (the readiness probe's) answers 200.
pub fn ready(base: &str, path: &str) -> Result<(), Error> {
    let url = format!("{base}{path}");
    let (status, body) = get(&url)?;
    expect(&url, status == 200, || format!("{status}: {}", body.trim()))
}

/// `GET /randoms` is a JSON array; its length.
pub fn lists(base: &str) -> Result<usize, Error> {
    let url = format!("{base}/randoms");
    let (status, body) = get(&url)?;
    expect(&url, status == 200, || format!("{status}: {}", body.trim()))?;
    let list: Option<Vec<Value>> = serde_json::from_str(&body).ok();
    expect(&url, list.is_some(), || {
        format!("not a JSON array: {}", body.trim())
    })?;
    Ok(list.map_or(0, |l| l.len()))
}

/// `/` is an HTML page.
pub fn page(base: &str) -> Result<(), Error> {
    let url = format!("{base}/");
    let (status, body) = get(&url)?;
    let html = body.to_ascii_lowercase().contains("<html");
    expect(&url, status == 200 && html, || {
        format!("{status}, not the page")
    })
}

/// `/config.json` names `api` (the page's API_BASE_URL).
pub fn config_names(base: &str, api: &str) -> Result<(), Error> {
    let url = format!("{base}/config.json");
    let (status, body) = get(&url)?;
    let config: Option<Value> = serde_json::from_str(&body).ok();
    let named = config.as_ref().and_then(|c| c["api_base_url"].as_str());
    expect(&url, status == 200 && named == Some(api), || {
        format!("{status}: {} (expected api_base_url {api:?})", body.trim())
    })
}

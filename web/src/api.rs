//! Talking to the server: `/config.json` from the server that served the page, then the
//! API it names. Errors come back as sentences fit for the page.

use domain::{ErrorBody, Random};
use gloo_net::http::{Request, Response};
use serde::Deserialize;

/// Runtime configuration, so one build serves every environment.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub api_base_url: String,
}

pub async fn config() -> Result<Config, String> {
    let res = Request::get("/config.json")
        .send()
        .await
        .map_err(|e| format!("Could not load /config.json: {e}"))?;
    parse(res, "/config.json").await
}

/// The latest ten, newest first.
pub async fn latest(config: &Config) -> Result<Vec<Random>, String> {
    let url = url(config, "/randoms");
    let res = Request::get(&url)
        .send()
        .await
        .map_err(|e| unreachable(&url, e))?;
    parse(res, &url).await
}

/// Adds one and returns it.
pub async fn add(config: &Config) -> Result<Random, String> {
    let url = url(config, "/randoms");
    let res = Request::post(&url)
        .send()
        .await
        .map_err(|e| unreachable(&url, e))?;
    parse(res, &url).await
}

pub fn url(config: &Config, path: &str) -> String {
    format!("{}{path}", config.api_base_url.trim_end_matches('/'))
}

fn unreachable(url: &str, e: gloo_net::Error) -> String {
    format!("Cannot reach the API at {url} ({e}).")
}

/// A 2xx body as `T`; otherwise the API's own error message when it sent one.
async fn parse<T: for<'de> Deserialize<'de>>(res: Response, url: &str) -> Result<T, String> {
    if res.ok() {
        return res
            .json::<T>()
            .await
            .map_err(|e| format!("Unexpected answer from {url}: {e}"));
    }
    let status = res.status();
    match res.json::<ErrorBody>().await {
        Ok(body) => Err(format!("The API answered {status}: {}.", body.message)),
        Err(_) => Err(format!("{url} answered {status} {}.", res.status_text())),
    }
}

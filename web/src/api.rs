//! Talking to the server: `/config.json` from the server that served the page, then the
//! API it names. Errors come back as sentences fit for the page.
//!
//! The browser does the work: its `fetch`, and its `JSON.parse`, whose result the few
//! fields the page reads are taken from ([`FromJson`]). An HTTP client, a JSON parser and
//! serde's error messages compiled into the wasm were a quarter of it.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

use crate::trace::Action;

/// An item as the page shows it: `domain::Random`'s `id` and `name` (the page does not show
/// `created_at`).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: i64,
    pub name: String,
}

/// Runtime configuration, so one build serves every environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub api_base_url: String,
}

/// Read from a parsed JSON value; the error names what is missing or mistyped.
trait FromJson: Sized {
    fn from_json(value: &JsValue) -> Result<Self, String>;
}

impl FromJson for Item {
    fn from_json(value: &JsValue) -> Result<Self, String> {
        let id = field(value, "id")?
            .as_f64()
            .filter(|n| n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0)
            .ok_or("`id` is not an integer")?;
        Ok(Self {
            id: id as i64,
            name: string(value, "name")?,
        })
    }
}

impl FromJson for Vec<Item> {
    fn from_json(value: &JsValue) -> Result<Self, String> {
        let list = value.dyn_ref::<Array>().ok_or("not a list")?;
        list.iter().map(|item| Item::from_json(&item)).collect()
    }
}

impl FromJson for Config {
    fn from_json(value: &JsValue) -> Result<Self, String> {
        Ok(Self {
            api_base_url: string(value, "api_base_url")?,
        })
    }
}

/// `domain::ErrorBody`'s message.
struct ErrorMessage(String);

impl FromJson for ErrorMessage {
    fn from_json(value: &JsValue) -> Result<Self, String> {
        string(value, "message").map(Self)
    }
}

fn field(object: &JsValue, name: &str) -> Result<JsValue, String> {
    if !object.is_object() {
        return Err("not an object".into());
    }
    Reflect::get(object, &JsValue::from_str(name)).map_err(|e| reason(&e))
}

fn string(object: &JsValue, name: &str) -> Result<String, String> {
    field(object, name)?
        .as_string()
        .ok_or_else(|| format!("`{name}` is not a string"))
}

pub async fn config(action: Action) -> Result<Config, String> {
    let url = "/config.json";
    let res = fetch("GET", url, action)
        .await
        .map_err(|e| format!("Could not load {url}: {e}"))?;
    parse(res, url).await
}

/// The latest ten, newest first.
pub async fn latest(config: &Config, action: Action) -> Result<Vec<Item>, String> {
    let url = url(config, "/randoms");
    let res = fetch("GET", &url, action)
        .await
        .map_err(|e| unreachable(&url, &e))?;
    parse(res, &url).await
}

/// Adds one and returns it.
pub async fn add(config: &Config, action: Action) -> Result<Item, String> {
    let url = url(config, "/randoms");
    let res = fetch("POST", &url, action)
        .await
        .map_err(|e| unreachable(&url, &e))?;
    parse(res, &url).await
}

pub fn url(config: &Config, path: &str) -> String {
    format!("{}{path}", config.api_base_url.trim_end_matches('/'))
}

fn unreachable(url: &str, e: &str) -> String {
    format!("Cannot reach the API at {url} ({e}).")
}

/// The answer's head, the request sent as part of `action`'s trace; the error is the
/// browser's reason (a network error, CORS…).
async fn fetch(method: &str, url: &str, action: Action) -> Result<Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    init.set_method(method);
    // A plain object is a valid `HeadersInit`: no `Headers` bindings in the wasm.
    let headers = js_sys::Object::new();
    Reflect::set(
        &headers,
        &"traceparent".into(),
        &action.traceparent().into(),
    )
    .map_err(|e| reason(&e))?;
    init.set_headers(&headers);
    let answer = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| reason(&e))?;
    answer.dyn_into().map_err(|e| reason(&e))
}

/// A 2xx body as `T`; otherwise the API's own error message when it sent one.
async fn parse<T: FromJson>(res: Response, url: &str) -> Result<T, String> {
    let body = json(&res).await;
    let status = res.status();
    if res.ok() {
        return body
            .and_then(|b| T::from_json(&b))
            .map_err(|e| format!("Unexpected answer from {url}: {e}"));
    }
    match body.and_then(|b| ErrorMessage::from_json(&b)) {
        Ok(ErrorMessage(message)) => Err(format!("The API answered {status}: {message}.")),
        Err(_) => Err(format!("{url} answered {status} {}.", res.status_text())),
    }
}

/// The body, parsed by the browser; the error says why it is not JSON.
async fn json(res: &Response) -> Result<JsValue, String> {
    let promise = res.json().map_err(|e| reason(&e))?;
    JsFuture::from(promise).await.map_err(|e| reason(&e))
}

/// What a rejected promise says: an `Error`'s message, else the value as text.
fn reason(e: &JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(error) => String::from(error.message()),
        None => e.as_string().unwrap_or_else(|| "unknown error".into()),
    }
}

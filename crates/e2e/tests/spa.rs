//! The SPA in a real headless Chromium against the real stack, laid out like the seed's
//! port-forwards: PostgreSQL, the API on one origin, the static server with the bundle on
//! another, so CORS and the CSP are exercised for real.

use std::{
    net::TcpListener,
    path::PathBuf,
    sync::Arc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use api::{
    configuration::{LogFormat, ServerSettings, Settings},
    startup::Application,
};
use e2e::browser::Browser;
use fantoccini::{Client, Locator};
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(20);

/// The bundle `cargo xtask web` built (`cargo xtask test` builds it first).
fn bundle() -> PathBuf {
    let dir = std::env::var_os("E2E_WEB_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/web/dist"));
    assert!(
        dir.join("index.html").is_file(),
        "no SPA bundle in {}: run `cargo xtask web` first (`cargo xtask test` does)",
        dir.display()
    );
    dir
}

/// The API, in-process on its own actix system, stoppable.
struct RunningApi {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl RunningApi {
    fn start(db_url: &str, listener: TcpListener, web_origin: &str) -> Self {
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let settings = Settings {
            server: ServerSettings {
                api_host: addr.ip().to_string(),
                api_port: addr.port(),
                db_pool_max_size: 4,
                cors_allowed_origins: vec![web_origin.to_owned()],
                shutdown_timeout_secs: 5,
                api_max_streams: 16,
                api_stream_heartbeat_secs: 15,
                log_format: LogFormat::Text,
            },
            db: db::DbSettings::from_url(db_url),
            traces: Default::default(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, is_ready) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings);
                let _ = ready.send(app.is_ok());
                app?.run_until(async move {
                    let _ = stopped.await;
                })
                .await
            })
        });
        assert_eq!(is_ready.recv(), Ok(true), "the API starts");
        Self {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .expect("api thread")
                .expect("api stops cleanly");
        }
    }
}

impl Drop for RunningApi {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The ids and names the page shows, top to bottom, parsed from its `id : name` lines.
/// Read in one script call: the list may re-render between two WebDriver calls.
async fn shown(page: &Client) -> Vec<(i64, String)> {
    let texts = page
        .execute(
            "return Array.from(document.querySelectorAll('#randoms li'), li => li.textContent)",
            vec![],
        )
        .await
        .expect("read the list");
    let texts: Vec<String> = serde_json::from_value(texts).expect("a list of strings");
    texts
        .iter()
        .map(|text| {
            let (id, name) = text
                .split_once(" : ")
                .unwrap_or_else(|| panic!("`id : name`, got {text:?}"));
            (
                id.trim().parse().expect("numeric id"),
                name.trim().to_owned(),
            )
        })
        .collect()
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn alert_text(page: &Client) -> Option<String> {
    match page.find(Locator::Css("[role=alert]")).await {
        Ok(el) => el.text().await.ok(),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spa_lists_adds_and_reports_errors_in_a_real_browser() {
    let bundle = bundle();
    let admin = local_pg::shared_admin_url().expect("PostgreSQL for the test");
    let db_url = local_pg::fresh_database(&admin)
        .await
        .expect("a fresh database");
    let (mut db, conn) = tokio_postgres_connect(&db_url).await;
    let _conn = tokio::spawn(conn);
    migrator::up(&mut db, None).await.expect("migrate");

    // Two origins, as with the seed's two port-forwards.
    let web_listener = TcpListener::bind("127.0.0.1:0").expect("bind web");
    let api_listener = TcpListener::bind("127.0.0.1:0").expect("bind api");
    let web_url = format!("http://{}", web_listener.local_addr().expect("addr"));
    let api_addr = api_listener.local_addr().expect("addr");
    let api_url = format!("http://{api_addr}");

    let mut api = RunningApi::start(&db_url, api_listener, &web_url);
    let web = web_server::server::build(&web_server::config::Settings {
        host: "127.0.0.1".into(),
        port: 0,
        root: bundle,
        api_base_url: web_server::config::ApiBaseUrl::parse(&api_url).expect("api url"),
        log_format: web_server::config::LogFormat::Text,
    })
    .expect("the static server loads the bundle");
    web_listener.set_nonblocking(true).expect("nonblocking");
    let web_listener = tokio::net::TcpListener::from_std(web_listener).expect("tokio listener");
    let (web_stop, web_stopped) = oneshot::channel::<()>();
    let web_task = tokio::spawn(web_server::server::serve(
        web_listener,
        Arc::new(web),
        async move {
            let _ = web_stopped.await;
        },
    ));

    let browser = Browser::start().await.expect("headless Chromium");
    let page = &browser.client;
    page.goto(&web_url).await.expect("open the SPA");

    // The latest ten, newest first, exactly what the API holds.
    until("ten rows", || async { shown(page).await.len() == 10 }).await;
    let rows = shown(page).await;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(ids, (91..=100).rev().collect::<Vec<_>>());
    let from_api: Vec<domain::Random> = reqwest::get(format!("{api_url}/randoms"))
        .await
        .expect("api")
        .json()
        .await
        .expect("list");
    let names: Vec<String> = from_api.iter().map(|r| r.name.to_string()).collect();
    assert_eq!(rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(), names);
    let heading = page
        .find(Locator::Css("h1"))
        .await
        .expect("a heading")
        .text()
        .await
        .expect("text");
    assert!(heading.contains("random UUIDs"), "{heading}");

    // Polish: a description, an icon that costs no request, the list announced as it
    // changes, and keyboard focus that shows (Tab from the page's start reaches "Add").
    let head = page
        .execute(
            "return [document.querySelector('meta[name=description]')?.content ?? '', \
             document.querySelector('link[rel=icon]')?.getAttribute('href') ?? '', \
             document.getElementById('randoms').getAttribute('aria-live')]",
            vec![],
        )
        .await
        .expect("read the head");
    let head: [String; 3] = serde_json::from_value(head).expect("three strings");
    assert!(head[0].len() > 20, "a meta description: {head:?}");
    assert!(head[1].starts_with("data:image/svg+xml,"), "{head:?}");
    assert_eq!(head[2], "polite");
    page.find(Locator::Css("body"))
        .await
        .expect("the body")
        .send_keys("\u{e004}")
        .await
        .expect("press Tab");
    let focused = page
        .execute(
            "const el = document.activeElement; \
             return [el.id, el.matches(':focus-visible'), getComputedStyle(el).outlineStyle]",
            vec![],
        )
        .await
        .expect("read the focus");
    assert_eq!(focused, serde_json::json!(["add", true, "solid"]));

    // Add: hold the insert on a lock so the request stays in flight, and check that the
    // button is disabled meanwhile and a second click adds nothing.
    let add = page
        .find(Locator::Css("button#add"))
        .await
        .expect("the add button");
    let tx = db.transaction().await.expect("begin");
    tx.batch_execute("LOCK TABLE randoms IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    add.click().await.expect("click add");
    until("the button disables while adding", || async {
        add.is_enabled().await.is_ok_and(|enabled| !enabled)
    })
    .await;
    let _ = add.click().await;
    tx.rollback().await.expect("release the lock");
    until("the new row on top", || async {
        shown(page).await.first().map(|r| r.0) == Some(101)
    })
    .await;
    until("the button enables again", || async {
        add.is_enabled().await.unwrap_or(false)
    })
    .await;
    let rows = shown(page).await;
    assert_eq!(rows.len(), 10, "the list stays at ten");
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        (92..=101).rev().collect::<Vec<_>>()
    );
    let count: i64 = db
        .query_one("SELECT count(*) FROM randoms", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 101, "one click while in flight, one row");
    assert!(
        page.current_url()
            .await
            .expect("url")
            .as_str()
            .starts_with(&web_url),
        "no reload or navigation"
    );

    // Items added by anyone appear without a reload, through the API's event stream: a
    // row inserted around the API, then one another client adds.
    db.batch_execute("INSERT INTO randoms DEFAULT VALUES")
        .await
        .expect("a direct insert");
    until("a row inserted elsewhere, on top", || async {
        shown(page).await.first().map(|r| r.0) == Some(102)
    })
    .await;
    let added = reqwest::Client::new()
        .post(format!("{api_url}/randoms"))
        .send()
        .await
        .expect("another client adds one");
    assert_eq!(added.status(), 201);
    until("a row another client added, on top", || async {
        shown(page).await.first().map(|r| r.0) == Some(103)
    })
    .await;
    assert_eq!(shown(page).await.len(), 10, "still ten");
    let errors = console_errors(&browser).await;
    assert!(errors.is_empty(), "the console reports errors: {errors:#?}");

    let screenshot = page.screenshot().await.expect("screenshot");
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    std::fs::write(shots.join("spa.png"), screenshot).expect("save screenshot");

    // The API goes away: the page says so, visibly, and offers a retry.
    api.stop();
    add.click().await.expect("click add");
    until("an error message in the page", || async {
        alert_text(page)
            .await
            .is_some_and(|t| t.contains("Cannot reach the API"))
    })
    .await;
    let shot = page.screenshot().await.expect("screenshot");
    std::fs::write(shots.join("spa-error.png"), shot).expect("save screenshot");

    // Retry while it is still down: the page tries again and still says why.
    page.find(Locator::Css("button#retry"))
        .await
        .expect("a retry button")
        .click()
        .await
        .expect("retry");
    until("the error again after retry", || async {
        alert_text(page)
            .await
            .is_some_and(|t| t.contains("Cannot reach the API"))
    })
    .await;

    // It comes back on the same address: the event stream reconnects and the page recovers
    // by itself, without a click or a reload.
    let api_listener = TcpListener::bind(api_addr).expect("rebind the api port");
    let mut api = RunningApi::start(&db_url, api_listener, &web_url);
    until("the list once the API is back", || async {
        alert_text(page).await.is_none() && shown(page).await.len() == 10
    })
    .await;
    assert_eq!(shown(page).await.first().map(|r| r.0), Some(103));

    browser.close().await.expect("close the browser");
    api.stop();
    let _ = web_stop.send(());
    web_task.await.expect("static server stops");
}

/// The browser console's errors since the last read (chromedriver's log endpoint).
async fn console_errors(browser: &Browser) -> Vec<serde_json::Value> {
    let session = browser
        .client
        .session_id()
        .await
        .expect("a session")
        .expect("a session id");
    let log: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/session/{session}/se/log",
            browser.webdriver_url
        ))
        .json(&serde_json::json!({ "type": "browser" }))
        .send()
        .await
        .expect("chromedriver answers")
        .json()
        .await
        .expect("JSON");
    let entries = log["value"]
        .as_array()
        .unwrap_or_else(|| panic!("no browser log from chromedriver: {log}"));
    entries
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .cloned()
        .collect()
}

async fn tokio_postgres_connect(
    url: &str,
) -> (
    tokio_postgres::Client,
    tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
) {
    tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database")
}

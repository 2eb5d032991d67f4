//! `cargo xtask dev` for real: free ports, its own data directory, a POST and its trace's
//! waterfall in the log, the page's load as one trace through the static server and the
//! API on dev's traces page, edits reaching the open page in a real browser (a stylesheet
//! swapped in place, the SPA rebuilt and reloaded), Ctrl-C (SIGINT), nothing left behind,
//! and the data still there next time.

use std::{
    io::{BufRead, BufReader},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use processes::{Process, Signal, Stop, Stopped, memory::descendants, running};

/// Generous: the first start may compile the binaries and the bundle.
const START: Duration = Duration::from_secs(900);
const REBUILD: Duration = Duration::from_secs(600);

/// Ctrl-C, and the time xtask dev has to stop everything.
const INTERRUPT: Stop = Stop::leader(Signal::SIGINT, Duration::from_secs(60));

struct Dev {
    child: Process,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Dev {
    fn start([api, web, traces]: [u16; 3], data: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        cmd.args([
            "dev",
            "--api-port",
            &api.to_string(),
            "--web-port",
            &web.to_string(),
            "--traces-port",
            &traces.to_string(),
            // Every request's waterfall is printed.
            "--slow-ms",
            "0",
        ])
        .arg("--data-dir")
        .arg(data)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = Process::spawn(&mut cmd, INTERRUPT).expect("start cargo xtask dev");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.take_stdout().expect("piped")) as Box<dyn std::io::Read + Send>,
            Box::new(child.take_stderr().expect("piped")),
        ] {
            let sink = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("[dev] {line}");
                    sink.lock().expect("lock").push(line);
                }
            });
        }
        let dev = Self { child, lines };
        dev.until("the stack is ready", START, || dev.saw("ready in"));
        dev
    }

    fn saw(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .expect("lock")
            .iter()
            .any(|l| l.contains(needle))
    }

    fn until(&self, what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !check() {
            assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Ctrl-C, then the processes it ran, all gone.
    fn interrupt_and_check_clean(mut self, ports: &[u16]) {
        let descendants = descendants(self.child.id()).expect("list processes");
        assert!(
            descendants.len() >= 3,
            "api, web-server and postgres run: {descendants:?}"
        );
        match self.child.stop().expect("SIGINT") {
            Stopped::Exited(status) => assert!(status.success(), "exit status {status}"),
            Stopped::Killed => panic!("xtask dev still running 60 s after SIGINT"),
        }
        let left: Vec<u32> = descendants
            .into_iter()
            .filter(|pid| running(*pid))
            .collect();
        assert!(left.is_empty(), "processes left behind: {left:?}");
        for port in ports {
            assert!(
                TcpStream::connect(("127.0.0.1", *port)).is_err(),
                "port {port} still open"
            );
        }
    }
}

fn get(url: &str) -> Option<(u16, String)> {
    let mut res = ureq::get(url)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .ok()?;
    let status = res.status().as_u16();
    Some((status, res.body_mut().read_to_string().unwrap_or_default()))
}

/// Puts a file back as it was, even if the test fails.
struct Restore {
    path: PathBuf,
    original: Vec<u8>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.original);
    }
}

/// Edits `path` (relative to the workspace root) with `edit`; the original is put back
/// when the returned guard drops, even if the test fails.
fn edit(path: &str, edit: impl FnOnce(&str) -> String) -> Restore {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    let original = std::fs::read(&path).expect("read the file to edit");
    let edited = edit(std::str::from_utf8(&original).expect("UTF-8"));
    assert_ne!(
        edited.as_bytes(),
        original,
        "the edit changes {}",
        path.display()
    );
    std::fs::write(&path, edited).expect("edit");
    Restore { path, original }
}

/// The ids of the traces dev's page lists.
fn listed_traces(traces: u16) -> Vec<String> {
    let (_, list) = get(&format!("http://127.0.0.1:{traces}/")).unwrap_or_default();
    list.split("href=\"/traces/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Whether one of the traces dev's page lists holds a span of each of `names` (and spans of
/// each of `services`).
fn a_trace_holds(traces: u16, names: &[&str], services: &[&str]) -> bool {
    listed_traces(traces).iter().any(|id| {
        let (status, page) =
            get(&format!("http://127.0.0.1:{traces}/traces/{id}")).unwrap_or_default();
        status == 200
            && names
                .iter()
                .all(|name| page.contains(&format!(">{name}</span>")))
            && services
                .iter()
                .all(|service| page.contains(&format!("<span>{service}</span>")))
    })
}

/// Loading the page is one trace: `/config.json` from the static server, then the list
/// from the API, each continuing the page's `traceparent`.
async fn the_page_load_is_one_trace(traces: u16) {
    until_page("a trace through the static server and the API", || async {
        a_trace_holds(
            traces,
            &["GET /config.json", "GET /randoms"],
            &["web-server", "api"],
        )
    })
    .await;
}

/// After a click on Add: it is one trace too, the insert and then the refresh after it.
async fn add_is_one_trace(traces: u16) {
    until_page("Add's insert and refresh in one trace", || async {
        a_trace_holds(traces, &["POST /randoms", "GET /randoms"], &["api"])
    })
    .await;
}

async fn edits_reach_the_open_page(web: u16, traces: u16) {
    let browser = e2e::browser::Browser::start()
        .await
        .expect("headless Chromium");
    let page = &browser.client;
    page.goto(&format!("http://127.0.0.1:{web}/"))
        .await
        .expect("open the page");
    let eval =
        |js: &'static str| async move { page.execute(js, vec![]).await.expect("run a script") };
    let heading = "return document.querySelector('h1')?.textContent ?? ''";
    let color = "return getComputedStyle(document.querySelector('h1')).color";
    until_page("the page renders", || async {
        eval(heading)
            .await
            .as_str()
            .is_some_and(|h| h.contains("random UUIDs"))
    })
    .await;
    the_page_load_is_one_trace(traces).await;
    eval("document.querySelector('#add').click(); return null").await;
    add_is_one_trace(traces).await;
    eval("window.keptAcrossEdits = 'yes'; return null").await;

    let restore = edit("web/style.css", |css| {
        format!("{css}\nh1 {{ color: rgb(1, 2, 3); }}\n")
    });
    until_page("the edited stylesheet applies", || async {
        eval(color).await == "rgb(1, 2, 3)"
    })
    .await;
    drop(restore);
    until_page("the restored stylesheet applies", || async {
        eval(color).await != "rgb(1, 2, 3)"
    })
    .await;
    assert_eq!(
        eval("return window.keptAcrossEdits ?? null").await,
        "yes",
        "a stylesheet edit must not reload the page"
    );

    let marker = format!("Edited by the dev test {}", std::process::id());
    let restore = edit("web/src/app.rs", |src| {
        src.replacen("\"The last 10 random UUIDs\"", &format!("{marker:?}"), 1)
    });
    until_page("the edited SPA is loaded", || async {
        eval(heading).await == marker.as_str()
    })
    .await;
    drop(restore);
    until_page("the restored SPA is loaded", || async {
        eval(heading)
            .await
            .as_str()
            .is_some_and(|h| h.contains("random UUIDs"))
    })
    .await;
    browser.close().await.expect("close the browser");
}

async fn until_page<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + REBUILD;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {REBUILD:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn dev_runs_the_stack_rebuilds_on_change_and_stops_cleanly() {
    let data = std::env::temp_dir().join(format!("xtask-dev-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let ports = [(); 3].map(|()| processes::free_port().expect("a free port"));
    let [api, web, traces] = ports;

    let dev = Dev::start(ports, &data);
    let (status, page) = get(&format!("http://127.0.0.1:{web}/")).expect("the SPA answers");
    assert_eq!(status, 200);
    assert!(
        page.contains("/_dev/live-reload.js"),
        "dev serves the live-reload script: {page}"
    );
    assert_eq!(
        get(&format!("http://127.0.0.1:{api}/ready")).map(|r| r.0),
        Some(200)
    );
    let mut res = ureq::post(&format!("http://127.0.0.1:{api}/randoms"))
        .send_empty()
        .expect("POST");
    assert_eq!(res.status().as_u16(), 201);
    let created: serde_json::Value =
        serde_json::from_str(&res.body_mut().read_to_string().expect("body")).expect("json");
    let id = created["id"].as_i64().expect("an id");
    // Its waterfall, down to the insert, in the log stream.
    dev.until("the POST's waterfall", REBUILD, || {
        let lines = dev.lines.lock().expect("lock");
        let header = lines
            .iter()
            .position(|l| l.contains("trace |") && l.contains("POST /randoms"));
        header.is_some_and(|at| lines[at..].iter().any(|l| l.contains("insert batch")))
    });

    // In a real browser: a stylesheet edit is swapped into the open page (no reload, the
    // page's state kept), and an edit of the SPA's Rust reloads it with the new build.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(edits_reach_the_open_page(web, traces));
    dev.until("the rebuilds settle", REBUILD, || {
        let lines = dev.lines.lock().expect("lock");
        lines
            .iter()
            .filter(|l| l.contains("Web updated in"))
            .count()
            >= 2
            && lines
                .iter()
                .filter(|l| l.contains("Style updated in"))
                .count()
                >= 2
    });

    let db_port: u16 = dev
        .lines
        .lock()
        .expect("lock")
        .iter()
        .find_map(|l| {
            l.split("@127.0.0.1:")
                .nth(1)?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .expect("the db URL is printed");
    dev.interrupt_and_check_clean(&[api, web, traces, db_port]);

    // The data survives a restart.
    let dev = Dev::start(ports, &data);
    let (status, _) =
        get(&format!("http://127.0.0.1:{api}/randoms/{id}")).expect("the API answers");
    assert_eq!(status, 200, "row {id} survived the restart");
    dev.interrupt_and_check_clean(&[api, web, traces]);
    let _ = std::fs::remove_dir_all(&data);
}

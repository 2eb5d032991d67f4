//! Static files: web-server against nginx, over the same freshly built bundle, one server
//! at a time, each started fresh for each scenario (so its peak memory is that scenario's).

use std::{path::PathBuf, process::Command};

use anyhow::{Context, bail};

use crate::{
    Settings,
    bundle::{self, Asset},
    http,
    nginx::{self, Nginx},
    process::{self, Server},
    project, report, wrk,
};

mod table;

/// One URL to load, and the answer both servers must give to it.
struct Scenario {
    name: &'static str,
    path: String,
    accept_encoding: Option<&'static str>,
    content_encoding: Option<&'static str>,
    body_bytes: u64,
    /// Whether nginx can serve it (`.br` needs a module nginx-light lacks).
    nginx: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Contender {
    WebServer,
    Nginx,
}

/// What the servers run from: the bundle, the binaries, a temp dir for logs and config.
struct Lab {
    tmp: tempfile::TempDir,
    dist: PathBuf,
    web_server: PathBuf,
    nginx: Nginx,
    threads: usize,
}

struct Measured {
    stats: wrk::Stats,
    peak_rss: u64,
    /// After the load; the fair measure when one server is several processes.
    pss: u64,
}

struct Row {
    scenario: Scenario,
    web: Measured,
    nginx: Option<Measured>,
}

pub struct Outcome {
    rows: Vec<Row>,
    assets: Vec<Asset>,
    threads: usize,
    nginx_version: Option<String>,
    nginx_brotli: nginx::Brotli,
}

/// Builds what it measures, then measures it.
pub fn run(settings: &Settings) -> anyhow::Result<Outcome> {
    let target = project::target_dir()?;
    let dist = target.join("bench").join("dist");
    let assets = bundle::build(&dist)?;
    project::run(
        "building web-server (release)",
        project::cargo(["build", "--release", "--locked", "--package", "web-server"])?,
    )?;
    let web_server = target.join("release").join("web-server");
    if !web_server.is_file() {
        bail!(
            "cargo built web-server, but {} is missing",
            web_server.display()
        );
    }
    // web-server runs one worker (thread and runtime) per core; nginx gets as many workers.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tmp = process::temp_dir("bench-static")?;
    let brotli = nginx::brotli();
    if brotli == nginx::Brotli::No {
        eprintln!(
            "bench: note: this nginx cannot serve .br files; brotli is measured on \
             web-server alone (Debian: apt-get install {})",
            nginx::BROTLI_PACKAGE
        );
    }
    let nginx = Nginx {
        dir: tmp.path().join("nginx"),
        root: dist.clone(),
        workers: threads,
        brotli: brotli.clone(),
    };
    std::fs::create_dir(&nginx.dir).context("creating nginx's dir")?;
    let lab = Lab {
        tmp,
        dist,
        web_server,
        nginx,
        threads,
    };

    let mut rows = Vec::new();
    let nginx_brotli = brotli != nginx::Brotli::No;
    for (i, scenario) in scenarios(&assets, nginx_brotli)?.into_iter().enumerate() {
        // Alternate who goes first, so a drift in the machine's load favours neither.
        let order = if i % 2 == 0 {
            [Contender::WebServer, Contender::Nginx]
        } else {
            [Contender::Nginx, Contender::WebServer]
        };
        let (mut web, mut nginx) = (None, None);
        for who in order {
            match who {
                Contender::WebServer => web = Some(measure(&lab, who, &scenario, settings)?),
                Contender::Nginx if scenario.nginx => {
                    nginx = Some(measure(&lab, who, &scenario, settings)?);
                }
                Contender::Nginx => {}
            }
        }
        let web = web.context("web-server was measured")?;
        rows.push(Row {
            scenario,
            web,
            nginx,
        });
    }
    Ok(Outcome {
        rows,
        assets,
        threads: lab.threads,
        nginx_version: nginx::version(),
        nginx_brotli: brotli,
    })
}

fn scenarios(assets: &[Asset], nginx_brotli: bool) -> anyhow::Result<Vec<Scenario>> {
    let index = assets
        .iter()
        .find(|a| a.name == "index.html")
        .context("the bundle has no index.html")?;
    let wasm = assets
        .iter()
        .find(|a| a.name.ends_with(".wasm"))
        .context("the bundle has no .wasm")?;
    let wasm_path = format!("/{}", wasm.name);
    Ok(vec![
        Scenario {
            name: "index.html (identity)",
            path: "/".to_owned(),
            accept_encoding: None,
            content_encoding: None,
            body_bytes: index.raw,
            nginx: true,
        },
        Scenario {
            name: "wasm, gzip",
            path: wasm_path.clone(),
            accept_encoding: Some("gzip"),
            content_encoding: Some("gzip"),
            body_bytes: wasm.gzip.context("the wasm has no .gz")?,
            nginx: true,
        },
        Scenario {
            name: "wasm, br",
            path: wasm_path,
            accept_encoding: Some("br"),
            content_encoding: Some("br"),
            body_bytes: wasm.brotli.context("the wasm has no .br")?,
            nginx: nginx_brotli,
        },
    ])
}

impl Lab {
    fn start(&self, who: Contender, port: u16) -> anyhow::Result<Server> {
        match who {
            Contender::WebServer => {
                let mut cmd = Command::new(&self.web_server);
                // Everything it reads, set here, so the caller's environment changes nothing.
                cmd.env_remove("CONFIG_FILE")
                    .env("WEB_HOST", "127.0.0.1")
                    .env("WEB_PORT", port.to_string())
                    .env("WEB_ROOT", &self.dist)
                    .env("API_BASE_URL", "http://localhost:3080")
                    .env("LOG_FORMAT", "text")
                    .env("RUST_LOG", "info");
                let log = self.tmp.path().join("web-server.log");
                Server::spawn("web-server", cmd, &log)
            }
            Contender::Nginx => {
                self.nginx.configure(port)?;
                let log = self.tmp.path().join("nginx.log");
                Server::spawn("nginx", self.nginx.command(), &log)
            }
        }
    }
}

/// One server, one scenario: start, check the answer, warm up, load, read its peak memory.
fn measure(
    lab: &Lab,
    who: Contender,
    scenario: &Scenario,
    settings: &Settings,
) -> anyhow::Result<Measured> {
    settings.check_interrupted()?;
    let port = process::free_port()?;
    let mut server = lab.start(who, port)?;
    let base = format!("http://127.0.0.1:{port}");
    http::wait_ready(&mut server, &format!("{base}/"))?;
    let url = format!("{base}{}", scenario.path);
    verify(server.name, &url, scenario)?;
    eprintln!(
        "bench: {} on {}: {} s warm-up, {} s load",
        scenario.name,
        server.name,
        settings.warmup.as_secs(),
        settings.load.duration.as_secs()
    );
    let warmup = wrk::Load {
        duration: settings.warmup,
        ..settings.load
    };
    // An interrupted wrk fails; say "interrupted" rather than wrk's error.
    let warm = wrk::run(&warmup, &url, scenario.accept_encoding);
    settings.check_interrupted()?;
    warm?;
    let stats = wrk::run(&settings.load, &url, scenario.accept_encoding);
    settings.check_interrupted()?;
    let stats = stats?;
    server
        .check_running()
        .context("the server died under load")?;
    let peak_rss = server.peak_rss()?;
    let pss = server.pss()?;
    server.stop();
    let errors = match stats.errors() {
        0 => String::new(),
        n => format!(", {n} ERRORS"),
    };
    eprintln!(
        "bench:   {} req/s, p99 {}, peak RSS {}, PSS {}{errors}",
        report::rate(stats.requests_per_sec),
        report::millis(stats.latency_p99),
        report::mib(peak_rss),
        report::mib(pss)
    );
    Ok(Measured {
        stats,
        peak_rss,
        pss,
    })
}

/// The server must answer exactly what the scenario expects, or the load would measure
/// something else (a 404 page, an uncompressed file).
fn verify(server: &str, url: &str, s: &Scenario) -> anyhow::Result<()> {
    let a = http::get(url, s.accept_encoding)?;
    let got_encoding = a.content_encoding.as_deref();
    if a.status != 200 || got_encoding != s.content_encoding || a.body_len != s.body_bytes {
        bail!(
            "{server} answers GET {} (Accept-Encoding: {}) with {}, Content-Encoding {}, \
             {} bytes; expected 200, {}, {} bytes",
            s.path,
            s.accept_encoding.unwrap_or("none"),
            a.status,
            got_encoding.unwrap_or("none"),
            a.body_len,
            s.content_encoding.unwrap_or("none"),
            s.body_bytes
        );
    }
    Ok(())
}

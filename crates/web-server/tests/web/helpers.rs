use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use web_server::{
    app::App,
    config::{ApiBaseUrl, LogFormat, Settings},
};

pub use crate::process::{TestBinary, open_sockets, peak_rss_kib, rss_kib, run_to_exit};

/// Bounds every socket read, so a hang fails the test instead of stalling it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub const JS: &str = "app-0123456789abcdef.js";
pub const WASM: &str = "app-0123456789abcdef_bg.wasm";
pub const CSS: &str = "style-89abcdef.css";
pub const INDEX_MARKER: &str = "<!-- the spa index -->";

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "web-server-test-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Symlinks are removed, not followed.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A bundle in `<tmp>/dist`, with a secret next to it in `<tmp>/secret.txt` that no request
/// may ever reveal, and symlinks that try to reach it.
pub struct Site {
    pub dir: TempDir,
    pub secret: String,
}

impl Site {
    pub fn new() -> Self {
        let dir = TempDir::new();
        let secret = format!(
            "TOP-SECRET-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        std::fs::write(dir.path().join("secret.txt"), &secret).expect("write the secret");
        let site = Self { dir, secret };
        let root = site.root();
        std::fs::create_dir_all(root.join("nested/deep")).expect("mkdir");

        let index = format!(
            "<!doctype html><html><head><title>randoms</title>{INDEX_MARKER}\
             <link rel=\"stylesheet\" href=\"/{CSS}\"><script type=\"module\" src=\"/{JS}\">\
             </script></head><body></body></html>\n"
        )
        .repeat(4);
        write_compressed(&root.join("index.html"), index.as_bytes());
        write_compressed(&root.join(JS), js().as_bytes());
        write_compressed(&root.join(WASM), &wasm());
        write_compressed(&root.join(CSS), b"body { margin: 0; color: #333; }\n");
        write_compressed(
            &root.join("logo.svg"),
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        );
        write_compressed(&root.join(format!("{JS}.map")), b"{\"version\":3}");
        for (name, body) in [
            ("favicon.ico", &b"\0\0\x01\0icon"[..]),
            ("photo.png", b"\x89PNG\r\n\x1a\nnot really"),
            ("robots.txt", b"User-agent: *\n"),
            ("data.json", b"{\"a\":1}"),
            ("nested/deep/page.txt", b"deep"),
            // Shadowed by the server's own routes.
            ("healthz", b"shadowed healthz"),
            ("config.json", b"{\"api_base_url\":\"shadowed\"}"),
            (".env", b"HIDDEN=1"),
        ] {
            std::fs::write(root.join(name), body).expect("write a bundle file");
        }
        let link = |target: &str, name: &str| {
            std::os::unix::fs::symlink(target, root.join(name)).expect("symlink");
        };
        // Leading out of the root: must be refused.
        link("../secret.txt", "leak.txt");
        link("..", "leakdir");
        link(
            &site.dir.path().join("secret.txt").display().to_string(),
            "abs-leak.txt",
        );
        // Staying inside: fine, and a loop must not hang the loader.
        link(CSS, "alias.css");
        link(".", "loop");
        site
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("dist")
    }

    /// The identity bytes of a bundle file.
    pub fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.root().join(name)).expect("read a bundle file")
    }
}

fn js() -> String {
    (0..200)
        .map(|i| format!("export function f{i}(x) {{ return x * {i} + 1; }}\n"))
        .collect()
}

/// About 110 KB, compressible like real wasm (a repeated vocabulary with some noise).
fn wasm() -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    let mut state: u32 = 12345;
    while bytes.len() < 110 * 1024 {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let word = (state >> 16) % 64;
        bytes.extend_from_slice(format!("fn{word};").as_bytes());
        if word.is_multiple_of(7) {
            bytes.push((state >> 8) as u8);
        }
    }
    bytes
}

/// Writes `path` and its precompressed `.br` and `.gz` siblings, as the build does.
pub fn write_compressed(path: &Path, body: &[u8]) {
    std::fs::write(path, body).expect("write");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body).expect("gzip");
    std::fs::write(format!("{}.gz", path.display()), gz.finish().expect("gzip")).expect("write");
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
        w.write_all(body).expect("brotli");
    }
    std::fs::write(format!("{}.br", path.display()), br).expect("write");
}

pub fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

pub fn unbrotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(body, 4096)
        .read_to_end(&mut out)
        .expect("a brotli body");
    out
}

/// The library's server on a free loopback port, in its own runtime thread; stopped (and
/// its bundle removed) when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub site: Site,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

pub const API_BASE_URL: &str = "https://api.example.com:8443/v1/";
pub const API_ORIGIN: &str = "https://api.example.com:8443";

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(|app, _| app)
    }

    /// With the dev live-reload channel on, as `WEB_DEV_RELOAD=1` turns it on.
    #[cfg(feature = "live-reload")]
    pub fn start_live_reload() -> Self {
        Self::start_with(|app, root| {
            app.with_live_reload(web_server::live_reload::LiveReload::new().with_root(root))
        })
    }

    /// The server for a fresh [`Site`], its [`App`] passed through `setup` first.
    pub fn start_with(setup: impl FnOnce(App, &Path) -> App) -> Self {
        let site = Site::new();
        let settings = Settings {
            host: "127.0.0.1".into(),
            port: 0,
            root: site.root(),
            api_base_url: ApiBaseUrl::parse(API_BASE_URL).expect("a valid URL"),
            log_format: LogFormat::Text,
        };
        let app = setup(
            web_server::server::build(&settings).expect("the bundle loads"),
            &settings.root,
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let stop = async move {
                    let _ = stopped.await;
                };
                web_server::server::serve(listener, Arc::new(app), stop).await;
            });
        });
        Self {
            addr,
            site,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn get(&self, path: &str) -> RawResponse {
        self.request("GET", path, &[])
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> RawResponse {
        request(self.addr, method, path, headers)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A response read off the wire; header names in lower case.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request with `Connection: close`, written byte for byte as given (no client
/// normalizes the path), read to the end.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    raw(addr, head.as_bytes())
}

/// Sends `bytes` as they are and parses whatever comes back.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(bytes).expect("send the request");
    read_response(&mut stream)
}

/// Reads `stream` to the end (within [`IO_TIMEOUT`]) and parses it.
pub fn read_response(stream: &mut TcpStream) -> RawResponse {
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("read the response");
    parse(&reply)
}

fn parse(reply: &[u8]) -> RawResponse {
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(reply)));
    let head = String::from_utf8_lossy(&reply[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line, got {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: reply[split + 4..].to_vec(),
    }
}

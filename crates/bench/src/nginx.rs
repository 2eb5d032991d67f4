//! nginx as the reference static server: a config generated into a temp dir, set up the
//! way one would deploy it for this bundle (precompressed gzip, and brotli when the
//! module is installed; the same caching and security headers as web-server), run in the
//! foreground.

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context;

/// web-server's default `Content-Security-Policy`, so both send headers of about the same
/// size (if web-server's changes, only a few header bytes differ).
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self' http://localhost:3080; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'; object-src 'none'";

/// The third-party module that serves `.br` files. Debian's nginx-light lacks it;
/// Debian packages it as libnginx-mod-http-brotli-static.
const BROTLI_MODULE: &str = "ngx_http_brotli_static_module.so";
pub const BROTLI_PACKAGE: &str = "libnginx-mod-http-brotli-static";

/// Whether, and how, this nginx can serve precompressed brotli.
#[derive(Clone, Debug, PartialEq)]
pub enum Brotli {
    No,
    /// Compiled in.
    Builtin,
    /// A dynamic module to `load_module`.
    Module(PathBuf),
}

pub struct Nginx {
    /// Holds the config, pid file, logs and temp paths.
    pub dir: PathBuf,
    pub root: PathBuf,
    pub workers: usize,
    pub brotli: Brotli,
}

impl Nginx {
    /// Writes the config for `port`; `nginx -t` checks it, so a mistake fails here.
    pub fn configure(&self, port: u16) -> anyhow::Result<()> {
        let conf = config(&Config {
            dir: &self.dir,
            root: &self.root,
            port,
            workers: self.workers,
            as_root: is_root(),
            brotli: &self.brotli,
        });
        let path = self.conf();
        fs::write(&path, conf).with_context(|| format!("writing {}", path.display()))?;
        let out = self
            .command()
            .arg("-t")
            .output()
            .context("running nginx -t")?;
        if !out.status.success() {
            anyhow::bail!(
                "nginx rejects the generated {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// `nginx -p <dir> -c <dir>/nginx.conf -e <dir>/error.log -g 'daemon off;'`: the
    /// master stays our child, and nothing is read or written outside `dir`.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("nginx");
        cmd.arg("-p")
            .arg(&self.dir)
            .arg("-c")
            .arg(self.conf())
            // Before the config is read, nginx logs to its compiled-in path.
            .arg("-e")
            .arg(self.dir.join("error.log"))
            .args(["-g", "daemon off;"]);
        cmd
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("nginx.conf")
    }
}

/// `nginx/1.22.1`, for the report.
pub fn version() -> Option<String> {
    let text = build_info()?;
    let first = text.lines().next()?;
    Some(
        first
            .trim()
            .trim_start_matches("nginx version: ")
            .to_owned(),
    )
}

/// The brotli module in nginx's modules directory, or compiled in (from `nginx -V`).
pub fn brotli() -> Brotli {
    let Some(info) = build_info() else {
        return Brotli::No;
    };
    let arg = |name: &str| {
        info.split_whitespace()
            .filter_map(move |a| a.strip_prefix(name))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let module = arg("--modules-path=")
        .into_iter()
        .map(|dir| PathBuf::from(dir).join(BROTLI_MODULE))
        .find(|m| m.is_file());
    if let Some(module) = module {
        Brotli::Module(module)
    } else if arg("--add-module=").iter().any(|m| m.contains("brotli")) {
        Brotli::Builtin
    } else {
        Brotli::No
    }
}

/// `nginx -V`: version and configure arguments (nginx prints them on stderr).
fn build_info() -> Option<String> {
    let out = Command::new("nginx").arg("-V").output().ok()?;
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

struct Config<'a> {
    dir: &'a Path,
    root: &'a Path,
    port: u16,
    workers: usize,
    as_root: bool,
    brotli: &'a Brotli,
}

/// The config. Settings that differ from nginx's defaults, and why:
/// - `worker_processes` = web-server's workers (one per core), so both use the same cores;
/// - `user root` only when we are root: workers run as the invoking user, who can read the
///   bundle (nginx ignores `user` otherwise, with a warning);
/// - `sendfile`, `tcp_nopush`, `open_file_cache`, a high `keepalive_requests`: what a
///   static deployment turns on, so nginx is not handicapped by defaults;
/// - the access log is on, buffered, to a file, as web-server's is (it writes its lines
///   through a buffer from a background thread);
/// - `gzip_static` (and `brotli_static` when available) serve the precompressed files;
///   `gzip off`, so nothing is compressed per request.
fn config(c: &Config) -> String {
    let d = c.dir.display();
    let (port, workers) = (c.port, c.workers);
    let mut headers = String::new();
    for (name, value) in [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
    ] {
        let _ = writeln!(headers, "            add_header {name} \"{value}\" always;");
    }
    let user = if c.as_root { "user root;\n" } else { "" };
    let load_module = match c.brotli {
        Brotli::Module(path) => format!("load_module \"{}\";\n", path.display()),
        _ => String::new(),
    };
    let brotli_static = match c.brotli {
        Brotli::No => "",
        _ => "    brotli_static on;\n",
    };
    format!(
        r#"# Generated by `cargo xtask bench`; see docs/performance.md.
{load_module}{user}worker_processes {workers};
pid "{d}/nginx.pid";
lock_file "{d}/nginx.lock";
error_log "{d}/error.log" warn;

events {{
    worker_connections 1024;
}}

http {{
    types {{
        text/html html;
        text/css css;
        text/javascript js;
        application/wasm wasm;
    }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/css text/javascript;

    access_log "{d}/access.log" combined buffer=64k flush=1s;
    client_body_temp_path "{d}/client_body";
    proxy_temp_path "{d}/proxy";
    fastcgi_temp_path "{d}/fastcgi";
    uwsgi_temp_path "{d}/uwsgi";
    scgi_temp_path "{d}/scgi";

    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    server_tokens off;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;

    gzip off;
    gzip_static on;
    gzip_vary on;
{brotli_static}
    server {{
        listen 127.0.0.1:{port};
        root "{root}";

        # Content-hashed names are immutable; everything else revalidates (as web-server).
        location ~ "-[0-9a-f]{{8,}}(_[a-z]+)?\.(js|wasm|css)$" {{
            add_header Cache-Control "public, max-age=31536000, immutable" always;
{headers}        }}
        location / {{
            try_files $uri /index.html;
            add_header Cache-Control "no-cache" always;
{headers}        }}
    }}
}}
"#,
        root = c.root.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(as_root: bool, brotli: &Brotli) -> String {
        config(&Config {
            dir: Path::new("/tmp/b"),
            root: Path::new("/srv/dist"),
            port: 4242,
            workers: 2,
            as_root,
            brotli,
        })
    }

    #[test]
    fn the_config_keeps_everything_in_its_dir() {
        let conf = conf(false, &Brotli::No);
        assert!(!conf.contains("user root"));
        assert!(!conf.contains("brotli"));
        for line in [
            "pid \"/tmp/b/nginx.pid\";",
            "listen 127.0.0.1:4242;",
            "root \"/srv/dist\";",
            "worker_processes 2;",
        ] {
            assert!(conf.contains(line), "{line} in\n{conf}");
        }
        // Every path nginx writes is under the dir.
        for key in ["_temp_path ", "access_log ", "error_log ", "lock_file "] {
            for l in conf.lines().filter(|l| l.contains(key)) {
                assert!(l.contains("/tmp/b/"), "{l}");
            }
        }
    }

    #[test]
    fn root_and_brotli_only_when_there() {
        let module = Brotli::Module(PathBuf::from("/m/ngx_http_brotli_static_module.so"));
        let text = conf(true, &module);
        assert!(text.contains("\nuser root;\n"));
        // load_module belongs before everything else in the main context.
        let load = text.find("load_module \"/m/ngx_http_brotli_static_module.so\";");
        let workers = text.find("worker_processes");
        assert!(load.is_some() && load < workers, "{text}");
        assert!(text.contains("brotli_static on;"));
        let builtin = conf(false, &Brotli::Builtin);
        assert!(!builtin.contains("load_module") && builtin.contains("brotli_static on;"));
    }
}

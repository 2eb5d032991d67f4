//! A real headless Chromium behind chromedriver, each with a fresh profile, both stopped
//! when dropped.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder};
use processes::{Process, Signal, Stop};

/// What `.ci/run` installs: Debian's `chromium` and `chromium-driver`.
const INSTALL_HINT: &str = "install Chromium and its WebDriver (Debian/Ubuntu: \
     `apt-get install chromium chromium-driver`), or set CHROMEDRIVER and CHROMIUM";

pub struct Browser {
    pub client: Client,
    /// chromedriver's own address, for what fantoccini does not wrap.
    pub webdriver_url: String,
    driver: Process,
    profile: PathBuf,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Self> {
        let chromedriver = processes::find_program_or_env("CHROMEDRIVER", &["chromedriver"])
            .context(INSTALL_HINT)?;
        let chromium = processes::find_program_or_env(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        )
        .context(INSTALL_HINT)?;
        let port = processes::free_port()?;
        let mut cmd = Command::new(&chromedriver);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Chromium inherits chromedriver's group, so stopping the group stops the browser
        // even when the session never closed (a failed test).
        let driver = Process::spawn(
            &mut cmd,
            Stop::group(Signal::SIGKILL, Duration::from_secs(5)),
        )
        .with_context(|| format!("starting {}", chromedriver.display()))?;
        let profile =
            std::env::temp_dir().join(format!("e2e-chromium-{}-{port}", std::process::id()));
        // On error the driver is dropped, which stops its group.
        let client = connect(port, &chromium, &profile).await?;
        let browser = Self {
            client,
            webdriver_url: format!("http://127.0.0.1:{port}"),
            driver,
            profile,
        };
        browser.client.set_window_size(1024, 768).await?;
        Ok(browser)
    }

    /// Closes the session and stops chromedriver (and with it Chromium).
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.client.clone().close().await?;
        self.stop_driver();
        Ok(())
    }

    fn stop_driver(&mut self) {
        let _ = self.driver.stop();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop_driver();
    }
}

async fn connect(
    port: u16,
    chromium: &std::path::Path,
    profile: &std::path::Path,
) -> anyhow::Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    // The console, for tests that read it (`POST /session/{id}/se/log`).
    caps.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({ "browser": "ALL" }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    // chromedriver takes a moment to listen, and Chromium to start.
    loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Ok(client),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => bail!("chromedriver on port {port} did not start a Chromium session: {e}"),
        }
    }
}

//! Headless Chromium for the browser tests: chromedriver on a loopback
//! port, a browser session per test, `orgsync serve` started for it, and
//! screenshots saved into `docs/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::TestOrg;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The browser window, which is also the size of the screenshots.
pub const WINDOW: (u32, u32) = (1280, 860);
/// How long any one wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// A chromedriver process on a loopback port; killed on drop.
pub struct ChromeDriver {
    _child: Child,
    url: String,
}

impl ChromeDriver {
    pub async fn start() -> ChromeDriver {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing; install the Debian packages chromium and chromium-driver \
                 (scripts/test does)"
            );
        }
        // chromedriver takes no port 0, so ask the OS for a free port first.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");

        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = http.get(format!("{url}/status")).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ChromeDriver { _child: child, url }
    }

    /// Opens a headless Chromium session with its own profile folder.
    pub async fn browser(&self, profile: &Path) -> Client {
        let arguments = [
            "--headless=new".to_string(),
            // Chromium's sandbox does not run as root, which CI is.
            "--no-sandbox".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--disable-gpu".to_string(),
            "--hide-scrollbars".to_string(),
            "--force-color-profile=srgb".to_string(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": arguments }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("the capabilities are a JSON object");
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromedriver opens a Chromium session")
    }
}

/// Starts `orgsync serve` for `org` without access tokens and returns it
/// with the URL it prints.
pub async fn serve(org: &TestOrg) -> (Child, String) {
    let mut command = org.command(&["serve", "--listen", "127.0.0.1:0"]);
    command
        .env_remove("ORGSYNC_READ_TOKEN")
        .env_remove("ORGSYNC_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    serve_with_env(command).await
}

/// Starts a prepared `orgsync serve` command, whose stdout must be piped,
/// and returns it with the URL it prints.
pub async fn serve_with_env(mut command: Command) -> (Child, String) {
    let mut child = command.spawn().expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("stdout readable") {
            if let Some(url) = line.trim().strip_prefix("orgsync is serving ") {
                return url.to_string();
            }
        }
        panic!("serve exited before printing its address");
    })
    .await
    .expect("serve prints its address");
    (child, url)
}

/// Returns `docs/screenshots` when `ORGSYNC_UPDATE_SCREENSHOTS=1`, else a
/// folder under the target directory, so a plain test run changes no file.
pub fn screenshots_dir() -> PathBuf {
    if std::env::var_os("ORGSYNC_UPDATE_SCREENSHOTS").is_some_and(|value| value == "1") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    }
}

/// Saves a PNG screenshot of the browser window as `NAME` in
/// [`screenshots_dir`].
pub async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot taken");
    let dir = screenshots_dir();
    std::fs::create_dir_all(&dir).expect("screenshots folder");
    std::fs::write(dir.join(name), png).expect("screenshot written");
}

/// Waits for the element `css` and returns its text.
pub async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no element {css}: {error}"))
        .text()
        .await
        .expect("element text")
}

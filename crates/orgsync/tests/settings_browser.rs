//! The sign-in and Catalog Settings pages in headless Chromium, driven
//! through chromedriver (WebDriver) with fantoccini, against the real
//! `orgsync serve` and a fake-okta org on loopback ports.
//!
//! The browser signs in, adds a provider, watches Test connection fail on a
//! wrong key id with the fix, corrects it, previews, saves, runs it and
//! watches the run's progress, then finds a user and a group the run
//! wrote. Every page's source is checked for the private key and the
//! password, and screenshots of the settings pages go to
//! `docs/screenshots/` when `ORGSYNC_UPDATE_SCREENSHOTS=1`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/test installs
//! them).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::browser::{screenshot, serve_with_env, text_of, ChromeDriver, WAIT};
use common::TestOrg;
use fake_okta::faults::{FaultConfig, Latency};
use fake_okta::server::FakeOkta;
use fantoccini::{Client, Locator};

const PASSWORD: &str = "browser test password";

/// Types `text` into the empty form field `css`.
async fn fill(browser: &Client, css: &str, text: &str) {
    let field = browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no field {css}: {error}"));
    field.clear().await.expect("field cleared");
    field.send_keys(text).await.expect("typed");
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no element {css}: {error}"))
        .click()
        .await
        .expect("clicked");
}

/// Clicks the submit button `css` and waits until the next page replaced
/// the current one, so that later reads do not find the old page.
async fn submit(browser: &Client, css: &str) {
    let old = browser
        .find(Locator::Css("html"))
        .await
        .expect("the page has a root");
    click(browser, css).await;
    let deadline = Instant::now() + WAIT;
    while old.text().await.is_ok() {
        assert!(Instant::now() < deadline, "submitting {css} loaded no page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Scrolls the element with `id` to the top of the window, for a screenshot.
async fn scroll_to(browser: &Client, id: &str) {
    let script = format!("document.getElementById('{id}').scrollIntoView()");
    browser.execute(&script, Vec::new()).await.expect("scrolled");
}

/// Fills the fields the form does not keep after a submit: the private key
/// (write-only) and the key id.
async fn fill_key(browser: &Client, private_key: &str, key_id: &str) {
    fill(browser, "textarea#private_key", private_key).await;
    fill(browser, "input#key_id", key_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_adds_tests_saves_and_runs_provider() {
    // The config's own provider never runs during the test, so the saved
    // provider owns every entity of the org.
    let org = TestOrg::start(
        FakeOkta::builder().generated(60, 8, 5),
        "        schedule: { frequency: { hours: 1 }, timeout: { minutes: 5 }, initialDelay: { hours: 1 } }\n",
    )
    .await;
    let credentials = org.fake.credentials.clone().expect("generated client");
    let key_line = credentials
        .private_key_pem
        .lines()
        .find(|line| line.len() > 40 && !line.starts_with("-----"))
        .expect("a line of key material")
        .to_string();

    let mut command = org.command(&["serve", "--listen", "127.0.0.1:0"]);
    command
        .env("ORGSYNC_ADMIN_PASSWORD", PASSWORD)
        .env_remove("ORGSYNC_READ_TOKEN")
        .env_remove("ORGSYNC_ADMIN_TOKEN")
        .env_remove("ORGSYNC_SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let (mut server, url) = serve_with_env(command).await;
    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().expect("browser profile folder");
    let browser = driver.browser(profile.path()).await;
    let mut sources = Vec::new();

    // Sign in from the settings page.
    browser.goto(&format!("{url}/settings")).await.expect("settings open");
    click(&browser, "a[href='/sign-in?next=/settings']").await;
    fill(&browser, "input#secret", PASSWORD).await;
    screenshot(&browser, "sign-in.png").await;
    submit(&browser, "form[action='/sign-in'] button[type=submit]").await;
    let header = text_of(&browser, ".viewer").await;
    assert!(header.contains("Signed in as"), "{header}");

    // A new provider with a wrong key id: Test connection fails with a fix.
    click(&browser, "a[href='/settings/providers/new']").await;
    fill(&browser, "input#id", "web").await;
    fill(&browser, "input#okta_url", org.fake.base_url.as_str()).await;
    fill(&browser, "input#client_id", &credentials.client_id).await;
    fill(&browser, "input#frequency", "PT1H").await;
    fill(&browser, "input#timeout", "PT2M").await;
    fill_key(&browser, &credentials.private_key_pem, "wrong-key-id").await;
    submit(&browser, "button[value=test]").await;
    let results = text_of(&browser, "#test-results").await;
    assert!(results.contains("Failed"), "{results}");
    assert!(results.contains("Fix: "), "{results}");
    assert!(results.contains("wrong-key-id"), "{results}");
    scroll_to(&browser, "test-results").await;
    screenshot(&browser, "settings-test-connection.png").await;
    sources.push(browser.source().await.expect("page source"));

    // Corrected, the preview counts what a sync would add.
    fill_key(&browser, &credentials.private_key_pem, &credentials.key_id).await;
    submit(&browser, "button[value=test]").await;
    let results = text_of(&browser, "#test-results").await;
    assert!(!results.contains("Failed"), "{results}");
    fill_key(&browser, &credentials.private_key_pem, &credentials.key_id).await;
    submit(&browser, "button[value=preview]").await;
    let preview = text_of(&browser, "#preview-results").await;
    assert!(preview.contains("Nothing was written"), "{preview}");
    assert!(preview.contains("Added"), "{preview}");
    scroll_to(&browser, "preview-results").await;
    screenshot(&browser, "settings-preview.png").await;
    sources.push(browser.source().await.expect("page source"));

    // Save: the page shows only the key's fingerprint.
    fill_key(&browser, &credentials.private_key_pem, &credentials.key_id).await;
    submit(&browser, "button[value=save]").await;
    let notice = text_of(&browser, "p[role=status]").await;
    assert!(notice.starts_with("Saved"), "{notice}");
    let stored = text_of(&browser, ".stored-key").await;
    assert!(stored.contains("A key is stored"), "{stored}");
    let key_field = browser
        .find(Locator::Css("textarea#private_key"))
        .await
        .expect("key field")
        .prop("value")
        .await
        .expect("key field value");
    assert_eq!(key_field.as_deref(), Some(""));
    screenshot(&browser, "settings-provider.png").await;
    sources.push(browser.source().await.expect("page source"));

    // Run now, slowed down so the run panel shows the run in progress.
    let slow = FaultConfig {
        latency: Latency::Fixed {
            delay: Duration::from_millis(150),
        },
        ..FaultConfig::default()
    };
    org.fake.faults().set_config(slow).expect("latency set");
    submit(&browser, "button[value=run]").await;
    let deadline = Instant::now() + WAIT * 4;
    let mut saw_progress = false;
    loop {
        // The page script replaces the panel while it is read, so a read
        // that finds it stale is tried again.
        let panel = match browser.find(Locator::Css("#run-panel")).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if panel.contains("Running since") {
            if !saw_progress {
                screenshot(&browser, "settings-run-progress.png").await;
            }
            saw_progress = true;
        }
        if panel.contains("Last run") && panel.contains("Succeeded") {
            break;
        }
        assert!(Instant::now() < deadline, "the run did not finish: {panel}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(saw_progress, "the run panel never showed the run in progress");
    org.fake
        .faults()
        .set_config(FaultConfig::default())
        .expect("latency cleared");
    sources.push(browser.source().await.expect("page source"));

    // The list shows the provider's counts; the catalog has its entities.
    browser.goto(&format!("{url}/settings")).await.expect("settings open");
    let rows = text_of(&browser, "tbody").await;
    let row = rows
        .lines()
        .skip_while(|line| !line.starts_with("web"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(row.contains("saved settings"), "{rows}");
    assert!(row.contains("Succeeded"), "{rows}");
    screenshot(&browser, "settings.png").await;
    sources.push(browser.source().await.expect("page source"));

    let entities = org.catalog().await;
    let user = common::of_kind(&entities, "User")[0]["metadata"]["name"]
        .as_str()
        .expect("a user name")
        .to_string();
    let group = common::of_kind(&entities, "Group")[0]["metadata"]["name"]
        .as_str()
        .expect("a group name")
        .to_string();
    for (list, name) in [("users", &user), ("groups", &group)] {
        browser
            .goto(&format!("{url}/{list}?q={name}"))
            .await
            .expect("list opens");
        click(&browser, &format!("table a[href='/{list}/{name}']")).await;
        let heading = text_of(&browser, "h1").await;
        assert!(!heading.is_empty());
        sources.push(browser.source().await.expect("page source"));
    }

    browser.close().await.expect("browser closes");
    let _ = server.start_kill();
    let _ = server.wait().await;

    for source in &sources {
        assert!(!source.contains(&key_line), "a page shows the private key");
        assert!(!source.contains(PASSWORD), "a page shows the password");
    }
}

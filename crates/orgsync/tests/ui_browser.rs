//! The web UI in headless Chromium, driven through chromedriver (WebDriver)
//! with fantoccini.
//!
//! A fake-okta org with a group hierarchy is synced three times with
//! `orgsync sync`, then the real `orgsync serve` serves it on a loopback
//! port. The browser finds a user and a group through the search forms,
//! submitted with the keyboard, and opens their pages. It checks the group
//! tree, the run charts, that the stylesheet applied under the
//! Content-Security-Policy, and that no page shows the private key. It
//! saves screenshots of the main pages, into `docs/screenshots/` when
//! `ORGSYNC_UPDATE_SCREENSHOTS=1`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/test installs
//! them).

mod common;

use common::browser::{screenshot, serve, text_of, ChromeDriver, WAIT};
use common::{of_kind, strings, TestOrg};
use fake_okta::server::FakeOkta;
use fantoccini::Locator;
use serde_json::{json, Value};

/// Finds a group with a parent and child groups, for a tree with both ends.
fn group_in_middle(groups: &[&Value]) -> Value {
    groups
        .iter()
        .find(|group| {
            group["spec"]["parent"].is_string() && !strings(&group["spec"]["children"]).is_empty()
        })
        .map(|group| (*group).clone())
        .expect("the generated org has a group with a parent and children")
}

/// Returns the name part of `kind:namespace/name`.
fn name_of(entity_ref: &str) -> String {
    entity_ref
        .rsplit('/')
        .next()
        .unwrap_or(entity_ref)
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_finds_user_and_group() {
    let org = TestOrg::start(
        FakeOkta::builder().generated(300, 40, 7),
        "        parentGroupAttribute: parentGroup\n\
         \x20       schedule: { frequency: { hours: 1 }, timeout: { minutes: 5 }, initialDelay: { hours: 1 } }\n",
    )
    .await;
    for _ in 0..3 {
        let (code, report) = org.sync(&[]).await;
        assert_eq!(code, 0, "sync failed: {report}");
    }
    let entities = org.export().await;
    let groups = of_kind(&entities, "Group");
    let group = group_in_middle(&groups);
    let group_name = group["metadata"]["name"].as_str().unwrap().to_string();
    let parent_name = name_of(group["spec"]["parent"].as_str().unwrap());
    let child_names: Vec<String> = strings(&group["spec"]["children"])
        .iter()
        .map(|child| name_of(child))
        .collect();
    let users = of_kind(&entities, "User");
    let user = users
        .iter()
        .find(|user| user["spec"]["profile"]["email"].is_string())
        .expect("a user with an email");
    let user_name = user["metadata"]["name"].as_str().unwrap().to_string();
    let email = user["spec"]["profile"]["email"]
        .as_str()
        .unwrap()
        .to_string();

    let (mut server, url) = serve(&org).await;
    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().expect("browser profile folder");
    let browser = driver.browser(profile.path()).await;
    let private_key = org
        .fake
        .credentials
        .as_ref()
        .expect("generated client")
        .private_key_pem
        .clone();
    let key_line = private_key
        .lines()
        .find(|line| line.len() > 40 && !line.starts_with("-----"))
        .expect("a line of key material")
        .to_string();
    let mut sources = Vec::new();

    // The overview: one provider card with its last run.
    browser
        .goto(&format!("{url}/"))
        .await
        .expect("overview opens");
    let card = text_of(&browser, "#providers .card").await;
    assert!(card.contains("test"), "{card}");
    assert!(card.contains("Succeeded"), "{card}");
    let header_color = browser
        .execute(
            "return getComputedStyle(document.querySelector('.site-header')).backgroundColor",
            Vec::new(),
        )
        .await
        .expect("script runs");
    assert_eq!(
        header_color,
        json!("rgb(19, 35, 58)"),
        "the stylesheet did not apply"
    );
    screenshot(&browser, "overview.png").await;
    sources.push(browser.source().await.expect("page source"));

    // Users: search by email, submitted with the Enter key.
    browser
        .goto(&format!("{url}/users"))
        .await
        .expect("users open");
    let search = browser
        .find(Locator::Css("input#q"))
        .await
        .expect("search box");
    search.send_keys(&email).await.expect("typed");
    search.send_keys("\u{E007}").await.expect("Enter pressed");
    let link = format!("a[href='/users/{user_name}']");
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(&link))
        .await
        .expect("the search finds the user");
    let summary = text_of(&browser, "p[role=status]").await;
    assert!(summary.starts_with("1 user match"), "{summary}");
    screenshot(&browser, "users.png").await;
    sources.push(browser.source().await.expect("page source"));

    browser
        .find(Locator::Css(&link))
        .await
        .expect("user link")
        .click()
        .await
        .expect("clicked");
    let profile_text = text_of(&browser, "section[aria-labelledby=profile-heading]").await;
    assert!(profile_text.contains(&email), "{profile_text}");
    let yaml = browser
        .find(Locator::Css("pre.yaml"))
        .await
        .expect("YAML block")
        .html(true)
        .await
        .expect("YAML text");
    assert!(yaml.contains(&format!("name: {user_name}")), "{yaml}");
    screenshot(&browser, "user.png").await;
    sources.push(browser.source().await.expect("page source"));

    // Groups: search by name, open the group, check the tree.
    browser
        .goto(&format!("{url}/groups"))
        .await
        .expect("groups open");
    let search = browser
        .find(Locator::Css("input#q"))
        .await
        .expect("search box");
    search.send_keys(&group_name).await.expect("typed");
    search.send_keys("\u{E007}").await.expect("Enter pressed");
    let link = format!("table a[href='/groups/{group_name}']");
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(&link))
        .await
        .expect("the search finds the group")
        .click()
        .await
        .expect("clicked");
    let current = text_of(&browser, "ul.tree .node.current").await;
    assert!(current.contains(&group_name), "{current}");
    browser
        .find(Locator::Css(&format!(
            "ul.tree a[href='/groups/{parent_name}']"
        )))
        .await
        .expect("the tree shows the parent");
    for child in &child_names {
        browser
            .find(Locator::Css(&format!("ul.tree a[href='/groups/{child}']")))
            .await
            .unwrap_or_else(|_| panic!("the tree shows the child {child}"));
    }
    screenshot(&browser, "group.png").await;
    sources.push(browser.source().await.expect("page source"));

    // Run history: three charts with a point per run.
    browser
        .goto(&format!("{url}/runs/test"))
        .await
        .expect("runs open");
    let charts = browser
        .find_all(Locator::Css("svg.chart"))
        .await
        .expect("charts");
    assert_eq!(charts.len(), 3);
    let points = browser
        .find_all(Locator::Css("#chart-duration-title + svg circle"))
        .await
        .expect("duration points");
    assert_eq!(points.len(), 3);
    screenshot(&browser, "runs.png").await;
    sources.push(browser.source().await.expect("page source"));

    browser.close().await.expect("browser closes");
    let _ = server.start_kill();
    let _ = server.wait().await;

    for source in &sources {
        assert!(!source.contains(&key_line), "a page shows the private key");
    }
}

//! Okta's official SDKs against fake-okta, with only the base URL changed.
//!
//! Each test starts fake-okta in-process with a generated org and a
//! generated service app (RSA key, `private_key_jwt`). It then runs one
//! harness under `tests/sdk/`: `node/list.mjs` uses `@okta/okta-sdk-nodejs`
//! and `python/list.py` uses the `okta` package. The test compares the user,
//! group and member ids the harness printed with the org. A small page size
//! makes the SDKs follow `Link` headers.
//!
//! The SDKs are installed by `.ci/install-sdk-deps`. When one is missing the
//! test fails and says so, because a skipped compatibility test would hide a
//! break.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fake_okta::auth::KeyKind;
use fake_okta::limits::RateLimitConfig;
use fake_okta::server::{FakeOkta, RunningFakeOkta};
use serde::Deserialize;
use tokio::process::Command;

const SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];
const USERS: usize = 45;
const GROUPS: usize = 6;
const SEED: u64 = 20_240_601;
/// Page size for every list, small enough that each list spans pages.
const PAGE_LIMIT: usize = 7;
/// Maximum time one harness may run, SDK start-up and retries included.
const HARNESS_TIMEOUT: Duration = Duration::from_secs(180);
const INSTALL_HINT: &str = "run .ci/install-sdk-deps from the repository root";

/// The ids a harness printed.
#[derive(Debug, Deserialize)]
struct Listing {
    users: Vec<String>,
    groups: Vec<String>,
    members: BTreeMap<String, Vec<String>>,
}

/// The ids the org contains, as the list endpoints return them.
#[derive(Debug)]
struct Expected {
    users: Vec<String>,
    groups: Vec<String>,
    members: BTreeMap<String, Vec<String>>,
}

fn sdk_dir(language: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(language)
}

async fn start_fake(rate_limits: RateLimitConfig) -> RunningFakeOkta {
    FakeOkta::builder()
        .generated(USERS, GROUPS, SEED)
        .with_generated_client_key(KeyKind::Rsa2048, &SCOPES, Some(SEED))
        .rate_limits(rate_limits)
        .start_on_loopback()
        .await
        .expect("fake-okta starts on loopback")
}

/// Reads the expected ids from the org. Plain user lists leave out
/// DEPROVISIONED users, as Okta's do.
fn expected_ids(fake: &RunningFakeOkta) -> Expected {
    let handle = fake.org_handle();
    let org = handle.read();
    let users = org
        .users_after(None)
        .filter(|user| user.status() != "DEPROVISIONED")
        .map(|user| user.id().to_owned())
        .collect();
    let groups: Vec<String> = org
        .groups_after(None)
        .map(|group| group.id().to_owned())
        .collect();
    let members = groups
        .iter()
        .map(|group_id| {
            let ids = org
                .members_after(group_id, None)
                .expect("listed group exists")
                .map(|user| user.id().to_owned())
                .collect();
            (group_id.clone(), ids)
        })
        .collect();
    Expected {
        users,
        groups,
        members,
    }
}

/// Builds the harness command with the org's URL and credentials in its
/// environment, and no proxy settings that could send loopback traffic
/// elsewhere.
fn harness_command(program: &str, script: &str, dir: &Path, fake: &RunningFakeOkta) -> Command {
    let credentials = fake
        .credentials
        .as_ref()
        .expect("fake-okta generated client credentials");
    let mut command = Command::new(program);
    command
        .arg(script)
        .current_dir(dir)
        .env("OKTA_ORG_URL", &fake.base_url)
        .env("OKTA_CLIENT_ID", &credentials.client_id)
        .env("OKTA_KEY_ID", &credentials.key_id)
        .env("OKTA_PRIVATE_KEY", &credentials.private_key_pem)
        .env("OKTA_PAGE_LIMIT", PAGE_LIMIT.to_string())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        command.env_remove(proxy);
    }
    command
}

/// Runs a harness and parses what it printed, failing the test with the
/// harness's stderr when it does not succeed.
async fn run_harness(mut command: Command, name: &str) -> Listing {
    let child = command
        .spawn()
        .unwrap_or_else(|error| panic!("failed to start the {name} harness: {error}"));
    let output = tokio::time::timeout(HARNESS_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the {name} harness timed out after {HARNESS_TIMEOUT:?}"))
        .unwrap_or_else(|error| panic!("failed to wait for the {name} harness: {error}"));

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the {name} harness failed with {}:\n{stderr}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last_line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last_line).unwrap_or_else(|error| {
        panic!("the {name} harness printed no JSON listing ({error}):\n{stdout}\n{stderr}")
    })
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids
}

/// Compares as sorted lists, so a missing or repeated id both show up.
fn assert_same_ids(listing: &Listing, expected: &Expected, sdk: &str) {
    assert_eq!(
        sorted(&listing.users),
        sorted(&expected.users),
        "{sdk}: users"
    );
    assert_eq!(
        sorted(&listing.groups),
        sorted(&expected.groups),
        "{sdk}: groups"
    );
    for (group_id, expected_members) in &expected.members {
        let listed = listing.members.get(group_id).map(Vec::as_slice);
        assert_eq!(
            listed.map(sorted),
            Some(sorted(expected_members)),
            "{sdk}: members of {group_id}"
        );
    }
}

/// Checks that the SDK followed `Link` headers: listing users needs more
/// than one page.
fn assert_paged(fake: &RunningFakeOkta, expected: &Expected, sdk: &str) {
    let pages = expected.users.len().div_ceil(PAGE_LIMIT) as u64;
    let requests = fake.request_counts().count("GET /api/v1/users", 200);
    assert!(pages > 1, "the org must span several pages of users");
    assert!(
        requests >= pages,
        "{sdk}: {requests} user-list requests for {pages} pages"
    );
}

fn node_command(fake: &RunningFakeOkta) -> Command {
    let dir = sdk_dir("node");
    let package = dir.join("node_modules/@okta/okta-sdk-nodejs/package.json");
    assert!(
        package.is_file(),
        "Okta's Node.js SDK is not installed ({} is missing); {INSTALL_HINT}",
        package.display()
    );
    harness_command("node", "list.mjs", &dir, fake)
}

async fn python_command(fake: &RunningFakeOkta) -> Command {
    // find_spec locates the package without importing it, because importing
    // the SDK takes several seconds.
    let check = Command::new("python3")
        .args([
            "-c",
            "import importlib.util, sys; sys.exit(importlib.util.find_spec('okta') is None)",
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|error| panic!("failed to run python3: {error}; install Python 3"));
    assert!(
        check.status.success(),
        "Okta's Python SDK (package okta) is not installed for python3; {INSTALL_HINT}"
    );
    harness_command("python3", "list.py", &sdk_dir("python"), fake)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_lists_org() {
    let fake = start_fake(RateLimitConfig::workforce()).await;
    let expected = expected_ids(&fake);

    let listing = run_harness(node_command(&fake), "Node.js SDK").await;

    assert_same_ids(&listing, &expected, "Node.js SDK");
    assert_paged(&fake, &expected, "Node.js SDK");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_lists_org() {
    let fake = start_fake(RateLimitConfig::workforce()).await;
    let expected = expected_ids(&fake);

    let listing = run_harness(python_command(&fake).await, "Python SDK").await;

    assert_same_ids(&listing, &expected, "Python SDK");
    assert_paged(&fake, &expected, "Python SDK");
    fake.shutdown().await;
}

/// Limits small enough that every list runs into 429s, with windows short
/// enough that waiting for `X-Rate-Limit-Reset` takes seconds, not minutes.
fn tight_limits() -> RateLimitConfig {
    RateLimitConfig {
        window: Duration::from_secs(2),
        ..RateLimitConfig::workforce().with_all_buckets(5)
    }
}

fn rate_limited_requests(fake: &RunningFakeOkta) -> u64 {
    let snapshot = fake.limits().snapshot();
    snapshot.buckets.values().map(|usage| usage.rejected).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_retries_after_429() {
    let fake = start_fake(tight_limits()).await;
    let expected = expected_ids(&fake);

    let listing = run_harness(node_command(&fake), "Node.js SDK").await;

    assert!(
        rate_limited_requests(&fake) > 0,
        "the SDK must have met a 429"
    );
    assert_same_ids(&listing, &expected, "Node.js SDK");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_retries_after_429() {
    let fake = start_fake(tight_limits()).await;
    let expected = expected_ids(&fake);

    let listing = run_harness(python_command(&fake).await, "Python SDK").await;

    assert!(
        rate_limited_requests(&fake) > 0,
        "the SDK must have met a 429"
    );
    assert_same_ids(&listing, &expected, "Python SDK");
    fake.shutdown().await;
}

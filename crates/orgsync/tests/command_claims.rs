//! `orgsync sync` takes its provider's claim in the store, as `orgsync
//! serve` does. It does not start while another process runs the provider.
//! It takes over the claim of a killed process on this host at once, and
//! marks the runs that process left running as abandoned.

mod common;

use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use common::TestOrg;
use fake_okta::faults::{FaultConfig, Latency};
use fake_okta::generate::GenerateOptions;
use fake_okta::server::FakeOkta;
use orgsync_store::{RunOutcome, SqliteStore, Store};

async fn synced_org() -> TestOrg {
    let builder = FakeOkta::builder().generate(GenerateOptions::new(300, 20, 11));
    let org = TestOrg::start(builder, "").await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "first sync: {report}");
    org
}

async fn open_store(org: &TestOrg) -> SqliteStore {
    let path = org.database().to_string_lossy().to_string();
    SqliteStore::open(&path).await.expect("catalog opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_provider_is_not_run() {
    let org = synced_org().await;
    let before = org.catalog().await;
    let store = open_store(&org).await;
    let claimed = store
        .try_claim(
            "test",
            "another-process",
            Utc::now(),
            Duration::from_secs(60),
        )
        .await
        .expect("claim tried");
    assert!(claimed, "the claim was free");

    let output = org.orgsync(&["sync", "--progress", "none"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("another orgsync process"), "{stderr}");
    assert!(org.catalog().await == before, "the catalog changed");

    store
        .release_claim("test", "another-process")
        .await
        .expect("claim released");
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "the run after the release failed: {report}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_command_run_is_abandoned() {
    let org = synced_org().await;
    org.fake
        .faults()
        .set_config(FaultConfig {
            latency: Latency::Fixed {
                delay: Duration::from_millis(200),
            },
            only_paths: Some(vec!["/api/v1/".to_string()]),
            ..FaultConfig::default()
        })
        .expect("valid faults");
    let requests_before = org.fake.request_counts().total;

    let mut command = org.command(&["sync", "--progress", "none"]);
    command.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = command.spawn().expect("orgsync starts");
    while org.fake.request_counts().total < requests_before + 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.start_kill().expect("SIGKILL sent");
    child.wait().await.expect("orgsync ends");

    // The killed command's claim is still recorded, but its process is
    // gone, so the next command takes the claim over at once.
    org.fake
        .faults()
        .set_config(FaultConfig::default())
        .expect("valid faults");
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "the run after the kill failed: {report}");

    let store = open_store(&org).await;
    let runs = store.runs(Some("test"), 0).await.expect("runs read");
    let outcomes: Vec<RunOutcome> = runs.iter().map(|run| run.outcome).collect();
    assert!(
        !outcomes.contains(&RunOutcome::Running),
        "a run is still recorded as running: {outcomes:?}"
    );
    assert!(
        outcomes.contains(&RunOutcome::Abandoned),
        "the killed run is not marked abandoned: {outcomes:?}"
    );
    store.close().await;
}

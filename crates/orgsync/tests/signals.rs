//! Ctrl-C and SIGTERM during `orgsync sync`: the first signal stops the run
//! while it reads Okta, with the catalog unchanged, the run recorded as
//! cancelled and exit code 130.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::TestOrg;
use fake_okta::faults::{FaultConfig, Latency};
use fake_okta::generate::GenerateOptions;
use fake_okta::limits::RateLimitConfig;
use fake_okta::server::FakeOkta;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

/// Delay added to each API request, so that reading takes several seconds
/// and the signal arrives while the run reads.
const LATENCY: Duration = Duration::from_millis(100);

/// The time a stopped run may take to exit after the signal. The run drops
/// its in-flight request, so it needs far less.
const EXIT_BOUND: Duration = Duration::from_secs(10);

/// The exit code of a command stopped by a signal.
const INTERRUPTED: i32 = 130;

/// Provider settings of the first catalog: one department of the org, so
/// that the stopped run, which reads the whole org, would add entities.
const ONE_DEPARTMENT: &str = "        userSearchFilter: 'profile.department eq \"Legal\"'\n";

/// Starts an org, syncs one department of it, and slows every API request
/// down for the run that the test stops.
async fn slow_org() -> TestOrg {
    let builder = FakeOkta::builder()
        .generate(GenerateOptions::new(2_000, 40, 7))
        .rate_limits(RateLimitConfig::unlimited());
    let mut org = TestOrg::start(builder, ONE_DEPARTMENT).await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "first sync: {report}");

    org.reconfigure("");
    org.fake
        .faults()
        .set_config(FaultConfig {
            latency: Latency::Fixed { delay: LATENCY },
            only_paths: Some(vec!["/api/v1/".to_string()]),
            ..FaultConfig::default()
        })
        .expect("valid faults");
    org
}

/// Sends `signal` (a name that kill(1) takes) to the process `pid`.
fn send_signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Reads the outcome of the newest run from the catalog file.
async fn last_run_outcome(org: &TestOrg) -> String {
    let mut connection = SqliteConnectOptions::new()
        .filename(org.database())
        .connect()
        .await
        .expect("database opens");
    let (outcome,): (String,) = sqlx::query_as("SELECT outcome FROM runs ORDER BY id DESC LIMIT 1")
        .fetch_one(&mut connection)
        .await
        .expect("a run is recorded");
    outcome
}

async fn stop_while_reading(signal: &str) {
    let name = format!("SIG{signal}");
    let org = slow_org().await;
    let before = org.catalog().await;
    let requests_before = org.fake.request_counts().total;

    let mut command = org.command(&["sync", "--progress", "none", "--format", "json"]);
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = command.spawn().expect("orgsync starts");
    let pid = child.id().expect("running child has a pid");

    // Wait until the run has its token and is listing.
    while org.fake.request_counts().total < requests_before + 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    send_signal(pid, signal);

    let output = tokio::time::timeout(EXIT_BOUND, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("orgsync did not exit within {EXIT_BOUND:?} of {name}"))
        .expect("orgsync ends");
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(INTERRUPTED), "{name}: {stderr}");
    assert!(stderr.contains("stopping"), "{name}: {stderr}");
    assert!(org.catalog().await == before, "{name}: the catalog changed");
    assert_eq!(last_run_outcome(&org).await, "cancelled", "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_reading_cancels() {
    stop_while_reading("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_reading_cancels() {
    stop_while_reading("INT").await;
}

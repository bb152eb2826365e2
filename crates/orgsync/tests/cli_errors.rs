//! Command-line output: log lines written to a pipe.

mod common;

use common::TestOrg;
use fake_okta::server::FakeOkta;

async fn small_org(users: usize) -> TestOrg {
    TestOrg::start(FakeOkta::builder().generated(users, 4, 3), "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_to_pipe_have_no_colors() {
    let org = small_org(5).await;
    let output = org
        .orgsync(&["sync", "--progress", "none", "--log", "debug"])
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("sync finished"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in: {stderr}");
}

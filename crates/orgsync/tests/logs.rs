//! What `orgsync sync` logs when stderr is not a terminal: plain text
//! without color codes, and no SQL statement text from sqlx.

mod common;

use common::TestOrg;
use fake_okta::generate::GenerateOptions;
use fake_okta::server::FakeOkta;

#[tokio::test]
async fn piped_logs_are_plain_text() {
    let builder = FakeOkta::builder().generate(GenerateOptions::new(300, 20, 5));
    let org = TestOrg::start(builder, "").await;

    let output = org
        .orgsync(&["sync", "--progress", "plain", "--log", "debug"])
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("sync started"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "color codes in piped logs");
    assert!(!stderr.contains("INSERT INTO"), "SQL text in the logs");
}

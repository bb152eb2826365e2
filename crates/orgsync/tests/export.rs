//! `orgsync export` on the edges: no catalog yet, an unknown provider, and
//! a reader that closes the pipe early.

mod common;

use std::process::Stdio;

use common::TestOrg;
use fake_okta::generate::GenerateOptions;
use fake_okta::server::FakeOkta;
use tokio::io::AsyncReadExt;

async fn small_org() -> TestOrg {
    let builder = FakeOkta::builder().generate(GenerateOptions::new(300, 20, 3));
    TestOrg::start(builder, "").await
}

#[tokio::test]
async fn missing_catalog_fails_without_creating() {
    let org = small_org().await;

    let output = org.orgsync(&["export"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(
        stderr.contains(&org.database().display().to_string()),
        "{stderr}"
    );
    assert!(!org.database().exists(), "export created the database");
}

#[tokio::test]
async fn unknown_provider_is_rejected() {
    let org = small_org().await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{report}");

    let output = org.orgsync(&["export", "--provider", "nope"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("\"nope\""), "{stderr}");
    assert!(stderr.contains("configured providers: test"), "{stderr}");
}

#[tokio::test]
async fn closed_pipe_ends_quietly() {
    let org = small_org().await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{report}");

    let mut command = org.command(&["export"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("orgsync starts");

    // Read the first bytes, then close the pipe as `head -c 100` would.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut start = [0u8; 100];
    stdout.read_exact(&mut start).await.expect("export writes");
    drop(stdout);

    let output = child.wait_with_output().await.expect("orgsync ends");
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert!(String::from_utf8_lossy(&start).starts_with("---"));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

//! `orgsync demo` end to end: the real binary starts fake-okta, syncs the
//! generated org, serves the catalog, and stops cleanly on Ctrl-C (SIGINT).

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

const USERS: usize = 40;
const GROUPS: usize = 6;

fn demo_command(dir: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orgsync"));
    command
        .args(["demo", "--progress", "none", "--users", &USERS.to_string()])
        .args(["--groups", &GROUPS.to_string(), "--dir"])
        .arg(dir)
        .args(extra)
        .env_remove("ORGSYNC_READ_TOKEN")
        .env_remove("ORGSYNC_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

/// Reads stdout until the line with the served URL and returns the URL.
async fn served_url(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut printed = String::new();
    let read = async {
        loop {
            let mut line = String::new();
            let read = stdout.read_line(&mut line).await.expect("stdout reads");
            assert!(
                read > 0,
                "demo ended before serving; it printed:\n{printed}"
            );
            printed.push_str(&line);
            if let Some(url) = line.trim().strip_prefix("orgsync is serving ") {
                return url.to_string();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .expect("demo prints its URL within 120 s")
}

fn interrupt(child: &Child) {
    let pid = child.id().expect("demo is running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Runs `orgsync export --format json` on the demo's config.
async fn export(config: &std::path::Path) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .arg("export")
        .arg("--config")
        .arg(config)
        .args(["--format", "json"])
        .output()
        .await
        .expect("export runs");
    assert!(
        output.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("export is a JSON array")
}

async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.expect("request is answered");
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.expect("body is JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_serves_synced_catalog() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut child = demo_command(dir.path(), &["--listen", "127.0.0.1:0"])
        .spawn()
        .expect("demo starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let url = served_url(&mut stdout).await;

    let config = dir.path().join("app-config.yaml");
    let exported = export(&config).await;
    let exported_users = exported
        .iter()
        .filter(|entity| entity["kind"] == "User")
        .count();
    assert!(exported_users > 0);

    let users = get_json(&format!(
        "{url}/api/catalog/entities/by-query?filter=kind=user&limit=1"
    ))
    .await;
    assert_eq!(users["totalItems"], exported_users);
    let groups = get_json(&format!(
        "{url}/api/catalog/entities/by-query?filter=kind=group&limit=1"
    ))
    .await;
    assert!(groups["totalItems"].as_u64().unwrap_or(0) > 0);
    let providers = get_json(&format!("{url}/api/orgsync/providers")).await;
    assert_eq!(providers["items"][0]["id"], "demo");

    let text = std::fs::read_to_string(&config).expect("config written");
    let database = dir.path().canonicalize().unwrap().join("orgsync.sqlite");
    assert!(
        text.contains(&database.display().to_string()),
        "the config names the database by its absolute path: {text}"
    );

    interrupt(&child);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("demo stops within 30 s of Ctrl-C")
        .expect("exit status");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_no_serve_stops_after_sync() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let output = demo_command(dir.path(), &["--no-serve"])
        .output()
        .await
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stdout: {stdout}");
    assert!(
        stdout.contains("orgsync export --config"),
        "stdout: {stdout}"
    );
    assert!(!stdout.contains("orgsync is serving"), "stdout: {stdout}");
    assert!(dir.path().join("orgsync.sqlite").exists());
}

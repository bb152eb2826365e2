//! Approving a run that the removal guard blocked: once through the CLI
//! flag, and once through the API of a running `orgsync serve`, both
//! against fake-okta and a SQLite catalog.

mod common;

use std::process::Stdio;
use std::time::Duration;

use chrono::Utc;
use common::TestOrg;
use fake_okta::server::FakeOkta;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

const USERS: usize = 20;
const ADMIN_TOKEN: &str = "admin-token-for-approval-tests";
const READ_TOKEN: &str = "read-token-for-approval-tests";
/// Keeps the schedule from starting runs, so that the test starts each one.
const NO_SCHEDULED_RUNS: &str =
    "        schedule:\n          frequency: { hours: 1 }\n          initialDelay: { hours: 1 }\n";

async fn generated_org() -> TestOrg {
    TestOrg::start(
        FakeOkta::builder().generated(USERS, 3, 5),
        NO_SCHEDULED_RUNS,
    )
    .await
}

/// Removes `count` users that are in the catalog from the fake org.
fn remove_users(org: &TestOrg, count: usize) {
    let handle = org.fake.org_handle();
    let mut okta = handle.write();
    let ids: Vec<String> = okta
        .users_after(None)
        .filter(|user| user.status() != "DEPROVISIONED")
        .take(count)
        .map(|user| user.id().to_string())
        .collect();
    for id in ids {
        okta.remove_user(&id, Utc::now()).expect("user removed");
    }
}

async fn user_count(org: &TestOrg) -> usize {
    common::of_kind(&org.export().await, "User").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_sync_hint_names_config() {
    let org = generated_org().await;
    assert_eq!(org.sync(&[]).await.0, 0);
    remove_users(&org, USERS / 2);

    let output = org.orgsync(&["sync", "--progress", "none"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let config = org.config.to_string_lossy();
    let command = format!("orgsync sync --config {config} --provider test --approve-removals");
    assert!(stderr.contains(&command), "no `{command}` in:\n{stderr}");
}

/// A running `orgsync serve` and an HTTP client for it.
struct Served {
    _child: tokio::process::Child,
    url: String,
    http: reqwest::Client,
}

impl Served {
    async fn start(org: &TestOrg) -> Served {
        let mut command = org.command(&["serve", "--listen", "127.0.0.1:0"]);
        command
            .env("ORGSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("ORGSYNC_READ_TOKEN", READ_TOKEN)
            .stdout(Stdio::piped());
        let mut child = command.spawn().expect("orgsync serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("stdout reads") {
                if let Some(url) = line.strip_prefix("orgsync is serving ") {
                    return url.to_string();
                }
            }
            panic!("orgsync serve ended before printing its URL");
        })
        .await
        .expect("orgsync serve prints its URL");
        Served {
            _child: child,
            url,
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("request is answered");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get_text(&self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(READ_TOKEN)
            .send()
            .await
            .expect("request is answered");
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.expect("body reads")
    }

    async fn status(&self) -> Value {
        let text = self.get_text("/api/orgsync/providers/test").await;
        serde_json::from_str(&text).expect("status is JSON")
    }

    /// Starts a run and returns the provider's status once it finished.
    async fn refresh_and_wait(&self) -> Value {
        let before = self.status().await["lastRun"]["finishedAt"].clone();
        let (code, body) = self
            .post("/api/orgsync/providers/test/refresh", ADMIN_TOKEN)
            .await;
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
        for _ in 0..600 {
            let status = self.status().await;
            let finished = &status["lastRun"]["finishedAt"];
            if status["running"] == false && !finished.is_null() && *finished != before {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the run did not finish within 60 s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_approval_applies_once() {
    let org = generated_org().await;
    assert_eq!(org.sync(&[]).await.0, 0);
    let synced = user_count(&org).await;
    let removed = synced / 2;
    remove_users(&org, removed);
    let served = Served::start(&org).await;

    let (code, body) = served
        .post("/api/orgsync/providers/test/approve", ADMIN_TOKEN)
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "nothing is blocked yet: {body}");

    let status = served.refresh_and_wait().await;
    assert_eq!(status["lastRun"]["outcome"], "blocked", "{status}");
    assert_eq!(status["removalReview"]["state"], "blocked", "{status}");
    assert_eq!(status["removalReview"]["removed"], removed);
    let metrics = served.get_text("/metrics").await;
    assert!(
        metrics.contains("orgsync_runs_total{provider=\"test\",outcome=\"blocked\"} 1"),
        "{metrics}"
    );
    assert_eq!(user_count(&org).await, synced);

    let (code, _) = served
        .post("/api/orgsync/providers/test/approve", READ_TOKEN)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, body) = served
        .post("/api/orgsync/providers/test/approve", ADMIN_TOKEN)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["removalReview"]["state"], "approved");

    // One more removal than approved: blocked again, with the new numbers.
    remove_users(&org, 1);
    let status = served.refresh_and_wait().await;
    assert_eq!(status["lastRun"]["outcome"], "blocked", "{status}");
    assert_eq!(status["removalReview"]["state"], "blocked");
    assert_eq!(status["removalReview"]["removed"], removed + 1);
    assert_eq!(user_count(&org).await, synced);

    let (code, _) = served
        .post("/api/orgsync/providers/test/approve", ADMIN_TOKEN)
        .await;
    assert_eq!(code, StatusCode::OK);
    let status = served.refresh_and_wait().await;
    assert_eq!(status["lastRun"]["outcome"], "succeeded", "{status}");
    assert!(status["removalReview"].is_null(), "{status}");
    assert_eq!(user_count(&org).await, synced - removed - 1);
}

//! The `fake-okta` binary: it announces its URL, writes working credentials
//! with owner-only permissions, serves the org and stops on request.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts the binary with `args` and returns it with its base URL.
async fn start(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-okta"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("fake-okta binary starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("listening line within a minute")
        .expect("stdout readable")
        .expect("a first line");
    let url = first
        .strip_prefix("fake-okta listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    (child, url)
}

/// Parses the `key: value` lines and the `privateKey: |` block.
fn parse_settings(text: &str) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    let mut pem = String::new();
    for line in text.lines() {
        if let Some(block_line) = line.strip_prefix("  ") {
            pem.push_str(block_line);
            pem.push('\n');
        } else if let Some((key, value)) = line.split_once(": ") {
            settings.insert(key.to_owned(), value.to_owned());
        }
    }
    settings.insert("privateKey".to_owned(), pem);
    settings
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// Exchanges the written credentials for an access token, as orgsync does.
async fn access_token(http: &reqwest::Client, settings: &BTreeMap<String, String>) -> String {
    let token_url = format!("{}/oauth2/v1/token", settings["oktaUrl"]);
    let claims = json!({
        "iss": settings["clientId"],
        "sub": settings["clientId"],
        "aud": token_url,
        "iat": unix_now(),
        "exp": unix_now() + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(settings["keyId"].clone());
    let key = jsonwebtoken::EncodingKey::from_ec_pem(settings["privateKey"].as_bytes())
        .expect("written key is an EC PEM");
    let assertion = jsonwebtoken::encode(&header, &claims, &key).expect("assertion signed");
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "okta.users.read okta.groups.read"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let response: Value = http
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .expect("token request sent")
        .json()
        .await
        .expect("token response is JSON");
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token in {response}"))
        .to_owned()
}

#[tokio::test]
async fn written_credentials_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("okta.yaml");
    let path_text = path.to_string_lossy().into_owned();
    let args = [
        "--port",
        "0",
        "--users",
        "30",
        "--groups",
        "4",
        "--key-type",
        "ec-p256",
        "--credentials-out",
        &path_text,
        "--rate-limits",
        "none",
    ];
    let (mut child, url) = start(&args).await;

    let text = std::fs::read_to_string(&path).expect("credentials written");
    let settings = parse_settings(&text);
    assert_eq!(settings["oktaUrl"], url);
    assert!(settings["privateKey"].starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let http = reqwest::Client::new();
    let token = access_token(&http, &settings).await;
    let users: Value = http
        .get(format!("{url}/api/v1/users?limit=200"))
        .bearer_auth(token)
        .send()
        .await
        .expect("users request sent")
        .json()
        .await
        .expect("users are JSON");
    let count = users.as_array().map(Vec::len).unwrap_or(0);
    assert!((25..=30).contains(&count), "{count} users listed");
    child.kill().await.expect("fake-okta stopped");
}

#[tokio::test]
async fn printed_credentials_are_pure_yaml() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-okta"))
        .args(["--port", "0", "--users", "5", "--groups", "1"])
        .args(["--key-type", "ec-p256", "--print-credentials"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("fake-okta binary starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut text = String::new();
    let read = async {
        while let Some(line) = lines.next_line().await.expect("stdout readable") {
            text.push_str(&line);
            text.push('\n');
            if line.trim() == "-----END PRIVATE KEY-----" {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("credentials within a minute");

    let settings: BTreeMap<String, String> =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
    assert!(
        settings["oktaUrl"].starts_with("http://127.0.0.1:"),
        "{text}"
    );
    assert!(settings["privateKey"].starts_with("-----BEGIN PRIVATE KEY-----"));
    child.kill().await.expect("fake-okta stopped");
}

#[tokio::test]
async fn fixture_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("org.json");
    let fixture = json!({"users": [{"profile": {"login": "only@a.example"}}]});
    std::fs::write(&path, fixture.to_string()).expect("fixture written");
    let path_text = path.to_string_lossy().into_owned();
    let (mut child, url) = start(&["--fixture", &path_text, "--key-type", "ec-p256"]).await;

    let metadata: Value = reqwest::get(format!("{url}/_fake/org"))
        .await
        .expect("request sent")
        .json()
        .await
        .expect("summary is JSON");
    assert_eq!(metadata["users"], 1);
    child.kill().await.expect("fake-okta stopped");
}

#[tokio::test]
async fn bad_fixture_reported() {
    let output = Command::new(env!("CARGO_BIN_EXE_fake-okta"))
        .args(["--fixture", "/nonexistent/org.json"])
        .output()
        .await
        .expect("fake-okta binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("/nonexistent/org.json"), "{stderr}");
}

#[tokio::test]
async fn clock_skew_moves_date_header() {
    let (mut child, url) = start(&[
        "--users",
        "3",
        "--groups",
        "1",
        "--key-type",
        "ec-p256",
        "--clock-skew-seconds",
        "-600",
    ])
    .await;

    let response = reqwest::get(format!("{url}/.well-known/okta-organization"))
        .await
        .expect("metadata request sent");

    let date = response.headers()["date"].to_str().expect("ASCII date");
    let date = chrono::DateTime::parse_from_rfc2822(date).expect("HTTP date");
    let behind = unix_now() as i64 - date.timestamp();
    assert!((595..=605).contains(&behind), "{behind} s behind");
    child.kill().await.expect("fake-okta stops");
}

#[tokio::test]
async fn website_replaces_org() {
    let (mut child, url) = start(&[
        "--users",
        "3",
        "--groups",
        "1",
        "--key-type",
        "ec-p256",
        "--other-server",
        "website",
    ])
    .await;

    let response = reqwest::get(format!("{url}/.well-known/okta-organization"))
        .await
        .expect("metadata request sent");

    assert_eq!(response.status(), 404);
    child.kill().await.expect("fake-okta stops");
}

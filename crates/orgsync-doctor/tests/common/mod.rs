//! Helpers for doctor's integration tests: a fake Okta org on a loopback
//! port, provider settings for it, and a stub server for Okta responses that
//! fake-okta cannot send.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use fake_okta::auth::GeneratedCredentials;
use fake_okta::server::{FakeOkta, FakeOktaBuilder, RunningFakeOkta};
use orgsync_config::ProviderConfig;
use orgsync_doctor::{Check, CheckId, Clock, DoctorOptions, Report};
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub const READ_SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

/// Starts `builder` on a loopback port.
pub async fn start(builder: FakeOktaBuilder) -> RunningFakeOkta {
    builder.start_on_loopback().await.expect("start fake-okta")
}

/// Starts a generated org of `users` users and `groups` groups, with a
/// client granted both read scopes.
pub async fn org(users: usize, groups: usize) -> RunningFakeOkta {
    start(
        FakeOkta::builder()
            .generated(users, groups, 5)
            .with_generated_client(&READ_SCOPES),
    )
    .await
}

pub fn credentials(fake: &RunningFakeOkta) -> &GeneratedCredentials {
    fake.credentials.as_ref().expect("generated credentials")
}

/// Provider settings for the fake's generated client, as a settings form
/// would send them.
pub fn settings(fake: &RunningFakeOkta) -> Value {
    let creds = credentials(fake);
    json!({
        "id": "default",
        "oktaUrl": fake.base_url,
        "clientId": creds.client_id,
        "keyId": creds.key_id,
        "privateKey": creds.private_key_pem,
        "requestTimeout": {"seconds": 5},
    })
}

/// Sets `key` to `value` in the settings object.
pub fn with(mut settings: Value, key: &str, value: Value) -> Value {
    settings[key] = value;
    settings
}

/// Removes `key` from the settings object.
pub fn without(mut settings: Value, key: &str) -> Value {
    if let Value::Object(map) = &mut settings {
        map.remove(key);
    }
    settings
}

/// Validates settings as the config loader does.
pub fn provider(settings: &Value) -> ProviderConfig {
    orgsync_config::parse_provider("test settings", settings).expect("valid settings")
}

/// Runs doctor with the default options.
pub async fn doctor(settings: &Value) -> Report {
    orgsync_doctor::run_checks(&provider(settings), &DoctorOptions::default()).await
}

/// Returns the check `id`, failing the test when the report lacks it.
pub fn check(report: &Report, id: CheckId) -> &Check {
    report
        .check(id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#?}"))
}

/// A clock that runs `ahead` ahead of the system clock, minus `behind`.
pub struct OffsetClock {
    pub ahead: Duration,
    pub behind: Duration,
}

impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + self.ahead - self.behind
    }
}

pub fn options_with_clock(clock: OffsetClock) -> DoctorOptions {
    DoctorOptions {
        clock: Arc::new(clock),
        ..DoctorOptions::default()
    }
}

/// A server on a loopback port, stopped when dropped.
pub struct Stub {
    pub base_url: String,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Serves `router` on a loopback port.
pub async fn serve(router: Router) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Stub {
        base_url: format!("http://{address}"),
        handle,
    }
}

/// Serves Okta's org metadata and a token endpoint that rejects every
/// request with `status` and the OAuth error `error`/`description`.
pub async fn rejecting_token_endpoint(status: u16, error: &str, description: &str) -> Stub {
    let body = json!({"error": error, "error_description": description});
    let status = StatusCode::from_u16(status).expect("status");
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    let base_url = format!("http://{address}");
    let metadata = json!({
        "id": "00o1stub",
        "_links": {"organization": {"href": base_url}},
        "pipeline": "idx",
    });
    let router = Router::new()
        .route(
            "/.well-known/okta-organization",
            get(move || async move { Json(metadata) }),
        )
        .route(
            "/oauth2/v1/token",
            post(move || async move { (status, Json(body)).into_response() }),
        );
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Stub { base_url, handle }
}

/// Returns the `error_description` Okta's OAuth error catalogue gives for
/// the internal error code `internal`.
pub fn okta_description(internal: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/okta-reference/errors/oauth2-error-codes.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    let catalogue: Value = serde_json::from_str(&text).expect("catalogue JSON");
    catalogue["errors"]
        .as_array()
        .expect("errors list")
        .iter()
        .find(|entry| entry["internalErrorCode"] == internal)
        .and_then(|entry| entry["errorDescription"].as_str())
        .unwrap_or_else(|| panic!("{internal} not in Okta's catalogue"))
        .to_owned()
}

//! Helpers for doctor's integration tests: a fake Okta org on a loopback
//! port and provider settings for it.

#![allow(dead_code)]

use fake_okta::auth::GeneratedCredentials;
use fake_okta::server::{FakeOkta, FakeOktaBuilder, RunningFakeOkta};
use orgsync_config::ProviderConfig;
use orgsync_doctor::{Check, CheckId, DoctorOptions, Report};
use serde_json::{json, Value};

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

//! `orgsync doctor` and `orgsync keygen` as the real binary, against a fake
//! Okta org on a loopback port: terminal and JSON output, exit codes, and a
//! generated key that signs in to the fake once its public JWK is registered.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use common::{TestOrg, SCOPES};
use fake_okta::auth::{AdminScope, ApplicationType, ClientRegistration, TokenEndpointAuthMethod};
use fake_okta::server::{FakeOkta, RunningFakeOkta};
use orgsync_okta::{ClientConfig, Credentials, OktaClient, PrivateKey};
use serde_json::Value;

/// The number of checks of a provider that signs in with a private key.
const PRIVATE_KEY_CHECKS: usize = 20;

async fn healthy_org() -> TestOrg {
    TestOrg::start(FakeOkta::builder().generated(60, 4, 3), "").await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "no JSON on stdout ({error}): {}\nstderr: {}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

/// Returns the check `id` of the first provider in doctor's JSON.
fn json_check<'a>(output: &'a Value, id: &str) -> &'a Value {
    output["providers"][0]["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {output:#}"))
}

fn remove_admin_role(org: &TestOrg) {
    let credentials = org
        .fake
        .credentials
        .as_ref()
        .expect("generated credentials");
    let mut registration = credentials.registration(&SCOPES);
    registration.admin_scope = AdminScope::NoRole;
    org.fake.auth().upsert_client(registration);
}

// ---- doctor ----

#[tokio::test]
async fn healthy_org_prints_one_line_per_check() {
    let org = healthy_org().await;

    let output = org.orgsync(&["doctor"]).await;

    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let pass_lines = stdout
        .lines()
        .filter(|line| line.starts_with("  pass "))
        .count();
    assert_eq!(pass_lines, PRIVATE_KEY_CHECKS, "{stdout}");
    assert!(stdout.contains("url.org"), "{stdout}");
    assert!(
        stdout.contains("test: 20 passed, 0 warned, 0 failed, 0 skipped"),
        "{stdout}"
    );
    assert!(
        !stdout.contains('\u{1b}'),
        "no colors when stdout is not a terminal: {stdout:?}"
    );
}

#[tokio::test]
async fn forced_colors_mark_statuses() {
    let org = healthy_org().await;

    let output = org
        .command(&["doctor"])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .await
        .expect("orgsync runs");

    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("\u{1b}[32mpass"),
        "green pass label: {stdout:?}"
    );
}

#[tokio::test]
async fn terminal_gets_colors() {
    let org = healthy_org().await;
    let command = format!(
        "{} doctor --config {}",
        env!("CARGO_BIN_EXE_orgsync"),
        org.config.display()
    );

    // `script` runs the command on a pseudo-terminal and copies its output.
    let output = tokio::process::Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .kill_on_drop(true)
        .output()
        .await
        .expect("util-linux `script` runs");

    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("\u{1b}[32mpass"),
        "green pass label on a terminal: {stdout:?}"
    );
}

#[tokio::test]
async fn json_lists_every_check() {
    let org = healthy_org().await;

    let output = org.orgsync(&["doctor", "--format", "json"]).await;

    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report = json_of(&output);
    assert_eq!(report["status"], "pass");
    let checks = report["providers"][0]["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), PRIVATE_KEY_CHECKS);
    assert_eq!(
        json_check(&report, "app.role")["title"],
        "The app has an admin role"
    );
    assert!(
        report["providers"][0]["scale"]["apiCalls"]
            .as_u64()
            .is_some(),
        "{report:#}"
    );
}

#[tokio::test]
async fn failed_check_exits_one() {
    let org = healthy_org().await;
    remove_admin_role(&org);

    let output = org.orgsync(&["doctor", "--format", "json"]).await;

    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    assert_eq!(report["status"], "fail");
    let role = json_check(&report, "app.role");
    assert_eq!(role["status"], "fail");
    assert!(
        role["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("E0000006")),
        "{role:#}"
    );
    let skipped = json_check(&report, "filters.users");
    assert_eq!(skipped["status"], "skip");
    assert_eq!(skipped["waitsOn"], "app.role");
}

#[tokio::test]
async fn skipped_checks_share_one_line() {
    let org = healthy_org().await;
    remove_admin_role(&org);

    let output = org.orgsync(&["doctor"]).await;

    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let skip_lines: Vec<usize> = (0..lines.len())
        .filter(|index| lines[*index].starts_with("  skip "))
        .collect();
    assert_eq!(skip_lines.len(), 1, "{stdout}");
    let skip = skip_lines[0];
    assert!(lines[skip].contains("5 checks"), "{stdout}");
    assert!(
        lines[skip].contains("not run, because `app.role`"),
        "{stdout}"
    );
    assert_eq!(
        lines[skip + 1].trim(),
        "app.resources, filters.users, filters.groups, scale.size, scale.duration",
        "{stdout}"
    );
    assert!(
        stdout.contains("test: 14 passed, 0 warned, 1 failed, 5 skipped"),
        "{stdout}"
    );
}

#[tokio::test]
async fn failed_check_prints_fix_line() {
    let org = healthy_org().await;
    remove_admin_role(&org);

    let output = org.orgsync(&["doctor"]).await;

    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let role = lines
        .iter()
        .position(|line| line.starts_with("  FAIL app.role"))
        .unwrap_or_else(|| panic!("no failed app.role line: {stdout}"));
    assert!(
        lines[role + 1].trim_start().starts_with("fix: "),
        "{stdout}"
    );
    assert!(
        lines[role + 1].contains("Read-only Administrator"),
        "{stdout}"
    );
}

#[tokio::test]
async fn invalid_config_shows_failed_check() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let config = dir.path().join("app-config.yaml");
    let yaml = "catalog:\n  providers:\n    okta:\n      prod:\n        oktaUrl: http://acme.okta.com\n        token: 00abc\n";
    std::fs::write(&config, yaml).expect("config written");

    let output = run_orgsync(&["doctor", "--config", &config.to_string_lossy()]).await;

    assert_eq!(output.status.code(), Some(2));
    let stdout = text(&output.stdout);
    let url = stdout
        .lines()
        .find(|line| line.starts_with("  FAIL url.format"))
        .unwrap_or_else(|| panic!("no failed url.format line: {stdout}"));
    assert!(url.contains("uses http"), "{url}");
    let skipped = stdout
        .lines()
        .skip_while(|line| !line.contains("doctor contacts Okta only once the config is valid"))
        .nth(1)
        .unwrap_or_else(|| panic!("no line of skipped checks: {stdout}"));
    assert!(skipped.trim_start().starts_with("url.org, "), "{stdout}");
}

#[tokio::test]
async fn unknown_provider_exits_two() {
    let org = healthy_org().await;

    let output = org.orgsync(&["doctor", "--provider", "nope"]).await;

    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("no provider `nope`"),
        "{}",
        text(&output.stderr)
    );
}

// ---- keygen ----

async fn run_orgsync(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("orgsync runs")
}

/// Registers `jwk` as the only key of a new app with both read scopes.
fn register(fake: &RunningFakeOkta, client_id: &str, jwk: Value) {
    fake.auth().upsert_client(ClientRegistration {
        client_id: client_id.to_owned(),
        jwks: vec![jwk],
        scopes: SCOPES
            .iter()
            .map(|scope| (*scope).to_owned())
            .collect::<BTreeSet<_>>(),
        dpop_required: false,
        api_tokens: Vec::new(),
        admin_scope: AdminScope::Everything,
        application_type: ApplicationType::Service,
        token_endpoint_auth_method: TokenEndpointAuthMethod::PrivateKeyJwt,
        grant_types: BTreeSet::from(["client_credentials".to_owned()]),
    });
}

/// Runs keygen with `--out` and `--format json`, and checks the key file.
async fn keygen(dir: &Path, algorithm: &str, key_id: &str) -> (Value, PrivateKey) {
    let key_file = dir.join(format!("{algorithm}.pem"));
    let key_path = key_file.to_string_lossy().to_string();
    let args = [
        "keygen",
        "--algorithm",
        algorithm,
        "--key-id",
        key_id,
        "--out",
        &key_path,
        "--format",
        "json",
    ];

    let output = run_orgsync(&args).await;

    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let pem = std::fs::read_to_string(&key_file).expect("key file");
    let key = PrivateKey::parse(&pem).expect("orgsync reads the generated key");
    (json_of(&output), key)
}

async fn signs_in(algorithm: &str, alg: &str) {
    let fake = FakeOkta::builder()
        .generated(5, 1, 2)
        .start_on_loopback()
        .await
        .expect("fake-okta starts");
    let dir = tempfile::tempdir().expect("temporary folder");
    let (output, key) = keygen(dir.path(), algorithm, "orgsync-test-1").await;

    assert_eq!(output["keyId"], "orgsync-test-1");
    assert_eq!(output["publicJwk"]["alg"], alg);
    assert_eq!(key.algorithm().as_str(), alg);
    register(&fake, "0oaKeygenTest", output["publicJwk"].clone());
    let credentials = Credentials::PrivateKey {
        client_id: "0oaKeygenTest".to_owned(),
        key,
        key_id: Some("orgsync-test-1".to_owned()),
    };
    let base_url = fake.base_url.parse().expect("base URL");
    let client = OktaClient::new(ClientConfig::new(base_url, credentials)).expect("client");
    let token = client
        .fetch_token()
        .await
        .expect("fake-okta accepts the assertion");
    assert!(
        token.scopes.iter().any(|scope| scope == "okta.groups.read"),
        "{token:?}"
    );
}

#[tokio::test]
async fn es256_key_signs_in_to_fake() {
    signs_in("es256", "ES256").await;
}

#[tokio::test]
async fn rs256_key_signs_in_to_fake() {
    signs_in("rs256", "RS256").await;
}

#[cfg(unix)]
#[tokio::test]
async fn key_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temporary folder");

    keygen(dir.path(), "es256", "k1").await;

    let mode = std::fs::metadata(dir.path().join("es256.pem"))
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn existing_key_file_is_kept() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let key_file = dir.path().join("taken.pem");
    std::fs::write(&key_file, "keep me").expect("file written");

    let output = run_orgsync(&[
        "keygen",
        "--algorithm",
        "es256",
        "--out",
        &key_file.to_string_lossy(),
    ])
    .await;

    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("already exists"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(std::fs::read_to_string(&key_file).expect("file"), "keep me");
}

#[tokio::test]
async fn key_on_stdout_comes_with_warning() {
    let output = run_orgsync(&["keygen", "--algorithm", "es256"]).await;

    assert_eq!(output.status.code(), Some(0));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("-----BEGIN PRIVATE KEY-----"), "{stdout}");
    assert!(
        stdout.contains("General > Public Keys > Add key"),
        "{stdout}"
    );
    assert!(text(&output.stderr).contains("warning: the private key is printed to stdout"));
}

#[tokio::test]
async fn generated_key_passes_doctor() {
    let fake = FakeOkta::builder()
        .generated(10, 2, 4)
        .start_on_loopback()
        .await
        .expect("fake-okta starts");
    let dir = tempfile::tempdir().expect("temporary folder");
    let (output, _) = keygen(dir.path(), "es256", "doctor-key").await;
    register(&fake, "0oaDoctorKey", output["publicJwk"].clone());
    let config = dir.path().join("app-config.yaml");
    let yaml = format!(
        "catalog:\n  providers:\n    okta:\n      generated:\n        oktaUrl: {}\n        clientId: 0oaDoctorKey\n        keyId: doctor-key\n        privateKey: {{ $file: es256.pem }}\n",
        fake.base_url
    );
    std::fs::write(&config, yaml).expect("config written");

    let doctor = run_orgsync(&[
        "doctor",
        "--config",
        &config.to_string_lossy(),
        "--format",
        "json",
    ])
    .await;

    assert_eq!(doctor.status.code(), Some(0), "{}", text(&doctor.stdout));
    assert_eq!(json_of(&doctor)["status"], "pass");
}

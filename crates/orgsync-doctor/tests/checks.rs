//! Doctor against fake-okta: each setup problem is made in the fake org, and
//! the check it concerns must report it with the setting to change. Only
//! network failures (a closed port, TLS to a plain HTTP server, a name that
//! does not resolve) need no fake.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fake_okta::auth::{
    generate_credentials, AdminScope, ApplicationType, HiddenResponse, KeyKind, SkewedClock,
    TokenEndpointAuthMethod,
};
use fake_okta::faults::FaultConfig;
use fake_okta::limits::{Bucket, RateLimitConfig};
use fake_okta::other_server::OtherServer;
use fake_okta::server::FakeOkta;
use orgsync_doctor::{CheckId, DoctorOptions, Status};
use serde_json::json;

// ---- a healthy org ----

#[tokio::test]
async fn healthy_org_passes_every_check() {
    let fake = org(120, 6).await;

    let report = doctor(&settings(&fake)).await;

    for check in &report.checks {
        assert_eq!(check.status, Status::Pass, "{check:#?}");
    }
    assert_eq!(report.status, Status::Pass);
    fake.shutdown().await;
}

#[tokio::test]
async fn healthy_org_counts_match_fake() {
    let fake = org(120, 6).await;

    let report = doctor(&settings(&fake)).await;

    let scale = report.scale.expect("scale estimate");
    let handle = fake.org_handle();
    let org = handle.read();
    assert_eq!(scale.users, org.user_count() as u64);
    assert_eq!(
        scale.groups,
        org.group_count() as u64 - 1,
        "Everyone is left out"
    );
    let memberships: usize = org
        .groups_after(None)
        .filter(|group| group.group_type() != "BUILT_IN")
        .filter_map(|group| org.member_count(group.id()))
        .sum();
    assert_eq!(scale.memberships, memberships as u64);
    // One token, one groups page, one users page, one member page per group.
    assert_eq!(scale.api_calls, 1 + 1 + 1 + scale.groups);
}

// ---- URL ----

#[tokio::test]
async fn closed_port_fails_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let fake = org(1, 0).await;
    let settings = with(
        settings(&fake),
        "oktaUrl",
        json!(format!("http://127.0.0.1:{port}")),
    );

    let report = doctor(&settings).await;

    let url = check(&report, CheckId::UrlOrg);
    assert_eq!(url.status, Status::Fail);
    assert!(url.detail.contains("could not connect"), "{}", url.detail);
    assert_eq!(check(&report, CheckId::KeyParse).status, Status::Pass);
    let waiting = check(&report, CheckId::AppClient);
    assert_eq!(waiting.status, Status::Skip);
    assert!(waiting.detail.contains("`url.org`"), "{}", waiting.detail);
}

#[tokio::test]
async fn https_to_plain_server_fails_tls() {
    let fake = org(1, 0).await;
    let https = fake.base_url.replace("http://", "https://");
    let settings = with(settings(&fake), "oktaUrl", json!(https));

    let report = doctor(&settings).await;

    let url = check(&report, CheckId::UrlOrg);
    assert_eq!(url.status, Status::Fail);
    assert!(url.detail.contains("TLS handshake"), "{}", url.detail);
    assert!(
        url.fix
            .as_deref()
            .is_some_and(|fix| fix.contains("http://")),
        "{url:?}"
    );
}

#[tokio::test]
async fn website_is_not_okta() {
    let fake = start(
        FakeOkta::builder()
            .with_generated_client(&READ_SCOPES)
            .other_server(OtherServer::Website),
    )
    .await;

    let report = doctor(&settings(&fake)).await;

    let url = check(&report, CheckId::UrlOrg);
    assert_eq!(url.status, Status::Fail);
    assert!(url.detail.contains("HTTP 404"), "{}", url.detail);
    assert!(url.detail.contains("not an Okta org"), "{}", url.detail);
    assert!(
        url.fix
            .as_deref()
            .is_some_and(|fix| fix.contains("without -admin")),
        "{url:?}"
    );
    assert_eq!(check(&report, CheckId::AppClient).status, Status::Skip);
}

#[tokio::test]
async fn html_page_is_not_okta() {
    let fake = start(
        FakeOkta::builder()
            .with_generated_client(&READ_SCOPES)
            .other_server(OtherServer::SinglePageApp),
    )
    .await;

    let report = doctor(&settings(&fake)).await;

    let url = check(&report, CheckId::UrlOrg);
    assert_eq!(url.status, Status::Fail);
    assert!(
        url.detail.contains("did not return Okta's JSON"),
        "{}",
        url.detail
    );
    assert!(url.detail.contains("not an Okta org"), "{}", url.detail);
}

#[tokio::test]
async fn unresolvable_host_fails_dns() {
    let creds = generate_credentials(KeyKind::EcP256, Some(11));
    let settings = json!({
        "id": "default",
        "oktaUrl": "https://orgsync-doctor-test.invalid",
        "clientId": creds.client_id,
        "keyId": creds.key_id,
        "privateKey": creds.private_key_pem,
        "requestTimeout": {"seconds": 5},
    });

    let report = doctor(&settings).await;

    let url = check(&report, CheckId::UrlOrg);
    assert_eq!(url.status, Status::Fail);
    assert!(
        url.detail
            .contains("the host name orgsync-doctor-test.invalid does not resolve"),
        "{}",
        url.detail
    );
    assert!(
        url.fix.as_deref().is_some_and(|fix| fix.contains("typos")),
        "{url:?}"
    );
}

/// Starts a small org whose clock is `clock`, with the generated client.
async fn org_with_clock(clock: SkewedClock) -> fake_okta::server::RunningFakeOkta {
    start(
        FakeOkta::builder()
            .generated(5, 1, 5)
            .with_generated_client(&READ_SCOPES)
            .clock(Arc::new(clock)),
    )
    .await
}

#[tokio::test]
async fn okta_ten_minutes_ahead_fails_clock() {
    let fake = org_with_clock(SkewedClock::ahead(Duration::from_secs(600))).await;

    let report = doctor(&settings(&fake)).await;

    let clock = check(&report, CheckId::UrlClock);
    assert_eq!(clock.status, Status::Fail);
    assert!(clock.detail.contains("behind Okta's"), "{}", clock.detail);
    assert!(
        clock.fix.as_deref().is_some_and(|fix| fix.contains("NTP")),
        "{clock:?}"
    );
    let token = check(&report, CheckId::AppToken);
    assert_eq!(token.status, Status::Fail);
    assert!(token.detail.contains("expired"), "{}", token.detail);
    assert!(
        token
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("url.clock")),
        "{token:?}"
    );
}

#[tokio::test]
async fn okta_ten_minutes_behind_fails_clock() {
    let fake = org_with_clock(SkewedClock::behind(Duration::from_secs(600))).await;

    let report = doctor(&settings(&fake)).await;

    let clock = check(&report, CheckId::UrlClock);
    assert_eq!(clock.status, Status::Fail);
    assert!(clock.detail.contains("ahead of Okta's"), "{}", clock.detail);
    let token = check(&report, CheckId::AppToken);
    assert_eq!(token.status, Status::Fail);
    assert!(
        token.detail.contains("issued before the current time"),
        "{}",
        token.detail
    );
}

#[tokio::test]
async fn okta_half_minute_ahead_warns() {
    let fake = org_with_clock(SkewedClock::ahead(Duration::from_secs(30))).await;

    let report = doctor(&settings(&fake)).await;

    let clock = check(&report, CheckId::UrlClock);
    assert_eq!(clock.status, Status::Warn);
    assert!(clock.detail.contains("behind Okta's"), "{}", clock.detail);
    assert_eq!(check(&report, CheckId::AppToken).status, Status::Pass);
}

#[test]
fn http_url_fails_url_format() {
    let settings = json!({"id": "default", "oktaUrl": "http://acme.okta.com", "token": "00abc"});
    let errors = orgsync_config::parse_provider("test settings", &settings).expect_err("http");
    let errors: Vec<_> = errors.0.iter().collect();

    let report = orgsync_doctor::report_config_errors("default", &errors);

    let url = check(&report, CheckId::UrlFormat);
    assert_eq!(url.status, Status::Fail);
    assert!(url.detail.contains("uses http"), "{}", url.detail);
    assert!(
        url.fix
            .as_deref()
            .is_some_and(|fix| fix.contains("https://acme.okta.com")),
        "{url:?}"
    );
}

#[test]
fn admin_url_fails_url_format() {
    let settings =
        json!({"id": "default", "oktaUrl": "https://acme-admin.okta.com", "token": "00abc"});
    let errors = orgsync_config::parse_provider("test settings", &settings).expect_err("admin URL");
    let errors: Vec<_> = errors.0.iter().collect();

    let report = orgsync_doctor::report_config_errors("default", &errors);

    let url = check(&report, CheckId::UrlFormat);
    assert_eq!(url.status, Status::Fail);
    assert!(url.detail.contains("admin console URL"), "{}", url.detail);
    assert_eq!(check(&report, CheckId::UrlOrg).status, Status::Skip);
}

// ---- key ----

#[test]
fn public_key_fails_key_parse() {
    use p256::elliptic_curve::Generate as _;
    use p256::pkcs8::{EncodePublicKey as _, LineEnding};
    let public_pem = p256::SecretKey::generate()
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("public PEM");
    let settings = json!({"id": "default", "oktaUrl": "https://acme.okta.com",
        "clientId": "0oa1", "privateKey": public_pem});
    let errors =
        orgsync_config::parse_provider("test settings", &settings).expect_err("public key");
    let errors: Vec<_> = errors.0.iter().collect();

    let report = orgsync_doctor::report_config_errors("default", &errors);

    let key = check(&report, CheckId::KeyParse);
    assert_eq!(key.status, Status::Fail);
    assert!(key.detail.contains("is a public key"), "{}", key.detail);
}

#[test]
fn garbage_key_fails_key_parse() {
    let settings = json!({"id": "default", "oktaUrl": "https://acme.okta.com",
        "clientId": "0oa1", "privateKey": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----"});
    let errors = orgsync_config::parse_provider("test settings", &settings).expect_err("garbage");
    let errors: Vec<_> = errors.0.iter().collect();

    let report = orgsync_doctor::report_config_errors("default", &errors);

    assert_eq!(check(&report, CheckId::KeyParse).status, Status::Fail);
}

#[test]
fn p521_key_is_unsupported_algorithm() {
    let p521 = generate_credentials(KeyKind::EcP521, Some(3));
    let settings = json!({"id": "default", "oktaUrl": "https://acme.okta.com",
        "clientId": "0oa1", "privateKey": p521.private_key_pem});
    let errors = orgsync_config::parse_provider("test settings", &settings).expect_err("P-521");
    let errors: Vec<_> = errors.0.iter().collect();

    let report = orgsync_doctor::report_config_errors("default", &errors);

    let key = check(&report, CheckId::KeyParse);
    assert_eq!(key.status, Status::Fail);
    assert!(key.detail.contains("P-521"), "{}", key.detail);
}

#[tokio::test]
async fn unknown_kid_fails_key_known() {
    let fake = org(5, 1).await;
    let settings = with(settings(&fake), "keyId", json!("not-registered"));

    let report = doctor(&settings).await;

    let known = check(&report, CheckId::KeyKnown);
    assert_eq!(known.status, Status::Fail);
    assert!(
        known.detail.contains("`not-registered`"),
        "{}",
        known.detail
    );
    assert!(
        known.fix.as_deref().is_some_and(|fix| fix.contains("KID")),
        "{known:?}"
    );
    assert_eq!(check(&report, CheckId::AppClient).status, Status::Pass);
    assert_eq!(check(&report, CheckId::KeySignature).status, Status::Skip);
}

#[tokio::test]
async fn missing_kid_with_two_keys_fails_key_id() {
    let fake = org(5, 1).await;
    let creds = credentials(&fake);
    let mut registration = creds.registration(&READ_SCOPES);
    registration
        .jwks
        .push(generate_credentials(KeyKind::EcP256, Some(8)).public_jwk);
    fake.auth().upsert_client(registration);
    let settings = without(settings(&fake), "keyId");

    let report = doctor(&settings).await;

    let key_id = check(&report, CheckId::KeyId);
    assert_eq!(key_id.status, Status::Fail);
    assert!(
        key_id.detail.contains("several public keys"),
        "{}",
        key_id.detail
    );
    assert!(
        key_id
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("set keyId")),
        "{key_id:?}"
    );
    assert_eq!(check(&report, CheckId::AppType).status, Status::Pass);
    assert_eq!(check(&report, CheckId::KeyKnown).status, Status::Skip);
}

#[tokio::test]
async fn missing_kid_with_one_key_warns() {
    let fake = org(5, 1).await;
    let settings = without(settings(&fake), "keyId");

    let report = doctor(&settings).await;

    assert_eq!(check(&report, CheckId::KeyId).status, Status::Warn);
    assert_eq!(check(&report, CheckId::AppRole).status, Status::Pass);
}

#[tokio::test]
async fn other_private_key_fails_signature() {
    let fake = org(5, 1).await;
    let other = generate_credentials(KeyKind::EcP256, Some(9));
    let settings = with(settings(&fake), "privateKey", json!(other.private_key_pem));

    let report = doctor(&settings).await;

    let signature = check(&report, CheckId::KeySignature);
    assert_eq!(signature.status, Status::Fail);
    assert!(
        signature.detail.contains("not the private half"),
        "{}",
        signature.detail
    );
    assert!(
        signature.detail.contains(&other.key_id),
        "names the thumbprint: {}",
        signature.detail
    );
    assert_eq!(check(&report, CheckId::KeyKnown).status, Status::Pass);
}

#[tokio::test]
async fn registered_rsa_key_rejects_ec_algorithm() {
    let fake = org(5, 1).await;
    let creds = credentials(&fake);
    let rsa = generate_credentials(KeyKind::Rsa2048, Some(4));
    let mut rsa_jwk = rsa.public_jwk.clone();
    rsa_jwk["kid"] = json!(creds.key_id);
    let mut registration = creds.registration(&READ_SCOPES);
    registration.jwks = vec![rsa_jwk];
    fake.auth().upsert_client(registration);

    let report = doctor(&settings(&fake)).await;

    let signature = check(&report, CheckId::KeySignature);
    assert_eq!(signature.status, Status::Fail);
    assert!(
        signature.detail.contains("signing algorithm"),
        "{}",
        signature.detail
    );
}

// ---- app ----

#[tokio::test]
async fn unknown_client_id_fails_app_client() {
    let fake = org(5, 1).await;
    let settings = with(settings(&fake), "clientId", json!("0oaUnknownClient123"));

    let report = doctor(&settings).await;

    let client = check(&report, CheckId::AppClient);
    assert_eq!(client.status, Status::Fail);
    assert!(
        client.detail.contains("`0oaUnknownClient123`"),
        "{}",
        client.detail
    );
    assert!(
        client
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("General tab")),
        "{client:?}"
    );
    let waiting = check(&report, CheckId::KeyKnown);
    assert_eq!(waiting.status, Status::Skip);
    assert!(
        waiting.detail.contains("`app.client`"),
        "{}",
        waiting.detail
    );
}

#[tokio::test]
async fn app_without_public_keys_fails_app_type() {
    let fake = org(5, 1).await;
    let mut registration = credentials(&fake).registration(&READ_SCOPES);
    registration.jwks.clear();
    fake.auth().upsert_client(registration);

    let report = doctor(&settings(&fake)).await;

    let app = check(&report, CheckId::AppType);
    assert_eq!(app.status, Status::Fail);
    assert!(
        app.detail.contains("public key / private key"),
        "{}",
        app.detail
    );
    assert!(
        app.fix
            .as_deref()
            .is_some_and(|fix| fix.contains("'Public key / Private key'")),
        "{app:?}"
    );
}

#[tokio::test]
async fn web_app_fails_app_type() {
    let fake = org(5, 1).await;
    let mut registration = credentials(&fake).registration(&READ_SCOPES);
    registration.application_type = ApplicationType::Web;
    registration
        .grant_types
        .insert("authorization_code".to_owned());
    fake.auth().upsert_client(registration);

    let report = doctor(&settings(&fake)).await;

    let app = check(&report, CheckId::AppType);
    assert_eq!(app.status, Status::Fail);
    assert!(
        app.detail.contains("is not an API Services app"),
        "{}",
        app.detail
    );
    assert!(
        app.fix
            .as_deref()
            .is_some_and(|fix| fix.contains("API Services")),
        "{app:?}"
    );
    assert_eq!(check(&report, CheckId::AppClient).status, Status::Pass);
}

#[tokio::test]
async fn client_secret_app_fails_app_client() {
    let fake = org(5, 1).await;
    let mut registration = credentials(&fake).registration(&READ_SCOPES);
    registration.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretBasic;
    fake.auth().upsert_client(registration);

    let report = doctor(&settings(&fake)).await;

    // Okta responds to a client secret app exactly as to an unknown client
    // id, so the check names both causes.
    let client = check(&report, CheckId::AppClient);
    assert_eq!(client.status, Status::Fail);
    assert!(
        client
            .detail
            .contains("does not use public key / private key authentication"),
        "{}",
        client.detail
    );
    assert!(
        client
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("'Public key / Private key'")),
        "{client:?}"
    );
}

#[tokio::test]
async fn app_without_grant_fails_app_type() {
    let fake = org(5, 1).await;
    let mut registration = credentials(&fake).registration(&READ_SCOPES);
    registration.application_type = ApplicationType::Web;
    registration.grant_types = BTreeSet::from(["authorization_code".to_owned()]);
    fake.auth().upsert_client(registration);

    let report = doctor(&settings(&fake)).await;

    let app = check(&report, CheckId::AppType);
    assert_eq!(app.status, Status::Fail);
    assert!(
        app.detail.contains("Client Credentials grant"),
        "{}",
        app.detail
    );
    assert!(app.detail.contains("authorization_code"), "{}", app.detail);
}

#[tokio::test]
async fn token_server_error_passes_nothing() {
    let fake = org(5, 1).await;
    let faults = FaultConfig {
        error_rate: 1.0,
        only_paths: Some(vec!["/oauth2/v1/token$".to_owned()]),
        ..FaultConfig::default()
    };
    fake.faults().set_config(faults).expect("valid faults");

    let report = doctor(&settings(&fake)).await;

    let token = check(&report, CheckId::AppToken);
    assert_eq!(token.status, Status::Fail);
    assert!(
        token.detail.contains("/oauth2/v1/token"),
        "{}",
        token.detail
    );
    assert_eq!(check(&report, CheckId::AppClient).status, Status::Skip);
    assert_eq!(check(&report, CheckId::UrlOrg).status, Status::Pass);
}

#[tokio::test]
async fn dpop_app_fails_dpop_check() {
    let fake = org(5, 1).await;
    let mut registration = credentials(&fake).registration(&READ_SCOPES);
    registration.dpop_required = true;
    fake.auth().upsert_client(registration);

    let report = doctor(&settings(&fake)).await;

    let dpop = check(&report, CheckId::AppDpop);
    assert_eq!(dpop.status, Status::Fail);
    let expected =
        "uncheck 'Require Demonstrating Proof of Possession (DPoP) header in token requests'";
    assert!(
        dpop.fix
            .as_deref()
            .is_some_and(|fix| fix.contains(expected)),
        "{dpop:?}"
    );
    assert!(
        dpop.fix
            .as_deref()
            .is_some_and(|fix| fix.contains("General settings")),
        "{dpop:?}"
    );
}

#[tokio::test]
async fn ungranted_scope_fails_scopes_check() {
    let fake = org(5, 1).await;
    let registration = credentials(&fake).registration(&["okta.users.read"]);
    fake.auth().upsert_client(registration);

    let report = doctor(&settings(&fake)).await;

    let scopes = check(&report, CheckId::AppScopes);
    assert_eq!(scopes.status, Status::Fail);
    assert!(
        scopes.detail.contains("okta.groups.read"),
        "{}",
        scopes.detail
    );
    assert!(
        scopes
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("Okta API Scopes tab")),
        "{scopes:?}"
    );
    assert_eq!(check(&report, CheckId::AppDpop).status, Status::Pass);
}

#[tokio::test]
async fn token_without_groups_scope_fails() {
    let fake = org(5, 1).await;
    let settings = with(settings(&fake), "scopes", json!(["okta.users.read"]));

    let report = doctor(&settings).await;

    let token = check(&report, CheckId::TokenScopes);
    assert_eq!(token.status, Status::Fail);
    assert!(
        token.detail.contains("without okta.groups.read"),
        "{}",
        token.detail
    );
    assert!(
        token
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("add okta.groups.read to `scopes`")),
        "{token:?}"
    );
}

#[tokio::test]
async fn app_without_role_fails_role_check() {
    let fake = org(5, 1).await;
    let mut registration = credentials(&fake).registration(&READ_SCOPES);
    registration.admin_scope = AdminScope::NoRole;
    fake.auth().upsert_client(registration);

    let report = doctor(&settings(&fake)).await;

    let role = check(&report, CheckId::AppRole);
    assert_eq!(role.status, Status::Fail);
    assert!(role.detail.contains("E0000006"), "{}", role.detail);
    assert!(
        role.fix
            .as_deref()
            .is_some_and(|fix| fix.contains("Read-only Administrator")),
        "{role:?}"
    );
    assert_eq!(check(&report, CheckId::UserFilter).status, Status::Skip);
}

/// Limits the generated client's admin role to the first `count` groups
/// other than Everyone and returns their names.
fn limit_role(
    fake: &fake_okta::server::RunningFakeOkta,
    count: usize,
    hidden: HiddenResponse,
) -> Vec<String> {
    limit_role_members(fake, count, None, hidden)
}

/// Like [`limit_role`]; with `member_groups`, the role reads the members of
/// only the first `member_groups` of those groups.
fn limit_role_members(
    fake: &fake_okta::server::RunningFakeOkta,
    count: usize,
    member_groups: Option<usize>,
    hidden: HiddenResponse,
) -> Vec<String> {
    let handle = fake.org_handle();
    let org = handle.read();
    let groups: Vec<(String, String)> = org
        .groups_after(None)
        .filter(|group| group.group_type() != "BUILT_IN")
        .take(count)
        .map(|group| (group.id().to_owned(), group.name().to_owned()))
        .collect();
    let mut registration = credentials(fake).registration(&READ_SCOPES);
    registration.admin_scope = AdminScope::Groups {
        group_ids: groups
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<BTreeSet<_>>(),
        hidden,
        member_group_ids: member_groups.map(|first| {
            groups
                .iter()
                .take(first)
                .map(|(id, _)| id.clone())
                .collect::<BTreeSet<_>>()
        }),
    };
    fake.auth().upsert_client(registration);
    groups.into_iter().map(|(_, name)| name).collect()
}

#[tokio::test]
async fn resource_set_hides_everyone() {
    let fake = org(40, 5).await;
    limit_role(&fake, 2, HiddenResponse::Forbidden);

    let report = doctor(&settings(&fake)).await;

    let resources = check(&report, CheckId::AppResources);
    assert_eq!(resources.status, Status::Warn);
    assert!(
        resources.detail.contains("hides the Everyone group"),
        "{}",
        resources.detail
    );
    assert!(
        resources.detail.contains("the 2 groups it can see"),
        "{}",
        resources.detail
    );
    assert!(
        resources
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("Read-only Administrator")),
        "{resources:?}"
    );
}

#[tokio::test]
async fn resource_set_hiding_members_names_group() {
    let fake = org(40, 5).await;
    let names = limit_role_members(&fake, 2, Some(1), HiddenResponse::Forbidden);

    let report = doctor(&settings(&fake)).await;

    let resources = check(&report, CheckId::AppResources);
    assert_eq!(resources.status, Status::Warn);
    assert!(
        resources
            .detail
            .contains("the admin role's resource set hides members of these groups"),
        "{}",
        resources.detail
    );
    assert!(
        resources.detail.contains(&format!("{:?} (", names[1])),
        "names the group with hidden members: {}",
        resources.detail
    );
    assert!(
        !resources.detail.contains(&format!("{:?} (", names[0])),
        "{}",
        resources.detail
    );
}

#[tokio::test]
async fn hidden_group_name_names_resource_set() {
    let fake = org(40, 5).await;
    let handle = fake.org_handle();
    let hidden_name = handle
        .read()
        .groups_after(None)
        .filter(|group| group.group_type() != "BUILT_IN")
        .nth(4)
        .map(|group| group.name().to_owned())
        .expect("fifth group");
    let visible = limit_role(&fake, 2, HiddenResponse::NotFound);
    let names = json!({"groupNames": [visible[0], hidden_name]});
    let settings = with(settings(&fake), "groupFilter", names);

    let report = doctor(&settings).await;

    let filter = check(&report, CheckId::GroupFilter);
    assert_eq!(filter.status, Status::Fail);
    assert!(
        filter.detail.contains(&format!("{hidden_name:?}")),
        "{}",
        filter.detail
    );
    assert!(filter.detail.contains("resource set"), "{}", filter.detail);
    assert!(
        !filter.detail.contains(&format!("{:?}", visible[0])),
        "{}",
        filter.detail
    );
}

// ---- API token ----

#[tokio::test]
async fn api_token_is_accepted() {
    let fake = org(5, 1).await;
    let mut registration = credentials(&fake).registration(&READ_SCOPES);
    registration.api_tokens = vec!["00doctor-test-token".to_owned()];
    fake.auth().upsert_client(registration);
    let settings =
        json!({"id": "default", "oktaUrl": fake.base_url, "token": "00doctor-test-token"});

    let report = doctor(&settings).await;

    assert_eq!(check(&report, CheckId::ApiToken).status, Status::Pass);
    assert!(
        report.check(CheckId::KeyParse).is_none(),
        "no key checks for API tokens"
    );
    assert_eq!(report.status, Status::Pass, "{report:#?}");
}

#[tokio::test]
async fn wrong_api_token_fails() {
    let fake = org(5, 1).await;
    let settings = json!({"id": "default", "oktaUrl": fake.base_url, "token": "00wrong"});

    let report = doctor(&settings).await;

    let token = check(&report, CheckId::ApiToken);
    assert_eq!(token.status, Status::Fail);
    assert!(
        token
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("Security > API > Tokens")),
        "{token:?}"
    );
}

// ---- filters ----

#[tokio::test]
async fn rejected_user_filter_shows_cause() {
    let fake = org(20, 2).await;
    let settings = with(
        settings(&fake),
        "userSearchFilter",
        json!(r#"profile.department co "Eng""#),
    );

    let report = doctor(&settings).await;

    let filter = check(&report, CheckId::UserFilter);
    assert_eq!(filter.status, Status::Fail);
    assert!(filter.detail.contains("E0000031"), "{}", filter.detail);
    assert!(
        filter
            .detail
            .contains("`co` is not supported on `profile.department`"),
        "{}",
        filter.detail
    );
    assert!(
        filter
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("userSearchFilter")),
        "{filter:?}"
    );
    let scale = check(&report, CheckId::ScaleSize);
    assert_eq!(scale.status, Status::Skip);
    assert!(scale.detail.contains("`filters.users`"), "{}", scale.detail);
}

#[tokio::test]
async fn rejected_group_search_shows_cause() {
    let fake = org(20, 2).await;
    let filter = json!({"searchExpression": r#"profile.owner co "ops""#});
    let settings = with(settings(&fake), "groupFilter", filter);

    let report = doctor(&settings).await;

    let filter = check(&report, CheckId::GroupFilter);
    assert_eq!(filter.status, Status::Fail);
    assert!(
        filter
            .detail
            .contains("`co` is not supported on `profile.owner`"),
        "{}",
        filter.detail
    );
    assert!(
        filter
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("groupFilter.searchExpression")),
        "{filter:?}"
    );
}

#[tokio::test]
async fn unknown_group_names_fail() {
    let fake = org(20, 2).await;
    let settings = with(
        settings(&fake),
        "groupFilter",
        json!({"groupNames": ["ghost-team"]}),
    );

    let report = doctor(&settings).await;

    let filter = check(&report, CheckId::GroupFilter);
    assert_eq!(filter.status, Status::Fail);
    assert!(
        filter.detail.contains("\"ghost-team\""),
        "{}",
        filter.detail
    );
    assert!(!filter.detail.contains("resource set"), "{}", filter.detail);
}

#[tokio::test]
async fn user_filter_matching_nobody_fails() {
    let fake = org(20, 2).await;
    let filter = r#"profile.login eq "nobody@nowhere.example""#;
    let settings = with(settings(&fake), "userSearchFilter", json!(filter));

    let report = doctor(&settings).await;

    let check = check(&report, CheckId::UserFilter);
    assert_eq!(check.status, Status::Fail);
    assert!(check.detail.contains("selects no user"), "{}", check.detail);
}

#[tokio::test]
async fn group_search_matching_nothing_fails() {
    let fake = org(20, 2).await;
    let filter = json!({"searchExpression": r#"profile.name eq "no such group""#});
    let settings = with(settings(&fake), "groupFilter", filter);

    let report = doctor(&settings).await;

    let check = check(&report, CheckId::GroupFilter);
    assert_eq!(check.status, Status::Fail);
    assert!(
        check.detail.contains("selects no group"),
        "{}",
        check.detail
    );
}

#[tokio::test]
async fn group_names_select_their_groups() {
    let fake = org(30, 4).await;
    let names: Vec<String> = fake
        .org_handle()
        .read()
        .groups_after(None)
        .filter(|group| group.group_type() != "BUILT_IN")
        .take(2)
        .map(|group| group.name().to_owned())
        .collect();
    let settings = with(settings(&fake), "groupFilter", json!({"groupNames": names}));

    let report = doctor(&settings).await;

    assert_eq!(check(&report, CheckId::GroupFilter).status, Status::Pass);
    assert_eq!(report.scale.map(|scale| scale.groups), Some(2));
}

// ---- scale ----

#[tokio::test]
async fn user_filter_is_counted_by_pages() {
    let fake = org(450, 2).await;
    let settings = with(
        settings(&fake),
        "userSearchFilter",
        json!(r#"status eq "ACTIVE""#),
    );

    let report = doctor(&settings).await;

    let scale = report.scale.expect("scale estimate");
    let active = fake
        .org_handle()
        .read()
        .users_after(None)
        .filter(|user| user.status() == "ACTIVE")
        .count();
    assert_eq!(scale.users, active as u64);
    assert_eq!(scale.users_basis, orgsync_doctor::UsersBasis::Counted);
}

#[tokio::test]
async fn counting_stops_at_request_bound() {
    let fake = org(450, 2).await;
    let settings = with(
        settings(&fake),
        "userSearchFilter",
        json!(r#"status eq "ACTIVE""#),
    );
    let options = DoctorOptions {
        max_count_requests: 1,
        ..DoctorOptions::default()
    };

    let report = orgsync_doctor::run_checks(&provider(&settings), &options).await;

    let scale = report.scale.expect("scale estimate");
    // Everyone's count bounds the filtered count from above.
    assert_eq!(scale.users, fake.org_handle().read().user_count() as u64);
    assert_eq!(scale.users_basis, orgsync_doctor::UsersBasis::Everyone);
}

#[tokio::test]
async fn low_rate_limit_outlasts_timeout() {
    let mut limits = RateLimitConfig::workforce();
    limits.per_minute.insert(Bucket::Users, 10);
    let fake = start(
        FakeOkta::builder()
            .generated(2_000, 3, 5)
            .with_generated_client(&READ_SCOPES)
            .rate_limits(limits),
    )
    .await;
    let settings = with(
        settings(&fake),
        "schedule",
        json!({"timeout": {"seconds": 30}}),
    );

    let report = doctor(&settings).await;

    let duration = check(&report, CheckId::ScaleDuration);
    assert_eq!(duration.status, Status::Warn);
    assert!(
        duration.detail.contains("users 10/min (seen)"),
        "{}",
        duration.detail
    );
    assert!(
        duration
            .detail
            .contains("longer than schedule.timeout (30 s)"),
        "{}",
        duration.detail
    );
    assert!(
        duration
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("raise schedule.timeout")),
        "{duration:?}"
    );
    let scale = report.scale.expect("scale estimate");
    let users_phase = scale
        .phases
        .iter()
        .find(|phase| phase.phase == "users")
        .expect("users phase");
    // 2000 users are 10 pages; 5 per window (half of 10) wait for one reset.
    assert_eq!(users_phase.requests, 10);
    assert!(users_phase.seconds >= 60, "{users_phase:?}");
}

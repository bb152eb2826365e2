//! The client against fake-okta: a generated org served on a loopback port
//! with Okta's token endpoint, paging, rate limits, faults and errors.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fake_okta::auth::{generate_credentials, AdminScope, GeneratedCredentials, KeyKind};
use fake_okta::faults::{Burst, FaultConfig};
use fake_okta::limits::{LimitState, RateLimitConfig};
use fake_okta::server::{FakeOkta, FakeOktaBuilder, RunningFakeOkta};
use futures::stream::{self, StreamExt};
use orgsync_okta::{
    ApiToken, ClientConfig, ClientObserver, Credentials, Endpoint, OktaClient, OktaError,
    PrivateKey, TransportKind,
};
use url::Url;

const READ_SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

async fn start(builder: FakeOktaBuilder) -> RunningFakeOkta {
    builder.start_on_loopback().await.expect("start fake-okta")
}

fn credentials(fake: &RunningFakeOkta) -> &GeneratedCredentials {
    fake.credentials.as_ref().expect("generated credentials")
}

fn client_config(fake: &RunningFakeOkta, creds: &GeneratedCredentials) -> ClientConfig {
    let key = PrivateKey::parse(&creds.private_key_pem).expect("parse generated key");
    let credentials = Credentials::PrivateKey {
        client_id: creds.client_id.clone(),
        key,
        key_id: Some(creds.key_id.clone()),
    };
    let base_url = Url::parse(&fake.base_url).expect("base URL");
    let mut config = ClientConfig::new(base_url, credentials);
    config.request_timeout = Duration::from_secs(10);
    config
}

fn client(fake: &RunningFakeOkta) -> OktaClient {
    OktaClient::new(client_config(fake, credentials(fake))).expect("client")
}

fn active_user_count(fake: &RunningFakeOkta) -> usize {
    let org = fake.org_handle();
    let org = org.read();
    org.users_after(None)
        .filter(|user| user.status() != "DEPROVISIONED")
        .count()
}

#[tokio::test]
async fn paging_uses_minimum_call_count() {
    let fake = start(
        FakeOkta::builder()
            .generated(1_234, 40, 7)
            .with_generated_client(&READ_SCOPES),
    )
    .await;
    let client = client(&fake);

    let users = client.list_users(None).await.expect("list users");
    let groups = client.list_groups(None).await.expect("list groups");

    let expected_users = active_user_count(&fake);
    assert_eq!(users.len(), expected_users);
    let counts = fake.request_counts();
    assert_eq!(
        counts.count("GET /api/v1/users", 200),
        expected_users.div_ceil(200) as u64
    );
    assert_eq!(groups.len(), fake.org_handle().read().group_count());
    assert_eq!(counts.count("GET /api/v1/groups", 200), 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn members_match_org() {
    let fake = start(
        FakeOkta::builder()
            .generated(3_000, 30, 11)
            .with_generated_client(&READ_SCOPES),
    )
    .await;
    let client = client(&fake);
    let groups = client.list_groups(None).await.expect("list groups");
    let largest = groups
        .iter()
        .max_by_key(|group| fake.org_handle().read().member_count(&group.id))
        .expect("a group");

    let members = client
        .list_group_members(&largest.id)
        .await
        .expect("members");

    let expected = fake
        .org_handle()
        .read()
        .member_count(&largest.id)
        .expect("group exists");
    assert_eq!(members.len(), expected);
    assert_eq!(
        fake.request_counts()
            .count("GET /api/v1/groups/{id}/users", 200),
        expected.div_ceil(1000).max(1) as u64
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn trimmed_listings_keep_only_named_attributes() {
    let fake = start(
        FakeOkta::builder()
            .generated(450, 6, 5)
            .with_generated_client(&READ_SCOPES),
    )
    .await;
    let client = client(&fake);
    let keep: BTreeSet<String> = ["email", "login", "noSuchAttribute"]
        .into_iter()
        .map(String::from)
        .collect();

    let full = client.list_users(None).await.expect("list users");
    let trimmed = client
        .list_users_keeping(None, &keep)
        .await
        .expect("list trimmed users");
    assert_eq!(trimmed.len(), full.len());
    assert!(
        full.iter().any(|user| user.profile.len() > 2),
        "the generated profiles have more than the kept attributes"
    );
    for (full, trimmed) in full.iter().zip(&trimmed) {
        assert_eq!(trimmed.id, full.id);
        assert_eq!(trimmed.status, full.status);
        let expected: Vec<(&String, &serde_json::Value)> = full
            .profile
            .iter()
            .filter(|(attribute, _)| keep.contains(*attribute))
            .collect();
        let trimmed_profile: Vec<(&String, &serde_json::Value)> = trimmed.profile.iter().collect();
        assert_eq!(trimmed_profile, expected, "user {}", full.id);
    }

    let groups = client.list_groups(None).await.expect("list groups");
    let group = groups
        .iter()
        .max_by_key(|group| fake.org_handle().read().member_count(&group.id))
        .expect("a group");
    let members = client
        .list_group_members_keeping(&group.id, &keep)
        .await
        .expect("list trimmed members");
    let ids = client
        .list_group_member_ids(&group.id)
        .await
        .expect("list member ids");
    assert!(!members.is_empty());
    let member_ids: Vec<&str> = members.iter().map(|user| user.id.as_str()).collect();
    assert_eq!(member_ids, ids);
    for member in &members {
        assert!(member
            .profile
            .keys()
            .all(|attribute| keep.contains(attribute)));
        assert!(member.profile.contains_key("login"));
    }

    let counts = fake.request_counts();
    assert_eq!(
        counts.count("GET /api/v1/users", 200),
        2 * full.len().div_ceil(200) as u64,
        "trimming changes no page size"
    );
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_serves_whole_sync() {
    let fake = start(
        FakeOkta::builder()
            .generated(600, 25, 3)
            .with_generated_client(&READ_SCOPES),
    )
    .await;
    let client = client(&fake);

    client.list_users(None).await.expect("list users");
    let groups = client.list_groups(None).await.expect("list groups");
    let results: Vec<_> = stream::iter(groups.iter())
        .map(|group| client.list_group_members(&group.id))
        .buffer_unordered(8)
        .collect()
        .await;

    assert!(results.iter().all(Result::is_ok));
    assert_eq!(client.stats().token_requests, 1);
    assert_eq!(fake.request_counts().count("POST /oauth2/v1/token", 200), 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn token_retries_use_fresh_assertions() {
    // Every token response is cut off after fake-okta consumed the
    // assertion's jti, so a retry that reused a jti would get a 401.
    let faults = FaultConfig {
        seed: 5,
        truncate_body_rate: 1.0,
        only_paths: Some(vec!["/oauth2/v1/token".to_owned()]),
        ..FaultConfig::default()
    };
    let fake = start(
        FakeOkta::builder()
            .generated(50, 5, 1)
            .with_generated_client(&READ_SCOPES)
            .faults(faults),
    )
    .await;
    let mut config = client_config(&fake, credentials(&fake));
    config.max_retries = 3;
    let client = OktaClient::new(config).expect("client");

    let err = client
        .list_users(None)
        .await
        .expect_err("every token response is cut");

    assert!(
        matches!(
            err,
            OktaError::Transport {
                kind: TransportKind::Body,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    let counts = fake.request_counts();
    assert_eq!(counts.count("POST /oauth2/v1/token", 200), 4);
    assert_eq!(counts.count("POST /oauth2/v1/token", 401), 0);
    assert_eq!(fake.faults().counts().truncated_bodies, 4);
    fake.shutdown().await;
}

/// Records the highest used count of any bucket seen after each page.
struct BudgetWatch {
    limits: LimitState,
    max_used: AtomicU32,
}

impl ClientObserver for BudgetWatch {
    fn page_fetched(&self, _endpoint: Endpoint, _items: usize) {
        let used = self
            .limits
            .snapshot()
            .buckets
            .values()
            .map(|bucket| bucket.used)
            .max()
            .unwrap_or(0);
        self.max_used.fetch_max(used, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_holds_under_short_windows() {
    let limits = RateLimitConfig {
        window: Duration::from_secs(2),
        ..RateLimitConfig::workforce().with_all_buckets(10)
    };
    let fake = start(
        FakeOkta::builder()
            .generated(200, 12, 9)
            .with_generated_client(&READ_SCOPES)
            .rate_limits(limits),
    )
    .await;
    let watch = Arc::new(BudgetWatch {
        limits: fake.limits().clone(),
        max_used: AtomicU32::new(0),
    });
    let client = client(&fake).with_observer(watch.clone());

    let groups = client.list_groups(None).await.expect("list groups");
    let results: Vec<_> = stream::iter(groups.iter())
        .map(|group| client.list_group_members(&group.id))
        .buffer_unordered(8)
        .collect()
        .await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(
        watch.max_used.load(Ordering::SeqCst) <= 5,
        "share 0.5 of 10"
    );
    let counts = fake.request_counts();
    let rejected: u64 = counts.endpoints.values().filter_map(|s| s.get("429")).sum();
    assert_eq!(rejected, 0);
    assert!(client.stats().rate_limit_waits >= 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn injected_failures_are_retried() {
    let faults = FaultConfig {
        seed: 42,
        error_rate: 0.25,
        drop_connection_rate: 0.1,
        only_paths: Some(vec!["/api/v1/".to_owned()]),
        ..FaultConfig::default()
    };
    let fake = start(
        FakeOkta::builder()
            .generated(1_000, 10, 4)
            .with_generated_client(&READ_SCOPES)
            .faults(faults),
    )
    .await;
    let mut config = client_config(&fake, credentials(&fake));
    config.max_retries = 8;
    let client = OktaClient::new(config).expect("client");

    let users = client.list_users(None).await.expect("list users");

    assert_eq!(users.len(), active_user_count(&fake));
    let injected = fake.faults().counts();
    assert!(injected.server_errors + injected.dropped_connections >= 1);
    assert_eq!(
        client.stats().retries,
        injected.server_errors + injected.dropped_connections
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn persistent_429_reports_e0000047() {
    let faults = FaultConfig {
        rate_limit_bursts: Some(Burst {
            every: 1,
            length: 1,
        }),
        only_paths: Some(vec!["/api/v1/".to_owned()]),
        ..FaultConfig::default()
    };
    // A short window keeps the wait for each reset short.
    let limits = RateLimitConfig {
        window: Duration::from_secs(1),
        ..RateLimitConfig::workforce()
    };
    let fake = start(
        FakeOkta::builder()
            .generated(10, 2, 1)
            .with_generated_client(&READ_SCOPES)
            .rate_limits(limits)
            .faults(faults),
    )
    .await;
    let mut config = client_config(&fake, credentials(&fake));
    config.max_retries = 1;
    let client = OktaClient::new(config).expect("client");

    let err = client.list_groups(None).await.expect_err("429");

    assert!(
        matches!(err, OktaError::RateLimited { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("E0000047"), "{err}");
    fake.shutdown().await;
}

#[tokio::test]
async fn fingerprint_matches_fake_key_id() {
    // fake-okta names keys by their RFC 7638 thumbprint.
    for kind in [KeyKind::Rsa2048, KeyKind::EcP256, KeyKind::EcP384] {
        let creds = generate_credentials(kind, Some(1));
        let key = PrivateKey::parse(&creds.private_key_pem).expect("parse");
        assert_eq!(key.fingerprint(), creds.key_id, "{kind:?}");
    }
}

#[tokio::test]
async fn rsa_and_p384_keys_sign_in() {
    for kind in [KeyKind::Rsa2048, KeyKind::EcP384] {
        let fake = start(
            FakeOkta::builder()
                .generated(5, 1, 1)
                .with_generated_client_key(kind, &READ_SCOPES, Some(2)),
        )
        .await;
        let client = client(&fake);

        let info = client.fetch_token().await.expect("token");

        assert_eq!(info.token_type, "Bearer", "{kind:?}");
        fake.shutdown().await;
    }
}

async fn listing_error(config: ClientConfig) -> OktaError {
    let client = OktaClient::new(config).expect("client");
    match client.list_groups(None).await {
        Ok(groups) => panic!("expected an error, listed {} groups", groups.len()),
        Err(err) => err,
    }
}

#[tokio::test]
async fn unknown_client_id_is_named() {
    let fake = start(FakeOkta::builder().with_generated_client(&READ_SCOPES)).await;
    let mut creds = credentials(&fake).clone();
    creds.client_id = "0oaDoesNotExist12345".to_owned();

    let err = listing_error(client_config(&fake, &creds)).await;

    // Okta's generic invalid_client text cannot tell an unknown client from
    // a bad key, so the advice names the client id and every setting.
    let message = err.to_string();
    assert!(
        message.contains("client id `0oaDoesNotExist12345`"),
        "{message}"
    );
    assert!(message.contains("check `clientId`"), "{message}");
    fake.shutdown().await;
}

#[tokio::test]
async fn wrong_key_points_at_key_id() {
    let fake = start(FakeOkta::builder().with_generated_client(&READ_SCOPES)).await;
    let other = generate_credentials(KeyKind::EcP256, None);
    let mut creds = credentials(&fake).clone();
    creds.private_key_pem = other.private_key_pem;

    let err = listing_error(client_config(&fake, &creds)).await;

    assert!(
        err.to_string().contains(
            "check `keyId` and that the public key registered on the app matches `privateKey`"
        ),
        "{err}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn unknown_key_id_points_at_key_id() {
    let fake = start(FakeOkta::builder().with_generated_client(&READ_SCOPES)).await;
    let mut creds = credentials(&fake).clone();
    creds.key_id = "not-the-registered-kid".to_owned();

    let err = listing_error(client_config(&fake, &creds)).await;

    assert!(err.to_string().contains("check `keyId`"), "{err}");
    fake.shutdown().await;
}

#[tokio::test]
async fn ungranted_scope_points_at_scopes_tab() {
    let fake = start(FakeOkta::builder().with_generated_client(&["okta.users.read"])).await;

    let err = listing_error(client_config(&fake, credentials(&fake))).await;

    let message = err.to_string();
    assert!(message.contains("okta.groups.read"), "{message}");
    assert!(message.contains("Okta API Scopes tab"), "{message}");
    fake.shutdown().await;
}

#[tokio::test]
async fn dpop_app_says_uncheck_dpop() {
    let creds = generate_credentials(KeyKind::EcP256, None);
    let mut registration = creds.registration(&READ_SCOPES);
    registration.dpop_required = true;
    let fake = start(FakeOkta::builder().client(registration)).await;

    let err = listing_error(client_config(&fake, &creds)).await;

    assert!(
        err.to_string().contains(
            "uncheck 'Require Demonstrating Proof of Possession (DPoP) header in token requests'"
        ),
        "{err}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn missing_admin_role_is_explained() {
    let creds = generate_credentials(KeyKind::EcP256, None);
    let mut registration = creds.registration(&READ_SCOPES);
    registration.admin_scope = AdminScope::NoRole;
    let fake = start(FakeOkta::builder().client(registration)).await;

    let err = listing_error(client_config(&fake, &creds)).await;

    assert!(
        err.to_string()
            .contains("assign the Read-only Administrator role (or a custom role with a resource set) to the app under Admin roles"),
        "{err}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn token_without_scope_names_missing_scope() {
    let fake = start(FakeOkta::builder().with_generated_client(&READ_SCOPES)).await;
    let mut config = client_config(&fake, credentials(&fake));
    config.scopes = vec!["okta.users.read".to_owned()];

    let err = listing_error(config).await;

    assert!(
        matches!(&err, OktaError::InsufficientScope { scope: Some(scope), .. } if scope == "okta.groups.read"),
        "{err:?}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn invalid_search_names_expression() {
    let fake = start(
        FakeOkta::builder()
            .generated(5, 1, 1)
            .with_generated_client(&READ_SCOPES),
    )
    .await;
    let client = client(&fake);
    let search = "profile.department eq";

    let err = client.list_users(Some(search)).await.expect_err("400");

    let message = err.to_string();
    assert!(message.contains("E0000031"), "{message}");
    assert!(message.contains(search), "{message}");
    assert!(message.contains("fix `userSearchFilter`"), "{message}");
    fake.shutdown().await;
}

#[tokio::test]
async fn api_token_lists_users() {
    let creds = generate_credentials(KeyKind::EcP256, None);
    let mut registration = creds.registration(&READ_SCOPES);
    registration.api_tokens = vec!["00fakeApiTokenForOrgsyncTests".to_owned()];
    let fake = start(FakeOkta::builder().generated(30, 2, 5).client(registration)).await;
    let base_url = Url::parse(&fake.base_url).expect("URL");
    let config = ClientConfig::new(
        base_url,
        Credentials::ApiToken(ApiToken::new("00fakeApiTokenForOrgsyncTests")),
    );
    let client = OktaClient::new(config).expect("client");

    let users = client.list_users(None).await.expect("list users");

    assert_eq!(users.len(), active_user_count(&fake));
    assert_eq!(client.stats().token_requests, 0);
    fake.shutdown().await;
}

#[tokio::test]
async fn wrong_api_token_names_token_setting() {
    let fake = start(FakeOkta::builder().with_generated_client(&READ_SCOPES)).await;
    let base_url = Url::parse(&fake.base_url).expect("URL");
    let config = ClientConfig::new(
        base_url,
        Credentials::ApiToken(ApiToken::new("00revokedToken")),
    );

    let err = listing_error(config).await;

    assert!(matches!(err, OktaError::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("check `token`"), "{err}");
    fake.shutdown().await;
}

#[tokio::test]
async fn organization_is_served_without_credentials() {
    let fake = start(FakeOkta::builder().with_generated_client(&READ_SCOPES)).await;
    let client = client(&fake);

    let organization = client.organization().await.expect("organization");

    let org_id = fake.org_handle().read().org_id().to_owned();
    assert_eq!(organization["id"], org_id.as_str());
    assert_eq!(client.stats().token_requests, 0);
    fake.shutdown().await;
}

#[tokio::test]
async fn stats_count_calls_by_endpoint() {
    let fake = start(
        FakeOkta::builder()
            .generated(450, 3, 2)
            .with_generated_client(&READ_SCOPES),
    )
    .await;
    let client = client(&fake);

    client.list_users(None).await.expect("list users");

    let stats = client.stats();
    let pages = active_user_count(&fake).div_ceil(200) as u64;
    let expected: BTreeMap<String, u64> = [
        ("GET /api/v1/users".to_owned(), pages),
        ("POST /oauth2/v1/token".to_owned(), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(stats.calls_by_endpoint, expected);
    assert_eq!(stats.api_calls, pages + 1);
    assert_eq!(stats.calls_by_status.get(&200), Some(&(pages + 1)));
    fake.shutdown().await;
}

//! `OktaClient::get` and `OktaClient::list_groups_with_stats` against
//! fake-okta on a loopback port.

use std::time::{Duration, SystemTime};

use fake_okta::limits::RateLimitConfig;
use fake_okta::server::{FakeOkta, RunningFakeOkta};
use orgsync_okta::{
    ClientConfig, Credentials, Endpoint, OktaClient, OktaError, PrivateKey, TransportKind,
};
use url::Url;

const READ_SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

async fn start(users: usize, groups: usize) -> RunningFakeOkta {
    FakeOkta::builder()
        .generated(users, groups, 11)
        .with_generated_client(&READ_SCOPES)
        .rate_limits(RateLimitConfig::workforce())
        .start_on_loopback()
        .await
        .expect("start fake-okta")
}

fn client(fake: &RunningFakeOkta) -> OktaClient {
    client_at(fake, &fake.base_url)
}

fn client_at(fake: &RunningFakeOkta, base_url: &str) -> OktaClient {
    let creds = fake.credentials.as_ref().expect("generated credentials");
    let credentials = Credentials::PrivateKey {
        client_id: creds.client_id.clone(),
        key: PrivateKey::parse(&creds.private_key_pem).expect("parse generated key"),
        key_id: Some(creds.key_id.clone()),
    };
    let base_url = Url::parse(base_url).expect("base URL");
    let mut config = ClientConfig::new(base_url, credentials);
    config.request_timeout = Duration::from_secs(10);
    config.max_retries = 0;
    OktaClient::new(config).expect("client")
}

#[tokio::test]
async fn get_returns_first_page_and_headers() {
    let fake = start(30, 2).await;
    let client = client(&fake);

    let response = client
        .get(Endpoint::Users, &["api", "v1", "users"], &[("limit", "10")])
        .await
        .expect("users page");

    let users = response.body.as_array().map(Vec::len);
    assert_eq!(users, Some(10));
    let next = response.next_page.expect("next page");
    assert!(
        next.query_pairs().any(|(name, _)| name == "after"),
        "{next}"
    );
    let limit = response.rate_limit.expect("rate-limit headers");
    assert_eq!(limit.limit, 600);
    assert!(limit.remaining < 600, "{limit:?}");
    let date = response.server_date.expect("Date header");
    let skew = SystemTime::now()
        .duration_since(date)
        .unwrap_or_else(|err| err.duration());
    assert!(skew < Duration::from_secs(5), "{skew:?}");
    fake.shutdown().await;
}

#[tokio::test]
async fn get_reports_search_rejection() {
    let fake = start(5, 1).await;
    let client = client(&fake);
    let search = r#"profile.department co "Eng""#;

    let error = client
        .get(
            Endpoint::Users,
            &["api", "v1", "users"],
            &[("search", search), ("limit", "1")],
        )
        .await
        .expect_err("Okta rejects co on department");

    let text = error.to_string();
    assert!(text.contains("E0000031"), "{text}");
    assert!(text.contains(search), "{text}");
    fake.shutdown().await;
}

#[tokio::test]
async fn get_rejects_token_endpoint() {
    let fake = start(1, 0).await;
    let client = client(&fake);

    let error = client
        .get(Endpoint::Token, &["oauth2", "v1", "token"], &[])
        .await
        .expect_err("token endpoint is not for get");

    assert!(
        matches!(error, OktaError::UnsupportedEndpoint { .. }),
        "{error:?}"
    );
    assert_eq!(client.stats().api_calls, 0);
    fake.shutdown().await;
}

#[tokio::test]
async fn groups_come_with_member_counts() {
    let fake = start(60, 4).await;
    let client = client(&fake);

    let groups = client.list_groups_with_stats(None).await.expect("groups");

    let org = fake.org_handle();
    let org = org.read();
    assert_eq!(groups.len(), org.group_count());
    for group in &groups {
        let expected = org.member_count(&group.group.id).map(|count| count as u64);
        assert_eq!(group.users_count, expected, "{}", group.group.id);
    }
}

#[tokio::test]
async fn https_to_plain_http_is_tls_failure() {
    let fake = start(1, 0).await;
    let https = fake.base_url.replace("http://", "https://");
    let client = client_at(&fake, &https);

    let error = client
        .get(
            Endpoint::Organization,
            &[".well-known", "okta-organization"],
            &[],
        )
        .await
        .expect_err("the fake does not speak TLS");

    assert!(
        matches!(
            error,
            OktaError::Transport {
                kind: TransportKind::Tls,
                ..
            }
        ),
        "{error:?}"
    );
    fake.shutdown().await;
}

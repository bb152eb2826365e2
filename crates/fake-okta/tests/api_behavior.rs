//! What the API endpoints return for valid requests: selection rules,
//! rendering options, statistics and Okta's response headers.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{Harness, Reply};
use fake_okta::auth::SkewedClock;
use fake_okta::generate::{generate_org, org_from_fixture, GenerateOptions};
use fake_okta::limits::RateLimitConfig;
use fake_okta::other_server::OtherServer;
use fake_okta::server::FakeOkta;
use serde_json::{json, Value};

fn fixture_org() -> fake_okta::org::Org {
    let person = |id: &str, status: &str, login: &str, first: &str, last: &str| {
        json!({
            "id": id,
            "status": status,
            "profile": {"login": login, "firstName": first, "lastName": last},
        })
    };
    let fixture = json!({
        "users": [
            person("00u0000000000000ana1", "ACTIVE", "ana@a.example", "Ana", "Silva"),
            person("00u0000000000000ana2", "ACTIVE", "ana@b.example", "Anabel", "García"),
            person("00u0000000000000zoe1", "ACTIVE", "zoe@a.example", "Zoë", "Müller"),
            person("00u0000000000000gone", "DEPROVISIONED", "gone@a.example", "Ana", "Gone"),
            person("00u0000000000000stag", "STAGED", "new@a.example", "Nina", "New"),
        ],
        "groups": [
            {"id": "00g00000000000000ops", "profile": {"name": "Ops!", "description": "Ops"}},
            {"id": "00g0000000000000plat", "profile": {"name": "Platform"}},
            {"id": "00g000000000000plat2", "profile": {"name": "platform"}},
            {
                "id": "00g00000000000000ad1",
                "type": "APP_GROUP",
                "profile": {"name": "ad-admins"},
                "source": {"id": "0oa00000000000000ad1"},
            }
        ],
        "memberships": {
            "Ops!": ["ana@a.example", "gone@a.example"],
            "Platform": ["ana@a.example"]
        }
    });
    org_from_fixture(fixture, std::path::Path::new("inline")).expect("fixture loads")
}

fn first_names(reply: &Reply) -> Vec<String> {
    reply
        .body
        .as_array()
        .map(|users| {
            users
                .iter()
                .filter_map(|user| user["profile"]["firstName"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn plain_list_leaves_out_deprovisioned() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness.get("/api/v1/users").await;
    assert_eq!(reply.ids().len(), 4);
    assert!(!reply.ids().contains(&"00u0000000000000gone".to_owned()));
}

#[tokio::test]
async fn search_includes_deprovisioned() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness
        .get("/api/v1/users?search=profile.firstName%20sw%20%22ana%22")
        .await;
    let ids: BTreeSet<String> = reply.ids().into_iter().collect();
    let expected = [
        "00u0000000000000ana1",
        "00u0000000000000ana2",
        "00u0000000000000gone",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn filter_includes_deprovisioned() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness
        .get("/api/v1/users?filter=status%20eq%20%22DEPROVISIONED%22")
        .await;
    assert_eq!(reply.ids(), ["00u0000000000000gone"]);
}

#[tokio::test]
async fn filter_values_case_sensitive() {
    let harness = Harness::with_org(fixture_org()).await;
    let exact = harness
        .get("/api/v1/users?filter=profile.firstName%20eq%20%22Ana%22")
        .await;
    let folded = harness
        .get("/api/v1/users?filter=profile.firstName%20eq%20%22ana%22")
        .await;
    assert_eq!(exact.ids().len(), 2);
    assert!(folded.ids().is_empty());
}

#[tokio::test]
async fn query_matches_name_prefix() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness.get("/api/v1/users?q=an").await;
    let mut names = first_names(&reply);
    names.sort();
    assert_eq!(names, ["Ana", "Anabel"]);
}

#[tokio::test]
async fn query_matches_email_prefix() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness.get("/api/v1/users?q=ZOE%40").await;
    assert_eq!(reply.ids(), ["00u0000000000000zoe1"]);
}

#[tokio::test]
async fn user_found_by_login() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness.get("/api/v1/users/ana%40b.example").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["id"], "00u0000000000000ana2");
}

#[tokio::test]
async fn single_user_has_lifecycle_links() {
    let harness = Harness::with_org(fixture_org()).await;
    let staged = harness.get("/api/v1/users/00u0000000000000stag").await;
    let links: Vec<&String> = staged.body["_links"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(links, ["schema", "activate", "self", "type"]);
    let active = harness.get("/api/v1/users/00u0000000000000ana1").await;
    assert!(active.body["_links"]["deactivate"]["href"].is_string());
    assert_eq!(active.body["_links"]["deactivate"]["method"], "POST");
}

#[tokio::test]
async fn list_user_has_only_self_link() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness.get("/api/v1/users?limit=1").await;
    let user = &reply.body[0];
    let expected = format!("{}/api/v1/users/{}", harness.fake.base_url, reply.ids()[0]);
    assert_eq!(user["_links"], json!({"self": {"href": expected}}));
}

async fn get_with_content_type(harness: &Harness, path: &str, content_type: &str) -> Reply {
    let response = harness
        .http
        .get(harness.url(path))
        .bearer_auth(&harness.token)
        .header("content-type", content_type)
        .send()
        .await
        .expect("request sent");
    common::read(response).await
}

#[tokio::test]
async fn omit_credentials_honored() {
    let harness = Harness::with_org(fixture_org()).await;
    let content_type = "application/json; okta-response=omitCredentials,omitCredentialsLinks";
    let list = get_with_content_type(&harness, "/api/v1/users", content_type).await;
    let single =
        get_with_content_type(&harness, "/api/v1/users/00u0000000000000ana1", content_type).await;
    assert!(list
        .body
        .as_array()
        .is_some_and(|users| users.iter().all(|u| u.get("credentials").is_none())));
    assert!(single.body.get("credentials").is_none());
    assert!(single.body["_links"].get("changePassword").is_none());
    assert!(single.body["_links"].get("deactivate").is_some());
}

#[tokio::test]
async fn credentials_present_by_default() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness.get("/api/v1/users/00u0000000000000ana1").await;
    assert_eq!(
        reply.body["credentials"]["provider"],
        json!({"type": "OKTA", "name": "OKTA"})
    );
}

#[tokio::test]
async fn stats_count_members() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness.get("/api/v1/groups?expand=stats").await;
    let groups = reply.body.as_array().cloned().unwrap_or_default();
    let ops = groups
        .iter()
        .find(|group| group["id"] == "00g00000000000000ops")
        .cloned()
        .unwrap_or_default();
    let everyone = groups
        .iter()
        .find(|group| group["type"] == "BUILT_IN")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ops["_embedded"]["stats"]["usersCount"], 2);
    assert_eq!(everyone["_embedded"]["stats"]["usersCount"], 5);
    assert_eq!(ops["_embedded"]["stats"]["hasAdminPrivilege"], false);
}

#[tokio::test]
async fn groups_without_stats_have_no_embedded() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness.get("/api/v1/groups").await;
    assert!(reply
        .body
        .as_array()
        .is_some_and(|groups| groups.iter().all(|g| g.get("_embedded").is_none())));
}

#[tokio::test]
async fn case_twins_listed_separately() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness.get("/api/v1/groups?q=plat").await;
    let ids: BTreeSet<String> = reply.ids().into_iter().collect();
    assert_eq!(
        ids,
        ["00g0000000000000plat", "00g000000000000plat2"]
            .map(str::to_owned)
            .into()
    );
}

#[tokio::test]
async fn group_search_reads_source_id() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness
        .get("/api/v1/groups?search=source.id%20eq%20%220oa00000000000000ad1%22")
        .await;
    assert_eq!(reply.ids(), ["00g00000000000000ad1"]);
    let source = reply.body[0]["_links"]["source"]["href"]
        .as_str()
        .unwrap_or_default();
    assert!(
        source.ends_with("/api/v1/apps/0oa00000000000000ad1"),
        "{source}"
    );
}

#[tokio::test]
async fn group_filter_by_type() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness
        .get("/api/v1/groups?filter=type%20eq%20%22BUILT_IN%22")
        .await;
    assert_eq!(reply.body.as_array().map(Vec::len), Some(1));
    assert_eq!(reply.body[0]["profile"]["name"], "Everyone");
}

#[tokio::test]
async fn group_members_include_deprovisioned() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness
        .get("/api/v1/groups/00g00000000000000ops/users")
        .await;
    assert_eq!(
        reply.ids(),
        ["00u0000000000000ana1", "00u0000000000000gone"]
    );
}

#[tokio::test]
async fn user_groups_include_everyone() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness
        .get("/api/v1/users/00u0000000000000ana1/groups")
        .await;
    let names: Vec<Value> = reply
        .body
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .map(|g| g["profile"]["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, [json!("Everyone"), json!("Ops!"), json!("Platform")]);
    let base = &harness.fake.base_url;
    let expected =
        format!("<{base}/api/v1/users/00u0000000000000ana1/groups?limit=200>; rel=\"self\"");
    assert_eq!(reply.links(), [expected]);
}

#[tokio::test]
async fn org_metadata_names_base_url() {
    let harness = Harness::with_org(fixture_org()).await;
    let reply = harness
        .get_with_authorization("/.well-known/okta-organization", None)
        .await;
    let base = harness.fake.base_url.clone();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["pipeline"], "idx");
    assert_eq!(reply.body["_links"]["organization"]["href"], base);
    assert!(reply.body["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("00o") && id.len() == 20));
}

#[tokio::test]
async fn responses_carry_okta_headers() {
    let org = generate_org(&GenerateOptions::new(20, 3, 1));
    let harness =
        Harness::start_with_limits(FakeOkta::builder().org(org), RateLimitConfig::workforce())
            .await;
    for path in ["/api/v1/users", "/api/v1/users/00unknown00000000000"] {
        let reply = harness.get(path).await;
        for name in [
            "x-okta-request-id",
            "date",
            "x-rate-limit-limit",
            "x-rate-limit-remaining",
            "x-rate-limit-reset",
        ] {
            assert!(reply.headers.contains_key(name), "{path}: no {name}");
        }
        assert_eq!(reply.headers["content-type"], "application/json", "{path}");
    }
}

#[tokio::test]
async fn date_header_follows_org_clock() {
    let ahead = Duration::from_secs(600);
    let builder = FakeOkta::builder()
        .org(fixture_org())
        .clock(Arc::new(SkewedClock::ahead(ahead)));
    let harness = Harness::start(builder).await;
    let sent = SystemTime::now();

    let reply = harness
        .get_with_authorization("/.well-known/okta-organization", None)
        .await;

    let date = reply.headers["date"].to_str().expect("ASCII date");
    let date = chrono::DateTime::parse_from_rfc2822(date).expect("HTTP date");
    let date = SystemTime::from(date);
    let skew = date.duration_since(sent).expect("date after the request");
    assert!(skew >= ahead - Duration::from_secs(1), "{skew:?}");
    assert!(skew <= ahead + Duration::from_secs(5), "{skew:?}");
}

#[tokio::test]
async fn website_serves_no_org_metadata() {
    let builder = FakeOkta::builder().other_server(OtherServer::Website);
    let harness = Harness::start(builder).await;

    let reply = harness
        .get_with_authorization("/.well-known/okta-organization", None)
        .await;

    assert_eq!(reply.status, 404);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .is_ok_and(|kind| kind.starts_with("text/html")),
        "{:?}",
        reply.headers
    );
}

#[tokio::test]
async fn single_page_app_answers_api_with_html() {
    let builder = FakeOkta::builder().other_server(OtherServer::SinglePageApp);
    let harness = Harness::start(builder).await;

    let reply = harness.get("/api/v1/users").await;

    assert_eq!(reply.status, 200);
    assert!(!reply.headers.contains_key("x-okta-request-id"));
}

#[tokio::test]
async fn request_ids_differ() {
    let harness = Harness::with_org(fixture_org()).await;
    let first = harness.get("/api/v1/users").await;
    let second = harness.get("/api/v1/users").await;
    assert_ne!(
        first.headers["x-okta-request-id"],
        second.headers["x-okta-request-id"]
    );
}

#[tokio::test]
async fn token_endpoint_grants_api_access() {
    let harness = Harness::with_org(fixture_org()).await;
    let credentials = harness.fake.credentials.clone().expect("generated client");
    let token_url = harness.url("/oauth2/v1/token");
    let assertion = credentials
        .client_assertion(&token_url, std::time::SystemTime::now())
        .expect("assertion signed");
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "okta.users.read okta.groups.read"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let token: Value = harness
        .http
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .expect("token request sent")
        .json()
        .await
        .expect("token response is JSON");
    let access_token = token["access_token"].as_str().expect("access token");
    let reply = harness
        .get_with_authorization("/api/v1/groups", Some(&format!("Bearer {access_token}")))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.ids().len(), 5);
}

//! Error paths of the API endpoints: each asserts Okta's status and error
//! code, with summaries checked against Okta's published error catalogue.

mod common;

use std::collections::BTreeSet;

use common::{reference_dir, Harness, READ_SCOPES};
use fake_okta::auth::{generate_credentials, AdminScope, HiddenResponse, KeyKind};
use fake_okta::org::Org;
use fake_okta::server::FakeOkta;
use serde_json::{json, Value};

/// Returns the `errorSummary` of a code in Okta's error catalogue.
fn catalogue_summary(code: &str) -> String {
    let path = reference_dir().join("errors/error-codes.json");
    let text = std::fs::read_to_string(&path).expect("error catalogue readable");
    let catalogue: Value = serde_json::from_str(&text).expect("error catalogue is JSON");
    catalogue["errors"]
        .as_array()
        .and_then(|errors| errors.iter().find(|error| error["errorCode"] == code))
        .and_then(|error| error["errorSummary"].as_str())
        .map(str::to_owned)
        .expect("code in catalogue")
}

fn small_org() -> Org {
    fake_okta::generate::generate_org(&fake_okta::generate::GenerateOptions::new(40, 8, 21))
}

#[tokio::test]
async fn search_with_filter_is_e0000033() {
    let harness = Harness::with_org(small_org()).await;
    let reply = harness
        .get("/api/v1/users?search=status%20eq%20%22ACTIVE%22&filter=status%20eq%20%22ACTIVE%22")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errorCode"], "E0000033");
    assert_eq!(reply.body["errorSummary"], catalogue_summary("E0000033"));
}

#[tokio::test]
async fn invalid_search_is_e0000031() {
    let harness = Harness::with_org(small_org()).await;
    let reply = harness
        .get("/api/v1/users?search=profile.login%20equals%20%22x%22")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errorCode"], "E0000031");
    assert_eq!(reply.body["errorSummary"], catalogue_summary("E0000031"));
    let cause = reply.body["errorCauses"][0]["errorSummary"]
        .as_str()
        .unwrap_or_default();
    assert!(cause.contains("at character"), "cause: {cause}");
}

#[tokio::test]
async fn invalid_group_search_is_e0000031() {
    let harness = Harness::with_org(small_org()).await;
    let reply = harness
        .get("/api/v1/groups?search=profile.name%20eq%20'x'")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errorCode"], "E0000031");
}

#[tokio::test]
async fn unsupported_filter_is_e0000031() {
    let harness = Harness::with_org(small_org()).await;
    let reply = harness
        .get("/api/v1/users?filter=profile.department%20eq%20%22Sales%22")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errorCode"], "E0000031");
}

#[tokio::test]
async fn unknown_user_is_e0000007() {
    let harness = Harness::with_org(small_org()).await;
    let reply = harness.get("/api/v1/users/00unknown00000000000").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["errorCode"], "E0000007");
    assert_eq!(
        reply.body["errorSummary"],
        "Not found: Resource not found: 00unknown00000000000 (User)"
    );
    assert_eq!(reply.body["errorCauses"], json!([]));
}

#[tokio::test]
async fn unknown_group_is_e0000007() {
    let harness = Harness::with_org(small_org()).await;
    for path in [
        "/api/v1/groups/00gunknown0000000000",
        "/api/v1/groups/00gunknown0000000000/users",
    ] {
        let reply = harness.get(path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(
            reply.body["errorSummary"],
            "Not found: Resource not found: 00gunknown0000000000 (UserGroup)",
            "{path}"
        );
    }
}

#[tokio::test]
async fn unknown_user_groups_is_e0000007() {
    let harness = Harness::with_org(small_org()).await;
    let reply = harness
        .get("/api/v1/users/00unknown00000000000/groups")
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["errorCode"], "E0000007");
}

#[tokio::test]
async fn error_summary_template_matches_catalogue() {
    assert_eq!(catalogue_summary("E0000007"), "Not found: {0}");
}

#[tokio::test]
async fn invalid_token_is_401_e0000011() {
    let harness = Harness::with_org(small_org()).await;
    let reply = harness
        .get_with_authorization("/api/v1/users", Some("Bearer not-a-token"))
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["errorCode"], "E0000011");
    assert_eq!(reply.body["errorSummary"], catalogue_summary("E0000011"));
    assert!(reply.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn missing_credentials_rejected() {
    let harness = Harness::with_org(small_org()).await;
    let reply = harness.get_with_authorization("/api/v1/groups", None).await;
    assert!(
        reply.status == 401 || reply.status == 403,
        "status {}",
        reply.status
    );
    assert!(reply.body["errorCode"].is_string());
}

#[tokio::test]
async fn missing_scope_is_403_insufficient_scope() {
    let harness = Harness::with_org(small_org()).await;
    let token = harness
        .fake
        .access_token(&["okta.users.read"])
        .expect("token");
    let reply = harness
        .get_with_authorization("/api/v1/groups", Some(&format!("Bearer {token}")))
        .await;
    let challenge = reply
        .headers
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(reply.status, 403);
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"okta.groups.read\""),
        "{challenge}"
    );
}

/// Starts a fake, registers a client with `admin_scope` and returns the fake
/// with a token for that client.
async fn harness_with_role(admin_scope: AdminScope) -> (Harness, String) {
    let harness = Harness::with_org(small_org()).await;
    let credentials = generate_credentials(KeyKind::EcP256, Some(5));
    let mut client = credentials.registration(&READ_SCOPES);
    client.admin_scope = admin_scope;
    harness.fake.auth().upsert_client(client);
    let token = harness
        .fake
        .auth()
        .mint_access_token(&credentials.client_id, &READ_SCOPES)
        .expect("token");
    (harness, token)
}

fn api_paths(user_id: &str, group_id: &str) -> Vec<String> {
    vec![
        "/api/v1/users".to_owned(),
        format!("/api/v1/users/{user_id}"),
        format!("/api/v1/users/{user_id}/groups"),
        "/api/v1/groups".to_owned(),
        format!("/api/v1/groups/{group_id}"),
        format!("/api/v1/groups/{group_id}/users"),
    ]
}

fn some_ids(harness: &Harness) -> (String, String) {
    let org = harness.fake.org_handle();
    let org = org.read();
    let user = org
        .users_after(None)
        .next()
        .map(|user| user.id().to_owned());
    let group = org
        .groups_after(None)
        .find(|group| group.group_type() == "OKTA_GROUP")
        .map(|group| group.id().to_owned());
    (user.expect("a user"), group.expect("a group"))
}

#[tokio::test]
async fn no_role_is_e0000006_everywhere() {
    let (harness, token) = harness_with_role(AdminScope::NoRole).await;
    let (user_id, group_id) = some_ids(&harness);
    for path in api_paths(&user_id, &group_id) {
        let reply = harness
            .get_with_authorization(&path, Some(&format!("Bearer {token}")))
            .await;
        assert_eq!(reply.status, 403, "{path}");
        assert_eq!(reply.body["errorCode"], "E0000006", "{path}");
        assert_eq!(
            reply.body["errorSummary"],
            catalogue_summary("E0000006"),
            "{path}"
        );
    }
}

/// Returns the ids of one group the role covers, one member of it, and one group
/// and one user outside it.
fn scoped_ids(harness: &Harness) -> (String, String, String, String) {
    let org = harness.fake.org_handle();
    let org = org.read();
    let mut groups = org
        .groups_after(None)
        .filter(|group| group.group_type() == "OKTA_GROUP")
        .filter(|group| org.member_count(group.id()).unwrap_or(0) > 0);
    let allowed = groups
        .next()
        .map(|group| group.id().to_owned())
        .expect("a group");
    let other = groups
        .next()
        .map(|group| group.id().to_owned())
        .expect("another group");
    let member = org
        .members_after(&allowed, None)
        .and_then(|mut members| members.next().map(|user| user.id().to_owned()))
        .expect("a member");
    let allowed_set = BTreeSet::from([allowed.clone()]);
    let outsider = org
        .users_after(None)
        .find(|user| !org.is_member_of_any(&allowed_set, user.id()))
        .map(|user| user.id().to_owned())
        .expect("a user outside the group");
    (allowed, member, other, outsider)
}

async fn scoped_harness(hidden: HiddenResponse) -> (Harness, String, [String; 4]) {
    let harness = Harness::with_org(small_org()).await;
    let (allowed, member, other, outsider) = scoped_ids(&harness);
    let scope = AdminScope::Groups {
        group_ids: BTreeSet::from([allowed.clone()]),
        hidden,
        member_group_ids: None,
    };
    let credentials = generate_credentials(KeyKind::EcP256, Some(6));
    let mut client = credentials.registration(&READ_SCOPES);
    client.admin_scope = scope;
    harness.fake.auth().upsert_client(client);
    let token = harness
        .fake
        .auth()
        .mint_access_token(&credentials.client_id, &READ_SCOPES)
        .expect("token");
    (
        harness,
        format!("Bearer {token}"),
        [allowed, member, other, outsider],
    )
}

#[tokio::test]
async fn group_role_lists_only_its_groups() {
    let (harness, token, [allowed, ..]) = scoped_harness(HiddenResponse::Forbidden).await;
    let reply = harness
        .get_with_authorization("/api/v1/groups", Some(&token))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.ids(), [allowed]);
}

#[tokio::test]
async fn group_role_lists_only_members() {
    let (harness, token, [allowed, ..]) = scoped_harness(HiddenResponse::Forbidden).await;
    let reply = harness
        .get_with_authorization("/api/v1/users?limit=200", Some(&token))
        .await;
    let org = harness.fake.org_handle();
    let org = org.read();
    assert_eq!(reply.status, 200);
    assert!(!reply.ids().is_empty());
    assert!(reply.ids().iter().all(|id| org.is_member(&allowed, id)));
}

#[tokio::test]
async fn group_role_forbids_other_group() {
    let (harness, token, [_, _, other, outsider]) = scoped_harness(HiddenResponse::Forbidden).await;
    for path in [
        format!("/api/v1/groups/{other}"),
        format!("/api/v1/groups/{other}/users"),
        format!("/api/v1/users/{outsider}"),
    ] {
        let reply = harness.get_with_authorization(&path, Some(&token)).await;
        assert_eq!(reply.status, 403, "{path}");
        assert_eq!(reply.body["errorCode"], "E0000006", "{path}");
    }
}

#[tokio::test]
async fn group_role_can_hide_other_group() {
    let (harness, token, [_, _, other, _]) = scoped_harness(HiddenResponse::NotFound).await;
    let reply = harness
        .get_with_authorization(&format!("/api/v1/groups/{other}/users"), Some(&token))
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["errorCode"], "E0000007");
}

#[tokio::test]
async fn group_role_reads_own_group_members() {
    let (harness, token, [allowed, member, ..]) = scoped_harness(HiddenResponse::Forbidden).await;
    let reply = harness
        .get_with_authorization(&format!("/api/v1/groups/{allowed}/users"), Some(&token))
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.ids().contains(&member));
}

#[tokio::test]
async fn group_role_hides_everyone_in_user_groups() {
    let (harness, token, [allowed, member, ..]) = scoped_harness(HiddenResponse::Forbidden).await;
    let reply = harness
        .get_with_authorization(&format!("/api/v1/users/{member}/groups"), Some(&token))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.ids(), [allowed]);
}

#[tokio::test]
async fn unsupported_method_is_405_e0000022() {
    let harness = Harness::with_org(small_org()).await;
    let response = harness
        .http
        .delete(harness.url("/api/v1/users"))
        .bearer_auth(&harness.token)
        .send()
        .await
        .expect("request sent");
    let reply = common::read(response).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.body["errorCode"], "E0000022");
}

#[tokio::test]
async fn invalid_limit_is_e0000001() {
    let harness = Harness::with_org(small_org()).await;
    let reply = harness.get("/api/v1/users?limit=many").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errorCode"], "E0000001");
}

#[tokio::test]
async fn server_starts_without_clients() {
    let fake = FakeOkta::builder()
        .start_on_loopback()
        .await
        .expect("starts");
    let response = reqwest::get(format!("{}/.well-known/okta-organization", fake.base_url))
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    fake.shutdown().await;
}

#[tokio::test]
async fn member_groups_narrow_member_lists() {
    let harness = Harness::with_org(small_org()).await;
    let (allowed, _, other, _) = scoped_ids(&harness);
    let credentials = generate_credentials(KeyKind::EcP256, Some(7));
    let mut client = credentials.registration(&READ_SCOPES);
    client.admin_scope = AdminScope::Groups {
        group_ids: BTreeSet::from([allowed.clone(), other.clone()]),
        hidden: HiddenResponse::Forbidden,
        member_group_ids: Some(BTreeSet::from([allowed.clone()])),
    };
    harness.fake.auth().upsert_client(client);
    let token = harness
        .fake
        .auth()
        .mint_access_token(&credentials.client_id, &READ_SCOPES)
        .expect("token");
    let token = format!("Bearer {token}");

    let reply = harness
        .get_with_authorization(&format!("/api/v1/groups/{other}/users"), Some(&token))
        .await;

    let org = harness.fake.org_handle();
    let org = org.read();
    let all_members = org.member_count(&other).expect("group");
    assert_eq!(reply.status, 200);
    assert!(reply.ids().iter().all(|id| org.is_member(&allowed, id)));
    assert!(
        reply.ids().len() < all_members,
        "{} of {all_members} members listed",
        reply.ids().len()
    );
}

//! The `/_fake/` control API changes the running org, clients, limits and
//! faults, and reports request counts.

mod common;

use common::{Harness, READ_SCOPES};
use fake_okta::auth::{generate_credentials, KeyKind};
use fake_okta::server::FakeOkta;
use reqwest::Method;
use serde_json::{json, Value};

async fn harness() -> Harness {
    Harness::generated(30, 5, 41).await
}

#[tokio::test]
async fn added_user_listed() {
    let harness = harness().await;
    let body = json!({"profile": {"login": "new.person@a.example", "firstName": "New"}});
    let added = harness
        .control(Method::POST, "/_fake/users", Some(body))
        .await;
    let id = added.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(added.status, 201);
    assert_eq!(id.len(), 20);
    let reply = harness.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["profile"]["firstName"], "New");
}

#[tokio::test]
async fn duplicate_login_conflicts() {
    let harness = harness().await;
    let body = json!({"profile": {"login": "twin@a.example"}});
    harness
        .control(Method::POST, "/_fake/users", Some(body.clone()))
        .await;
    let second = harness
        .control(Method::POST, "/_fake/users", Some(body))
        .await;
    assert_eq!(second.status, 409);
    assert!(second.body["error"]
        .as_str()
        .is_some_and(|error| error.contains("twin@a.example")));
}

#[tokio::test]
async fn invalid_user_rejected() {
    let harness = harness().await;
    let reply = harness
        .control(Method::POST, "/_fake/users", Some(json!({"profile": {}})))
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.body["error"]
        .as_str()
        .is_some_and(|error| error.contains("profile.login")));
}

#[tokio::test]
async fn user_change_merges_profile() {
    let harness = harness().await;
    let body =
        json!({"id": "00u00000000000000abc", "profile": {"login": "p@a.example", "title": "Dev"}});
    harness
        .control(Method::PUT, "/_fake/users/00u00000000000000abc", Some(body))
        .await;
    let change = json!({"status": "SUSPENDED", "profile": {"title": "Lead"}});
    let changed = harness
        .control(
            Method::PUT,
            "/_fake/users/00u00000000000000abc",
            Some(change),
        )
        .await;
    assert_eq!(changed.status, 200);
    let reply = harness.get("/api/v1/users/00u00000000000000abc").await;
    assert_eq!(reply.body["status"], "SUSPENDED");
    assert_eq!(reply.body["profile"]["title"], "Lead");
    assert_eq!(reply.body["profile"]["login"], "p@a.example");
}

#[tokio::test]
async fn removed_user_not_found() {
    let harness = harness().await;
    let id = harness.get("/api/v1/users?limit=1").await.ids()[0].clone();
    let removed = harness
        .control(Method::DELETE, &format!("/_fake/users/{id}"), None)
        .await;
    assert_eq!(removed.status, 204);
    assert_eq!(
        harness.get(&format!("/api/v1/users/{id}")).await.status,
        404
    );
    let again = harness
        .control(Method::DELETE, &format!("/_fake/users/{id}"), None)
        .await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn group_and_membership_changes_visible() {
    let harness = harness().await;
    let group = json!({"profile": {"name": "R&D.", "parentGroup": "Engineering"}});
    let added = harness
        .control(Method::POST, "/_fake/groups", Some(group))
        .await;
    let group_id = added.body["id"].as_str().unwrap_or_default().to_owned();
    let user_id = harness.get("/api/v1/users?limit=1").await.ids()[0].clone();
    let member_path = format!("/_fake/groups/{group_id}/users/{user_id}");

    let joined = harness.control(Method::PUT, &member_path, None).await;
    assert_eq!(joined.status, 204);
    assert_eq!(
        harness
            .get(&format!("/api/v1/groups/{group_id}/users"))
            .await
            .ids(),
        std::slice::from_ref(&user_id)
    );

    let left = harness.control(Method::DELETE, &member_path, None).await;
    assert_eq!(left.status, 204);
    assert!(harness
        .get(&format!("/api/v1/groups/{group_id}/users"))
        .await
        .ids()
        .is_empty());

    let renamed = json!({"profile": {"description": "Research"}});
    harness
        .control(
            Method::PUT,
            &format!("/_fake/groups/{group_id}"),
            Some(renamed),
        )
        .await;
    let group = harness.get(&format!("/api/v1/groups/{group_id}")).await;
    assert_eq!(group.body["profile"]["description"], "Research");
    assert_eq!(group.body["profile"]["parentGroup"], "Engineering");

    let removed = harness
        .control(Method::DELETE, &format!("/_fake/groups/{group_id}"), None)
        .await;
    assert_eq!(removed.status, 204);
    assert_eq!(
        harness
            .get(&format!("/api/v1/groups/{group_id}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn everyone_membership_rejected() {
    let harness = harness().await;
    let everyone = harness
        .get("/api/v1/groups?filter=type%20eq%20%22BUILT_IN%22")
        .await
        .ids()[0]
        .clone();
    let user_id = harness.get("/api/v1/users?limit=1").await.ids()[0].clone();
    let reply = harness
        .control(
            Method::DELETE,
            &format!("/_fake/groups/{everyone}/users/{user_id}"),
            None,
        )
        .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn registered_client_gets_access() {
    let harness = harness().await;
    let credentials = generate_credentials(KeyKind::EcP256, Some(77));
    let registration =
        serde_json::to_value(credentials.registration(&READ_SCOPES)).expect("registration JSON");
    let path = format!("/_fake/clients/{}", credentials.client_id);
    let stored = harness
        .control(Method::PUT, &path, Some(registration))
        .await;
    assert_eq!(stored.status, 204);
    let token = harness
        .fake
        .auth()
        .mint_access_token(&credentials.client_id, &READ_SCOPES);
    assert!(token.is_some());

    let removed = harness.control(Method::DELETE, &path, None).await;
    assert_eq!(removed.status, 204);
    let reply = harness
        .get_with_authorization(
            "/api/v1/users",
            Some(&format!("Bearer {}", token.unwrap_or_default())),
        )
        .await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn invalid_client_rejected() {
    let harness = harness().await;
    let body = json!({"jwks": [{"kty": "RSA"}]});
    let reply = harness
        .control(Method::PUT, "/_fake/clients/0oabad", Some(body))
        .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn limits_changed_at_runtime() {
    let harness = harness().await;
    let mut limits =
        serde_json::to_value(fake_okta::limits::RateLimitConfig::workforce()).expect("limits JSON");
    limits["perMinute"]["users"] = json!(2);
    let stored = harness
        .control(Method::PUT, "/_fake/limits", Some(limits))
        .await;
    assert_eq!(stored.status, 204, "{:?}", stored.body);
    let statuses = [
        harness.get("/api/v1/users").await.status,
        harness.get("/api/v1/users").await.status,
        harness.get("/api/v1/users").await.status,
    ];
    assert_eq!(statuses.map(|status| status.as_u16()), [200, 200, 429]);
    let read = harness.control(Method::GET, "/_fake/limits", None).await;
    assert_eq!(read.body["perMinute"]["users"], 2);
}

#[tokio::test]
async fn faults_changed_at_runtime() {
    let harness = harness().await;
    let faults = json!({"errorRate": 1.0, "onlyPaths": ["/api/v1/groups"]});
    let stored = harness
        .control(Method::PUT, "/_fake/faults", Some(faults))
        .await;
    assert_eq!(stored.status, 204, "{:?}", stored.body);
    assert!(harness.get("/api/v1/groups").await.status.is_server_error());
    assert_eq!(harness.get("/api/v1/users").await.status, 200);
}

#[tokio::test]
async fn invalid_faults_rejected() {
    let harness = harness().await;
    let reply = harness
        .control(
            Method::PUT,
            "/_fake/faults",
            Some(json!({"errorRate": 2.0})),
        )
        .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn requests_counted_by_template_and_status() {
    let harness = harness().await;
    let user_id = harness.get("/api/v1/users?limit=1").await.ids()[0].clone();
    harness.get(&format!("/api/v1/users/{user_id}")).await;
    harness.get("/api/v1/users/00unknown00000000000").await;
    let counts = harness
        .control(Method::GET, "/_fake/requests", None)
        .await
        .body;
    assert_eq!(counts["endpoints"]["GET /api/v1/users"]["200"], 1);
    assert_eq!(counts["endpoints"]["GET /api/v1/users/{id}"]["200"], 1);
    assert_eq!(counts["endpoints"]["GET /api/v1/users/{id}"]["404"], 1);
    assert_eq!(counts["total"], 3);
    assert_eq!(
        harness
            .fake
            .request_counts()
            .count("GET /api/v1/users/{id}", 404),
        1
    );
}

#[tokio::test]
async fn rejected_requests_counted() {
    let harness = harness().await;
    harness
        .get_with_authorization("/api/v1/groups", Some("Bearer nope"))
        .await;
    let counts = harness.fake.request_counts();
    assert_eq!(counts.count("GET /api/v1/groups", 401), 1);
}

#[tokio::test]
async fn reset_zeroes_counts_and_reloads_org() {
    let harness = harness().await;
    let before: Value = harness.control(Method::GET, "/_fake/org", None).await.body;
    let id = harness.get("/api/v1/users?limit=1").await.ids()[0].clone();
    harness
        .control(Method::DELETE, &format!("/_fake/users/{id}"), None)
        .await;

    let reset = harness
        .control(
            Method::POST,
            "/_fake/reset",
            Some(json!({"reloadOrg": true})),
        )
        .await;
    assert_eq!(reset.status, 204);
    assert_eq!(harness.fake.request_counts().total, 0);
    let after: Value = harness.control(Method::GET, "/_fake/org", None).await.body;
    assert_eq!(after, before);
    assert_eq!(
        harness.get(&format!("/api/v1/users/{id}")).await.status,
        200
    );
}

#[tokio::test]
async fn reset_without_body_keeps_org() {
    let harness = harness().await;
    let id = harness.get("/api/v1/users?limit=1").await.ids()[0].clone();
    harness
        .control(Method::DELETE, &format!("/_fake/users/{id}"), None)
        .await;
    let reset = harness.control(Method::POST, "/_fake/reset", None).await;
    assert_eq!(reset.status, 204);
    assert_eq!(
        harness.get(&format!("/api/v1/users/{id}")).await.status,
        404
    );
}

#[tokio::test]
async fn control_api_not_rate_limited() {
    let limits = fake_okta::limits::RateLimitConfig::workforce().with_all_buckets(1);
    let harness = Harness::start_with_limits(FakeOkta::builder(), limits).await;
    for _ in 0..3 {
        let reply = harness.control(Method::GET, "/_fake/org", None).await;
        assert_eq!(reply.status, 200);
        assert!(!reply.headers.contains_key("x-rate-limit-limit"));
    }
}

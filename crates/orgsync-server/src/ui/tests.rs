//! The UI routes through the whole router, over a
//! [`MemoryCatalog`](crate::catalog::MemoryCatalog).

use axum::body::Body;
use axum::Router;
use chrono::{TimeZone, Utc};
use http::{header, HeaderMap, Request, StatusCode};
use orgsync_model::{Entity, EntityMetadata, Relation};
use orgsync_store::{ChangeSet, RunOutcome, RunSummary};
use serde_json::json;
use tower::ServiceExt;

use super::Viewer;
use crate::app::build_router;
use crate::auth::{AuthConfig, Token};
use crate::testing::memory_parts;

fn entity(kind: &str, name: &str, spec: serde_json::Value) -> Entity {
    Entity {
        api_version: "backstage.io/v1alpha1".to_string(),
        kind: kind.to_string(),
        metadata: EntityMetadata {
            name: name.to_string(),
            namespace: "default".to_string(),
            uid: Some(format!("uid-{name}")),
            etag: Some(format!("etag-{name}")),
            ..EntityMetadata::default()
        },
        spec,
        relations: Vec::new(),
    }
}

fn member_of(mut user: Entity, groups: &[&str]) -> Entity {
    user.relations = groups
        .iter()
        .map(|group| Relation {
            relation_type: "memberOf".to_string(),
            target_ref: format!("group:default/{group}"),
        })
        .collect();
    user
}

/// Two users in `platform`, one with no group; `engineering` is the parent
/// of `platform`, which is the parent of `sre`.
fn catalog() -> Vec<Entity> {
    vec![
        member_of(
            entity(
                "User",
                "ann",
                json!({"profile": {"displayName": "Ann Lee", "email": "ann@example.com"}, "memberOf": ["group:default/platform"]}),
            ),
            &["platform"],
        ),
        member_of(
            entity(
                "User",
                "bob",
                json!({"profile": {"displayName": "Bob <Builder>", "email": "bob@example.com"}, "memberOf": ["group:default/platform"]}),
            ),
            &["platform"],
        ),
        entity(
            "User",
            "cid",
            json!({"profile": {"email": "cid@example.org"}, "memberOf": []}),
        ),
        entity(
            "Group",
            "engineering",
            json!({"type": "department", "profile": {"displayName": "Engineering"}, "children": ["group:default/platform"], "members": []}),
        ),
        entity(
            "Group",
            "platform",
            json!({"type": "team", "profile": {"displayName": "Platform"}, "parent": "group:default/engineering", "children": ["group:default/sre"], "members": ["user:default/ann", "user:default/bob"]}),
        ),
        entity(
            "Group",
            "sre",
            json!({"type": "team", "parent": "group:default/platform", "children": [], "members": []}),
        ),
    ]
}

async fn router(auth: AuthConfig) -> Router {
    build_router(&memory_parts(catalog(), auth).await).0
}

fn read_protected() -> AuthConfig {
    AuthConfig {
        read_token: Token::new("reader"),
        admin_token: None,
    }
}

/// Sends a browser-like GET and returns the status, headers and body.
async fn get(
    router: &Router,
    uri: &str,
    viewer: Option<Viewer>,
    token: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::builder()
        .uri(uri)
        .header(header::ACCEPT, "text/html,application/xhtml+xml");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let mut request = request.body(Body::empty()).unwrap();
    if let Some(viewer) = viewer {
        request.extensions_mut().insert(viewer);
    }
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn admin() -> Viewer {
    Viewer::Admin {
        name: "ada".to_string(),
        csrf_token: "csrf".to_string(),
    }
}

#[tokio::test]
async fn overview_shows_catalog_totals() {
    let router = router(AuthConfig::default()).await;
    let (status, headers, body) = get(&router, "/", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(body.contains("<a href=\"/users\">3</a>"), "{body}");
    assert!(body.contains("<a href=\"/groups\">3</a>"), "{body}");
}

#[tokio::test]
async fn overview_without_providers_points_to_settings() {
    let router = router(AuthConfig::default()).await;
    let (_, _, body) = get(&router, "/", None, None).await;
    assert!(body.contains("No Okta provider is configured yet."));
    assert!(body.contains("href=\"/settings\""));
}

#[tokio::test]
async fn pages_carry_content_security_policy() {
    let router = router(AuthConfig::default()).await;
    let (_, headers, _) = get(&router, "/", None, None).await;
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.contains("default-src 'none'"));
    assert!(policy.contains("script-src 'self'"));
    assert!(!policy.contains("unsafe-inline"));
}

#[tokio::test]
async fn read_token_closes_pages_to_anonymous_viewers() {
    let router = router(read_protected()).await;
    let (status, _, body) = get(&router, "/", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Sign in to see the catalog"));
    assert!(body.contains("backend.auth.readToken"));
    assert!(!body.contains("href=\"/users\">3<"));
}

#[tokio::test]
async fn read_token_header_opens_pages() {
    let router = router(read_protected()).await;
    let (status, _, _) = get(&router, "/", None, Some("reader")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_token_keeps_pages_closed() {
    let router = router(read_protected()).await;
    let (status, _, _) = get(&router, "/", None, Some("guess")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signed_in_viewer_reads_closed_pages() {
    let router = router(read_protected()).await;
    let (status, _, body) = get(&router, "/", Some(admin()), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<strong>ada</strong>"));
}

#[tokio::test]
async fn unknown_page_is_html_for_browsers() {
    let router = router(AuthConfig::default()).await;
    let (status, headers, body) = get(&router, "/no/such/page", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(body.contains("orgsync has no page at /no/such/page."));
}

#[tokio::test]
async fn unknown_route_is_json_for_api_clients() {
    let router = router(AuthConfig::default()).await;
    let request = Request::builder()
        .uri("/no/such/page")
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn stylesheet_is_served() {
    let router = router(read_protected()).await;
    let (status, headers, body) = get(&router, super::assets::STYLESHEET_PATH, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(body.contains(".site-header"));
}

#[tokio::test]
async fn script_is_served() {
    let router = router(AuthConfig::default()).await;
    let (status, headers, body) = get(&router, super::assets::SCRIPT_PATH, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(body.contains("data-refresh"));
}

#[tokio::test]
async fn unknown_asset_is_not_found() {
    let router = router(AuthConfig::default()).await;
    let (status, _, _) = get(&router, "/ui/assets/0.1.0/other.js", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn users_list_shows_every_user() {
    let router = router(AuthConfig::default()).await;
    let (status, _, body) = get(&router, "/users", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("3 users."));
    assert!(body.contains("<a href=\"/users/ann\">ann</a>"));
    assert!(body.contains("<a href=\"/users/cid\">cid</a>"));
}

#[tokio::test]
async fn users_search_matches_email() {
    let router = router(AuthConfig::default()).await;
    let (_, _, body) = get(&router, "/users?q=EXAMPLE.ORG", None, None).await;
    assert!(body.contains("1 user match “EXAMPLE.ORG”."), "{body}");
    assert!(body.contains("/users/cid"));
    assert!(!body.contains("/users/ann"));
}

#[tokio::test]
async fn users_search_matches_display_name() {
    let router = router(AuthConfig::default()).await;
    let (_, _, body) = get(&router, "/users?q=lee", None, None).await;
    assert!(body.contains("/users/ann"));
    assert!(!body.contains("/users/bob"));
}

#[tokio::test]
async fn users_search_without_match_says_so() {
    let router = router(AuthConfig::default()).await;
    let (status, _, body) = get(&router, "/users?q=nobody", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("No users match “nobody”."));
}

#[tokio::test]
async fn users_list_filters_by_group() {
    let router = router(AuthConfig::default()).await;
    let (_, _, body) = get(&router, "/users?group=platform", None, None).await;
    assert!(body.contains("Members of platform"));
    assert!(body.contains("2 users."));
    assert!(!body.contains("/users/cid"));
}

#[tokio::test]
async fn users_list_escapes_display_names() {
    let router = router(AuthConfig::default()).await;
    let (_, _, body) = get(&router, "/users", None, None).await;
    assert!(body.contains("Bob &lt;Builder&gt;"));
    assert!(!body.contains("Bob <Builder>"));
}

#[tokio::test]
async fn page_zero_is_invalid() {
    let router = router(AuthConfig::default()).await;
    let (status, _, body) = get(&router, "/users?page=0", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Invalid page 0, expected 1 to 10000"));
}

#[tokio::test]
async fn page_past_the_end_says_so() {
    let router = router(AuthConfig::default()).await;
    let (status, _, body) = get(&router, "/users?page=3", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Page 3 is past the end: 3 users in all."));
}

#[tokio::test]
async fn groups_list_shows_parent_and_counts() {
    let router = router(AuthConfig::default()).await;
    let (_, _, body) = get(&router, "/groups?q=plat", None, None).await;
    assert!(body.contains("1 group match “plat”."), "{body}");
    assert!(body.contains("<a href=\"/groups/platform\">platform</a>"));
    assert!(body.contains("href=\"/groups/engineering\""));
}

#[tokio::test]
async fn user_page_lists_groups_and_yaml() {
    let router = router(AuthConfig::default()).await;
    let (status, _, body) = get(&router, "/users/ann", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>Ann Lee</h1>"));
    assert!(body.contains("<a href=\"/groups/platform\" title=\"platform\">Platform</a>"));
    assert!(body.contains("mailto:ann@example.com"));
    assert!(body.contains("kind: User"));
}

#[tokio::test]
async fn unknown_user_is_not_found() {
    let router = router(AuthConfig::default()).await;
    let (status, _, body) = get(&router, "/users/zed", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("No user named zed"));
}

#[tokio::test]
async fn group_page_draws_hierarchy() {
    let router = router(AuthConfig::default()).await;
    let (status, _, body) = get(&router, "/groups/platform", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let tree_start = body.find("<ul class=\"tree\"").expect("tree is drawn");
    let tree = &body[tree_start..];
    let ancestor = tree.find("href=\"/groups/engineering\"").unwrap();
    let current = tree.find("class=\"node current\"").unwrap();
    let child = tree.find("href=\"/groups/sre\"").unwrap();
    assert!(ancestor < current);
    assert!(current < child);
}

#[tokio::test]
async fn group_page_lists_members() {
    let router = router(AuthConfig::default()).await;
    let (_, _, body) = get(&router, "/groups/platform", None, None).await;
    assert!(body.contains("<a href=\"/users/ann\" title=\"ann\">ann</a>"));
    assert!(body.contains("<td>Ann Lee</td>"));
    assert!(body.contains("<a href=\"/users/bob\" title=\"bob\">bob</a>"));
}

#[tokio::test]
async fn runs_page_without_runs_says_so() {
    let router = router(AuthConfig::default()).await;
    let (status, _, body) = get(&router, "/runs", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("No provider has run yet."));
}

#[tokio::test]
async fn unknown_provider_runs_are_not_found() {
    let router = router(AuthConfig::default()).await;
    let (status, _, body) = get(&router, "/runs/nope", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("No provider named nope"));
}

#[tokio::test]
async fn catalog_pages_follow_read_access() {
    let router = router(read_protected()).await;
    for path in [
        "/users",
        "/groups",
        "/users/ann",
        "/groups/platform",
        "/runs",
    ] {
        let (status, _, body) = get(&router, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(body.contains("Sign in to see the catalog"), "{path}");
        let (status, _, _) = get(&router, path, Some(admin()), None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

/// Builds a router whose store has two finished runs of `prod`: one that
/// succeeded and one that failed.
async fn router_with_runs() -> Router {
    let parts = memory_parts(catalog(), AuthConfig::default()).await;
    let store = parts.scheduler.store();
    let started = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let run = store.start_run("prod", started).await.unwrap();
    let summary = RunSummary {
        users: 3,
        groups: 3,
        api_calls: 17,
        rate_limit_waits: 0,
    };
    store
        .finish_run(
            run,
            started + chrono::Duration::seconds(4),
            RunOutcome::Succeeded,
            Some(&ChangeSet::default()),
            &summary,
            None,
        )
        .await
        .unwrap();
    let started = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
    let run = store.start_run("prod", started).await.unwrap();
    store
        .finish_run(
            run,
            started + chrono::Duration::seconds(1),
            RunOutcome::Failed,
            None,
            &RunSummary::default(),
            Some("Okta returned HTTP 401 <invalid_client>"),
        )
        .await
        .unwrap();
    build_router(&parts).0
}

#[tokio::test]
async fn runs_page_lists_runs_of_every_provider() {
    let router = router_with_runs().await;
    let (_, _, body) = get(&router, "/runs", None, None).await;
    assert_eq!(body.matches("<a href=\"/runs/prod\">prod</a>").count(), 2);
    assert!(body.contains("Okta returned HTTP 401 &lt;invalid_client&gt;"));
}

#[tokio::test]
async fn provider_runs_page_draws_charts() {
    let router = router_with_runs().await;
    let (status, _, body) = get(&router, "/runs/prod", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.matches("<svg class=\"chart\"").count(), 3);
    // Both runs have a duration; only the successful one has counts.
    assert!(body.contains("<title>12-01 09:00: Duration 4.0 s</title>"));
    assert!(body.contains("<title>12-02 09:00: Duration 1.0 s</title>"));
    assert!(body.contains("<title>12-01 09:00: API calls 17</title>"));
    assert!(!body.contains("<title>12-02 09:00: API calls"));
    assert!(body.contains("This provider is no longer configured"));
}

//! The catalog routes, end to end through the router, over a
//! [`MemoryCatalog`](super::MemoryCatalog).

use axum::body::Body;
use axum::Router;
use http::{Request, StatusCode};
use orgsync_model::{Entity, EntityMetadata, Relation};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::testing::memory_parts;

fn user(name: &str, email: &str, groups: &[&str]) -> Entity {
    Entity {
        api_version: "backstage.io/v1alpha1".to_string(),
        kind: "User".to_string(),
        metadata: EntityMetadata {
            name: name.to_string(),
            namespace: "default".to_string(),
            uid: Some(format!("uid-{name}")),
            etag: Some(format!("etag-{name}")),
            ..EntityMetadata::default()
        },
        spec: json!({
            "profile": {"displayName": name.to_uppercase(), "email": email},
            "memberOf": groups,
        }),
        relations: groups
            .iter()
            .map(|group| Relation {
                relation_type: "memberOf".to_string(),
                target_ref: format!("group:default/{group}"),
            })
            .collect(),
    }
}

fn group(name: &str, group_type: &str) -> Entity {
    Entity {
        api_version: "backstage.io/v1alpha1".to_string(),
        kind: "Group".to_string(),
        metadata: EntityMetadata {
            name: name.to_string(),
            namespace: "default".to_string(),
            uid: Some(format!("uid-{name}")),
            etag: Some(format!("etag-{name}")),
            ..EntityMetadata::default()
        },
        spec: json!({"type": group_type, "children": []}),
        relations: Vec::new(),
    }
}

fn entities() -> Vec<Entity> {
    vec![
        user("ann", "ann@example.com", &["platform"]),
        user("bob", "Bob@Example.com", &["platform", "security"]),
        user("cid", "cid@example.com", &[]),
        user("dee", "dee@example.org", &["security"]),
        user("eve", "eve@example.org", &["platform"]),
        group("platform", "team"),
        group("security", "team"),
        group("engineering", "department"),
    ]
}

async fn app() -> Router {
    let parts = memory_parts(entities(), Default::default()).await;
    crate::app::build_router(&parts).0
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, http::HeaderMap, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, headers, body)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let (status, _, body) = send(app, request).await;
    (status, body)
}

fn names(body: &Value) -> Vec<String> {
    body.as_array()
        .or_else(|| body["items"].as_array())
        .unwrap()
        .iter()
        .map(|item| {
            item["metadata"]["name"]
                .as_str()
                .unwrap_or("null")
                .to_string()
        })
        .collect()
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn by_query_pages_through_every_user() {
    let app = app().await;
    let (_, first) = get(
        &app,
        "/api/catalog/entities/by-query?filter=kind=user&limit=2",
    )
    .await;
    assert_eq!(first["totalItems"], 5);

    let mut seen = names(&first);
    let mut cursor = first["pageInfo"]["nextCursor"].as_str().map(str::to_string);
    while let Some(next) = cursor {
        let (status, page) = get(
            &app,
            &format!("/api/catalog/entities/by-query?cursor={next}&limit=2"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["totalItems"], 5);
        seen.extend(names(&page));
        cursor = page["pageInfo"]["nextCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, vec!["ann", "bob", "cid", "dee", "eve"]);
}

#[tokio::test]
async fn by_query_first_page_has_no_prev_cursor() {
    let app = app().await;
    let (_, first) = get(
        &app,
        "/api/catalog/entities/by-query?filter=kind=user&limit=2",
    )
    .await;
    assert!(first["pageInfo"].get("prevCursor").is_none());
}

#[tokio::test]
async fn by_query_prev_cursor_returns_previous_page() {
    let app = app().await;
    let (_, first) = get(
        &app,
        "/api/catalog/entities/by-query?filter=kind=user&limit=2",
    )
    .await;
    let next = first["pageInfo"]["nextCursor"].as_str().unwrap();
    let (_, second) = get(
        &app,
        &format!("/api/catalog/entities/by-query?cursor={next}&limit=2"),
    )
    .await;
    let prev = second["pageInfo"]["prevCursor"].as_str().unwrap();
    let (_, back) = get(
        &app,
        &format!("/api/catalog/entities/by-query?cursor={prev}&limit=2"),
    )
    .await;
    assert_eq!(names(&back), vec!["ann", "bob"]);
    assert!(back["pageInfo"].get("prevCursor").is_none());
    assert!(back["pageInfo"]["nextCursor"].is_string());
}

#[tokio::test]
async fn by_query_last_page_has_no_next_cursor() {
    let app = app().await;
    let (_, page) = get(
        &app,
        "/api/catalog/entities/by-query?filter=kind=group&limit=3",
    )
    .await;
    assert_eq!(names(&page).len(), 3);
    assert!(page["pageInfo"].get("nextCursor").is_none());
}

#[tokio::test]
async fn by_query_orders_descending() {
    let app = app().await;
    let uri =
        "/api/catalog/entities/by-query?filter=kind=user&orderField=metadata.name,desc&limit=3";
    let (_, page) = get(&app, uri).await;
    assert_eq!(names(&page), vec!["eve", "dee", "cid"]);
}

#[tokio::test]
async fn by_query_repeated_filters_are_alternatives() {
    let app = app().await;
    let uri = "/api/catalog/entities/by-query?filter=kind=group,spec.type=department&filter=metadata.name=ann";
    let (_, page) = get(&app, uri).await;
    assert_eq!(names(&page), vec!["engineering", "ann"]);
}

#[tokio::test]
async fn by_query_filters_on_relations_case_insensitively() {
    let app = app().await;
    let filter = encode("kind=User,relations.memberOf=Group:default/SECURITY");
    let (_, page) = get(
        &app,
        &format!("/api/catalog/entities/by-query?filter={filter}"),
    )
    .await;
    assert_eq!(names(&page), vec!["bob", "dee"]);
}

#[tokio::test]
async fn by_query_full_text_searches_named_fields() {
    let app = app().await;
    let uri = "/api/catalog/entities/by-query?fullTextFilterTerm=EXAMPLE.ORG&fullTextFilterFields=spec.profile.email";
    let (_, page) = get(&app, uri).await;
    assert_eq!(names(&page), vec!["dee", "eve"]);
}

#[tokio::test]
async fn by_query_projects_fields() {
    let app = app().await;
    let uri = "/api/catalog/entities/by-query?filter=metadata.name=ann&fields=kind,metadata.name";
    let (_, page) = get(&app, uri).await;
    assert_eq!(
        page["items"][0],
        json!({"kind": "User", "metadata": {"name": "ann"}})
    );
}

#[tokio::test]
async fn by_query_cursor_keeps_fields_of_request() {
    let app = app().await;
    let (_, first) = get(
        &app,
        "/api/catalog/entities/by-query?filter=kind=user&limit=1",
    )
    .await;
    let next = first["pageInfo"]["nextCursor"].as_str().unwrap();
    let (_, page) = get(
        &app,
        &format!("/api/catalog/entities/by-query?cursor={next}&fields=metadata.name"),
    )
    .await;
    assert_eq!(page["items"][0], json!({"metadata": {"name": "bob"}}));
}

#[tokio::test]
async fn by_query_limit_zero_counts_only() {
    let app = app().await;
    let (_, page) = get(
        &app,
        "/api/catalog/entities/by-query?filter=kind=group&limit=0",
    )
    .await;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["totalItems"], 3);
}

#[tokio::test]
async fn malformed_cursor_is_input_error() {
    let app = app().await;
    let (status, body) = get(&app, "/api/catalog/entities/by-query?cursor=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["name"], "InputError");
}

#[tokio::test]
async fn by_name_finds_entity_case_insensitively() {
    let app = app().await;
    let (status, body) = get(&app, "/api/catalog/entities/by-name/user/default/ANN").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["metadata"]["uid"], "uid-ann");
    assert_eq!(body["relations"][0]["targetRef"], "group:default/platform");
}

#[tokio::test]
async fn by_name_missing_is_backstage_not_found() {
    let app = app().await;
    let (status, body) = get(&app, "/api/catalog/entities/by-name/user/default/zed").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["name"], "NotFoundError");
    assert_eq!(
        body["error"]["message"],
        "No entity named 'zed' found, with kind 'user' in namespace 'default'"
    );
    assert_eq!(body["response"]["statusCode"], 404);
}

#[tokio::test]
async fn by_uid_finds_entity() {
    let app = app().await;
    let (_, body) = get(&app, "/api/catalog/entities/by-uid/uid-platform").await;
    assert_eq!(body["metadata"]["name"], "platform");
}

#[tokio::test]
async fn by_uid_missing_is_not_found() {
    let app = app().await;
    let (status, _) = get(&app, "/api/catalog/entities/by-uid/none").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn post_refs(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, body) = send(app, request).await;
    (status, body)
}

#[tokio::test]
async fn by_refs_keeps_request_order_with_nulls() {
    let app = app().await;
    let refs = json!({"entityRefs": ["group:default/security", "user:default/nobody", "User:default/Ann"]});
    let (_, body) = post_refs(&app, "/api/catalog/entities/by-refs", refs).await;
    assert_eq!(names(&body), vec!["security", "null", "ann"]);
    assert!(body["items"][1].is_null());
}

#[tokio::test]
async fn by_refs_applies_fields_and_filter() {
    let app = app().await;
    let refs = json!({"entityRefs": ["user:default/ann", "group:default/platform"], "fields": ["metadata.name"]});
    let (_, body) = post_refs(
        &app,
        "/api/catalog/entities/by-refs?filter=kind=group",
        refs,
    )
    .await;
    assert_eq!(
        body["items"],
        json!([null, {"metadata": {"name": "platform"}}])
    );
}

#[tokio::test]
async fn by_refs_rejects_bad_body() {
    let app = app().await;
    let (status, body) =
        post_refs(&app, "/api/catalog/entities/by-refs", json!({"refs": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["name"], "InputError");
}

#[tokio::test]
async fn facets_count_values_as_written() {
    let app = app().await;
    let (_, body) = get(
        &app,
        "/api/catalog/entity-facets?facet=kind&facet=spec.type",
    )
    .await;
    assert_eq!(
        body["facets"]["kind"],
        json!([{"value": "Group", "count": 3}, {"value": "User", "count": 5}])
    );
    assert_eq!(
        body["facets"]["spec.type"],
        json!([{"value": "department", "count": 1}, {"value": "team", "count": 2}])
    );
}

#[tokio::test]
async fn facets_respect_filter() {
    let app = app().await;
    let uri = "/api/catalog/entity-facets?facet=relations.memberOf&filter=kind=user";
    let (_, body) = get(&app, uri).await;
    assert_eq!(
        body["facets"]["relations.memberOf"],
        json!([
            {"value": "group:default/platform", "count": 3},
            {"value": "group:default/security", "count": 2}
        ])
    );
}

#[tokio::test]
async fn legacy_list_links_next_page() {
    let app = app().await;
    let request = Request::builder()
        .uri("/api/catalog/entities?filter=kind=user&limit=3")
        .body(Body::empty())
        .unwrap();
    let (_, headers, body) = send(&app, request).await;
    assert_eq!(names(&body), vec!["ann", "bob", "cid"]);

    let link = headers.get("link").unwrap().to_str().unwrap();
    let target = link.trim_start_matches('<').split('>').next().unwrap();
    let (_, next) = get(&app, target).await;
    assert_eq!(names(&next), vec!["dee", "eve"]);
}

#[tokio::test]
async fn legacy_list_without_limit_returns_all() {
    let app = app().await;
    let request = Request::builder()
        .uri("/api/catalog/entities")
        .body(Body::empty())
        .unwrap();
    let (_, headers, body) = send(&app, request).await;
    assert_eq!(names(&body).len(), 8);
    assert!(headers.get("link").is_none());
}

#[tokio::test]
async fn unknown_route_gets_backstage_body() {
    let app = app().await;
    let (status, body) = get(&app, "/api/catalog/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["request"]["url"], "/api/catalog/nothing-here");
}

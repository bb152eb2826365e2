//! The client against small loopback servers that send Okta's headers:
//! paging links, rate-limit headers, 429 and 5xx responses, broken bodies
//! and Okta's error bodies.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::stream::{self, StreamExt};
use orgsync_model::okta::OktaUser;
use orgsync_okta::{ClientObserver, Endpoint, OktaClient, OktaError, TransportKind};
use serde_json::{json, Value};
use url::Url;

use common::*;

/// Requests seen by a handler: path with query, and headers.
#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<(String, HeaderMap)>>,
}

impl Seen {
    fn record(&self, path_and_query: String, headers: &HeaderMap) {
        self.requests
            .lock()
            .expect("lock")
            .push((path_and_query, headers.clone()));
    }

    fn count(&self) -> usize {
        self.requests.lock().expect("lock").len()
    }

    fn header(&self, index: usize, name: header::HeaderName) -> Option<String> {
        let requests = self.requests.lock().expect("lock");
        let value = requests.get(index)?.1.get(name)?;
        value.to_str().ok().map(str::to_owned)
    }

    fn path(&self, index: usize) -> Option<String> {
        self.requests
            .lock()
            .expect("lock")
            .get(index)
            .map(|(path, _)| path.clone())
    }
}

/// A handler that serves `records` in pages of the requested `limit`,
/// with Okta's `Link` headers; `joined` puts both links in one header.
fn paged(
    base: &Url,
    path: &'static str,
    records: Vec<Value>,
    seen: Arc<Seen>,
    joined: bool,
) -> axum::routing::MethodRouter {
    let base = base.clone();
    let records = Arc::new(records);
    get(
        move |Query(query): Query<HashMap<String, String>>, headers: HeaderMap| async move {
            let limit: usize = query
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(200);
            let start: usize = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
            let mut path_and_query = format!("{path}?limit={limit}");
            if let Some(after) = query.get("after") {
                path_and_query.push_str(&format!("&after={after}"));
            }
            if let Some(search) = query.get("search") {
                path_and_query.push_str(&format!("&search={search}"));
            }
            seen.record(path_and_query, &headers);

            let end = (start + limit).min(records.len());
            let page: Vec<Value> = records[start.min(end)..end].to_vec();
            let self_link = format!(
                "<{}{}?limit={limit}>; rel=\"self\"",
                base.as_str().trim_end_matches('/'),
                path
            );
            let next_link = (end < records.len()).then(|| {
                format!(
                    "<{}{}?after={end}&limit={limit}>; rel=\"next\"",
                    base.as_str().trim_end_matches('/'),
                    path
                )
            });
            let mut response_headers = rate_limit_headers(600, 599, epoch_seconds() + 60);
            match (next_link, joined) {
                (Some(next), true) => {
                    let value = format!("{self_link}, {next}");
                    response_headers
                        .append(header::LINK, HeaderValue::from_str(&value).expect("link"));
                }
                (Some(next), false) => {
                    response_headers.append(
                        header::LINK,
                        HeaderValue::from_str(&self_link).expect("link"),
                    );
                    response_headers
                        .append(header::LINK, HeaderValue::from_str(&next).expect("link"));
                }
                (None, _) => {
                    response_headers.append(
                        header::LINK,
                        HeaderValue::from_str(&self_link).expect("link"),
                    );
                }
            }
            (response_headers, Json(page))
        },
    )
}

fn ids(records: &[OktaUser]) -> Vec<String> {
    records.iter().map(|user| user.id.clone()).collect()
}

#[tokio::test]
async fn users_pages_follow_links() {
    let key = test_key();
    let seen = Arc::new(Seen::default());
    let records = users("00u", 450);
    let expected: Vec<String> = records
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let tokens = Arc::new(Mutex::new(None));
    let server = serve(|base| {
        let endpoint = TokenEndpoint::new(&key, base, Vec::new());
        *tokens.lock().expect("lock") = Some(Arc::clone(&endpoint));
        endpoint.router().route(
            "/api/v1/users",
            paged(base, "/api/v1/users", records, Arc::clone(&seen), false),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let listed = client.list_users(None).await.expect("list users");

    assert_eq!(ids(&listed), expected);
    assert_eq!(seen.count(), 3, "ceil(450 / 200) pages");
    let stats = client.stats();
    assert_eq!(stats.calls_by_endpoint.get("GET /api/v1/users"), Some(&3));
    assert_eq!(stats.token_requests, 1);
    let endpoint = tokens
        .lock()
        .expect("lock")
        .clone()
        .expect("token endpoint");
    assert!(endpoint.problems.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn users_request_limit_and_omit_credentials() {
    let key = test_key();
    let seen = Arc::new(Seen::default());
    let server = serve(|base| {
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/users",
            paged(
                base,
                "/api/v1/users",
                users("00u", 3),
                Arc::clone(&seen),
                false,
            ),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    client
        .list_users(Some("status eq \"ACTIVE\""))
        .await
        .expect("list users");

    assert_eq!(
        seen.path(0).as_deref(),
        Some("/api/v1/users?limit=200&search=status eq \"ACTIVE\"")
    );
    assert_eq!(
        seen.header(0, header::CONTENT_TYPE).as_deref(),
        Some("application/json; okta-response=omitCredentials,omitCredentialsLinks")
    );
    assert_eq!(
        seen.header(0, header::AUTHORIZATION).as_deref(),
        Some("Bearer access-token-1")
    );
}

#[tokio::test]
async fn groups_use_largest_page() {
    let key = test_key();
    let seen = Arc::new(Seen::default());
    let groups: Vec<Value> = (0..5)
        .map(|i| json!({"id": format!("00g{i}"), "type": "OKTA_GROUP", "profile": {"name": format!("g{i}")}}))
        .collect();
    let server = serve(|base| {
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/groups",
            paged(base, "/api/v1/groups", groups, Arc::clone(&seen), true),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let listed = client.list_groups(None).await.expect("list groups");

    assert_eq!(listed.len(), 5);
    assert_eq!(seen.path(0).as_deref(), Some("/api/v1/groups?limit=10000"));
}

#[tokio::test]
async fn member_ids_follow_links() {
    let key = test_key();
    let seen = Arc::new(Seen::default());
    let records = users("00u", 2500);
    let expected: Vec<String> = records
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let server = serve(|base| {
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/groups/{id}/users",
            paged(
                base,
                "/api/v1/groups/00gA/users",
                records,
                Arc::clone(&seen),
                false,
            ),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let ids = client
        .list_group_member_ids("00gA")
        .await
        .expect("list member ids");

    assert_eq!(ids, expected);
    assert_eq!(seen.count(), 3, "ceil(2500 / 1000) pages");
    assert_eq!(
        seen.path(0).as_deref(),
        Some("/api/v1/groups/00gA/users?limit=1000")
    );
}

#[tokio::test]
async fn joined_link_header_is_followed() {
    let key = test_key();
    let seen = Arc::new(Seen::default());
    let server = serve(|base| {
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/groups/{id}/users",
            paged(
                base,
                "/api/v1/groups/00gA/users",
                users("00u", 2500),
                Arc::clone(&seen),
                true,
            ),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let members = client
        .list_group_members("00gA")
        .await
        .expect("list members");

    assert_eq!(members.len(), 2500);
    assert_eq!(seen.count(), 3, "ceil(2500 / 1000) pages");
    assert_eq!(
        seen.path(0).as_deref(),
        Some("/api/v1/groups/00gA/users?limit=1000")
    );
}

#[tokio::test]
async fn next_link_to_other_origin_is_rejected() {
    let key = test_key();
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&elsewhere_hits);
    let elsewhere = serve(move |_| {
        Router::new().fallback(move || {
            hits.fetch_add(1, Ordering::SeqCst);
            async { Json(json!([])) }
        })
    })
    .await;
    let foreign = elsewhere
        .base_url
        .join("api/v1/users?after=x")
        .expect("URL");
    let server = serve(|base| {
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/users",
            get(move || async move {
                let link = format!("<{foreign}>; rel=\"next\"");
                ([(header::LINK, link)], Json(json!([user("00u1")])))
            }),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let result = client.list_users(None).await;

    assert!(
        matches!(result, Err(OktaError::ForeignNextLink { .. })),
        "{result:?}"
    );
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn looping_next_link_fails() {
    let key = test_key();
    let server = serve(|base| {
        let again = base.join("api/v1/users?after=same").expect("URL");
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/users",
            get(move || async move {
                let link = format!("<{again}>; rel=\"next\"");
                ([(header::LINK, link)], Json(json!([user("00u1")])))
            }),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let result = client.list_users(None).await;

    assert!(
        matches!(result, Err(OktaError::PagingLoop { pages: 2, .. })),
        "{result:?}"
    );
}

/// Builds a users endpoint that returns `failures` in order, then one user.
fn scripted(failures: Vec<Response>) -> axum::routing::MethodRouter {
    let failures = Arc::new(Mutex::new(failures));
    get(move || {
        let failures = Arc::clone(&failures);
        async move {
            let next = {
                let mut failures = failures.lock().expect("lock");
                (!failures.is_empty()).then(|| failures.remove(0))
            };
            next.unwrap_or_else(|| Json(json!([user("00uOk")])).into_response())
        }
    })
}

#[tokio::test]
async fn server_errors_are_retried() {
    let server = serve(|_| {
        Router::new().route(
            "/api/v1/users",
            scripted(vec![
                StatusCode::SERVICE_UNAVAILABLE.into_response(),
                okta_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "E0000009",
                    "Internal Server Error",
                    &[],
                ),
            ]),
        )
    })
    .await;
    let client = OktaClient::new(api_token_config(&server.base_url)).expect("client");

    let listed = client.list_users(None).await.expect("list after retries");

    assert_eq!(listed.len(), 1);
    let stats = client.stats();
    assert_eq!(stats.retries, 2);
    assert_eq!(stats.calls_by_status.get(&503), Some(&1));
    assert_eq!(stats.calls_by_status.get(&500), Some(&1));
}

#[tokio::test]
async fn exhausted_retries_report_server_error() {
    let server =
        serve(|_| Router::new().route("/api/v1/users", get(|| async { StatusCode::BAD_GATEWAY })))
            .await;
    let mut config = api_token_config(&server.base_url);
    config.max_retries = 2;
    let client = OktaClient::new(config).expect("client");

    let result = client.list_users(None).await;

    assert!(
        matches!(
            result,
            Err(OktaError::ServerError {
                status: 502,
                attempts: 3,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = serve(|_| {
        Router::new().route(
            "/api/v1/users",
            get(|| async {
                okta_error(
                    StatusCode::NOT_FOUND,
                    "E0000007",
                    "Not found: Resource not found: x (User)",
                    &[],
                )
            }),
        )
    })
    .await;
    let client = OktaClient::new(api_token_config(&server.base_url)).expect("client");

    let result = client.list_users(None).await;

    assert!(
        matches!(result, Err(OktaError::Api { status: 404, .. })),
        "{result:?}"
    );
    assert_eq!(client.stats().api_calls, 1);
}

#[tokio::test]
async fn rate_limited_request_waits_for_reset() {
    let reset = epoch_seconds() + 1;
    let retried_at = Arc::new(Mutex::new(None));
    let record = Arc::clone(&retried_at);
    let calls = Arc::new(AtomicUsize::new(0));
    let server = serve(move |_| {
        Router::new().route(
            "/api/v1/users",
            get(move || {
                let calls = Arc::clone(&calls);
                let record = Arc::clone(&record);
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        let mut response = okta_error(
                            StatusCode::TOO_MANY_REQUESTS,
                            "E0000047",
                            &error_summary("E0000047"),
                            &[],
                        );
                        response
                            .headers_mut()
                            .extend(rate_limit_headers(600, 0, reset));
                        return response;
                    }
                    *record.lock().expect("lock") = Some(epoch_seconds());
                    Json(json!([user("00u1")])).into_response()
                }
            }),
        )
    })
    .await;
    let client = OktaClient::new(api_token_config(&server.base_url)).expect("client");

    client.list_users(None).await.expect("list after 429");

    let retried = retried_at.lock().expect("lock").expect("retry arrived");
    assert!(
        retried >= reset,
        "retried at {retried}, before the reset at {reset}"
    );
    assert_eq!(client.stats().rate_limit_waits, 1);
}

#[tokio::test]
async fn rate_limit_exhaustion_reports_e0000047() {
    let server = serve(|_| {
        Router::new().route(
            "/api/v1/groups",
            get(|| async {
                let mut response = okta_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "E0000047",
                    &error_summary("E0000047"),
                    &[],
                );
                response
                    .headers_mut()
                    .extend(rate_limit_headers(500, 0, epoch_seconds()));
                response
            }),
        )
    })
    .await;
    let mut config = api_token_config(&server.base_url);
    config.max_retries = 1;
    let client = OktaClient::new(config).expect("client");

    let result = client.list_groups(None).await;

    let Err(err) = result else {
        panic!("expected an error");
    };
    assert!(
        matches!(err, OktaError::RateLimited { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("E0000047"), "{err}");
}

#[tokio::test]
async fn truncated_body_is_retried() {
    let body = json!([user("00u1"), user("00u2")]).to_string();
    let (base, connections, handle) = raw_server(vec![
        RawReply::Truncated(body.clone()),
        RawReply::Full(body),
    ])
    .await;
    let client = OktaClient::new(api_token_config(&base)).expect("client");

    let listed = client.list_users(None).await.expect("list after retry");

    assert_eq!(listed.len(), 2);
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    assert_eq!(client.stats().transport_errors, 1);
    handle.abort();
}

#[tokio::test]
async fn dropped_connection_is_retried() {
    let body = json!([user("00u1")]).to_string();
    let (base, connections, handle) =
        raw_server(vec![RawReply::Drop, RawReply::Drop, RawReply::Full(body)]).await;
    let client = OktaClient::new(api_token_config(&base)).expect("client");

    let listed = client.list_users(None).await.expect("list after retries");

    assert_eq!(listed.len(), 1);
    assert_eq!(connections.load(Ordering::SeqCst), 3);
    handle.abort();
}

#[tokio::test]
async fn truncated_every_time_reports_body_error() {
    let body = json!([user("00u1"), user("00u2")]).to_string();
    let (base, _, handle) = raw_server(vec![RawReply::Truncated(body)]).await;
    let mut config = api_token_config(&base);
    config.max_retries = 1;
    let client = OktaClient::new(config).expect("client");

    let result = client.list_users(None).await;

    assert!(
        matches!(
            result,
            Err(OktaError::Transport {
                kind: TransportKind::Body,
                attempts: 2,
                ..
            })
        ),
        "{result:?}"
    );
    handle.abort();
}

#[tokio::test]
async fn malformed_json_is_retried_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let server = serve(move |_| {
        Router::new().route(
            "/api/v1/users",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        "<html>login</html>",
                    )
                }
            }),
        )
    })
    .await;
    let client = OktaClient::new(api_token_config(&server.base_url)).expect("client");

    let result = client.list_users(None).await;

    assert!(
        matches!(result, Err(OktaError::MalformedResponse { .. })),
        "{result:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn refused_connection_names_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let base = Url::parse(&format!("http://{address}")).expect("URL");
    let mut config = api_token_config(&base);
    config.max_retries = 1;
    let client = OktaClient::new(config).expect("client");

    let result = client.list_users(None).await;

    let Err(err) = result else {
        panic!("expected an error");
    };
    assert!(
        matches!(
            err,
            OktaError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&address.to_string()), "{err}");
}

/// Builds a members endpoint that counts requests per window of `window_secs`
/// seconds and reports a limit of `limit` per window.
fn metered(
    limit: u32,
    window_secs: u64,
    per_window: Arc<Mutex<HashMap<u64, u32>>>,
) -> axum::routing::MethodRouter {
    get(move |Path(group): Path<String>| {
        let per_window = Arc::clone(&per_window);
        async move {
            let now = epoch_seconds();
            let window = now / window_secs;
            let used = {
                let mut counts = per_window.lock().expect("lock");
                let count = counts.entry(window).or_default();
                *count += 1;
                *count
            };
            let reset = (window + 1) * window_secs;
            let headers = rate_limit_headers(limit, limit.saturating_sub(used), reset);
            (headers, Json(json!([user(&format!("00u{group}"))])))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_listings_stay_within_share() {
    let per_window = Arc::new(Mutex::new(HashMap::new()));
    let counts = Arc::clone(&per_window);
    let server =
        serve(move |_| Router::new().route("/api/v1/groups/{id}/users", metered(10, 2, counts)))
            .await;
    let client = OktaClient::new(api_token_config(&server.base_url)).expect("client");

    let group_ids: Vec<String> = (0..12).map(|i| format!("00g{i}")).collect();
    let results: Vec<_> = stream::iter(group_ids.iter())
        .map(|id| client.list_group_members(id))
        .buffer_unordered(8)
        .collect()
        .await;

    assert!(results.iter().all(Result::is_ok));
    let counts = per_window.lock().expect("lock");
    for (window, count) in counts.iter() {
        assert!(
            *count <= 5,
            "window {window} saw {count} requests, share allows 5"
        );
    }
    assert!(client.stats().rate_limit_waits >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_listings_share_one_token() {
    let key = test_key();
    let tokens = Arc::new(Mutex::new(None));
    let server = serve(|base| {
        let endpoint = TokenEndpoint::new(&key, base, Vec::new());
        *tokens.lock().expect("lock") = Some(Arc::clone(&endpoint));
        endpoint.router().route(
            "/api/v1/groups/{id}/users",
            get(|| async { Json(json!([user("00u1")])) }),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let results: Vec<_> = stream::iter(0..16)
        .map(|i| {
            let client = client.clone();
            async move { client.list_group_members(&format!("00g{i}")).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;

    assert!(results.iter().all(Result::is_ok));
    let endpoint = tokens
        .lock()
        .expect("lock")
        .clone()
        .expect("token endpoint");
    assert_eq!(endpoint.issued.load(Ordering::SeqCst), 1);
    assert_eq!(client.stats().token_requests, 1);
}

#[tokio::test]
async fn token_retry_uses_fresh_jti() {
    let key = test_key();
    let tokens = Arc::new(Mutex::new(None));
    let server = serve(|base| {
        let failures = vec![
            TokenFailure::Status(StatusCode::SERVICE_UNAVAILABLE),
            TokenFailure::Status(StatusCode::BAD_GATEWAY),
        ];
        let endpoint = TokenEndpoint::new(&key, base, failures);
        *tokens.lock().expect("lock") = Some(Arc::clone(&endpoint));
        endpoint.router().route(
            "/api/v1/users",
            get(|| async { Json(json!([user("00u1")])) }),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    client
        .list_users(None)
        .await
        .expect("list after token retries");

    let endpoint = tokens
        .lock()
        .expect("lock")
        .clone()
        .expect("token endpoint");
    let jtis = endpoint.jtis.lock().expect("lock").clone();
    assert_eq!(jtis.len(), 3);
    let unique: std::collections::HashSet<_> = jtis.iter().collect();
    assert_eq!(unique.len(), 3, "every attempt needs a new jti: {jtis:?}");
    assert!(endpoint.problems.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn rejected_token_is_refreshed_once() {
    let key = test_key();
    let seen = Arc::new(Seen::default());
    let record = Arc::clone(&seen);
    let server = serve(|base| {
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/users",
            get(move |headers: HeaderMap| {
                let record = Arc::clone(&record);
                async move {
                    record.record("/api/v1/users".to_owned(), &headers);
                    let authorization = headers
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok());
                    if authorization == Some("Bearer access-token-1") {
                        return okta_error(
                            StatusCode::UNAUTHORIZED,
                            "E0000011",
                            &error_summary("E0000011"),
                            &[],
                        );
                    }
                    Json(json!([user("00u1")])).into_response()
                }
            }),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    client.list_users(None).await.expect("list after refresh");

    assert_eq!(
        seen.header(1, header::AUTHORIZATION).as_deref(),
        Some("Bearer access-token-2")
    );
    assert_eq!(client.stats().token_requests, 2);
}

#[tokio::test]
async fn second_rejection_is_unauthorized() {
    let key = test_key();
    let server = serve(|base| {
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/users",
            get(|| async {
                okta_error(
                    StatusCode::UNAUTHORIZED,
                    "E0000011",
                    &error_summary("E0000011"),
                    &[],
                )
            }),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let result = client.list_users(None).await;

    assert!(
        matches!(result, Err(OktaError::Unauthorized { .. })),
        "{result:?}"
    );
    assert_eq!(client.stats().token_requests, 2);
}

/// Lists users against a token endpoint that fails with `failure`.
async fn token_error(failure: TokenFailure) -> OktaError {
    let key = test_key();
    let server = serve(|base| TokenEndpoint::new(&key, base, vec![failure]).router()).await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");
    match client.list_users(None).await {
        Ok(users) => panic!("expected an error, listed {} users", users.len()),
        Err(err) => err,
    }
}

#[tokio::test]
async fn bad_signature_advises_key_check() {
    let (error, description) = oauth_error("client_assertion_invalid_signature");
    let err = token_error(TokenFailure::OAuth(
        StatusCode::UNAUTHORIZED,
        error,
        description,
    ))
    .await;
    assert!(
        err.to_string().contains(
            "check `keyId` and that the public key registered on the app matches `privateKey`"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_client_names_client_id() {
    let (error, description) = oauth_error("invalid_client_id");
    let err = token_error(TokenFailure::OAuth(
        StatusCode::UNAUTHORIZED,
        error,
        description,
    ))
    .await;
    assert!(
        err.to_string()
            .contains(&format!("Okta does not know client id `{CLIENT_ID}`")),
        "{err}"
    );
}

#[tokio::test]
async fn dpop_required_advises_unchecking() {
    let (error, description) = oauth_error("invalid_dpop_proof_missing_header");
    let err = token_error(TokenFailure::OAuth(
        StatusCode::BAD_REQUEST,
        error,
        description,
    ))
    .await;
    assert!(
        err.to_string()
            .contains("uncheck 'Require Demonstrating Proof of Possession"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_scope_names_tab() {
    let (error, description) = oauth_error("invalid_scope");
    let err = token_error(TokenFailure::OAuth(
        StatusCode::BAD_REQUEST,
        error,
        description,
    ))
    .await;
    assert!(err.to_string().contains("Okta API Scopes tab"), "{err}");
}

#[tokio::test]
async fn token_requests_send_scopes() {
    let key = test_key();
    let tokens = Arc::new(Mutex::new(None));
    let server = serve(|base| {
        let endpoint = TokenEndpoint::new(&key, base, Vec::new());
        *tokens.lock().expect("lock") = Some(Arc::clone(&endpoint));
        endpoint.router()
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let info = client.fetch_token().await.expect("token");

    assert_eq!(info.scopes, vec!["okta.users.read", "okta.groups.read"]);
    assert_eq!(info.expires_in, Duration::from_secs(3600));
    let endpoint = tokens
        .lock()
        .expect("lock")
        .clone()
        .expect("token endpoint");
    let scopes = endpoint.form_scopes.lock().expect("lock").clone();
    assert_eq!(scopes, vec!["okta.users.read okta.groups.read"]);
}

#[tokio::test]
async fn admin_role_missing_is_explained() {
    let key = test_key();
    let server = serve(|base| {
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/groups",
            get(|| async {
                okta_error(
                    StatusCode::FORBIDDEN,
                    "E0000006",
                    &error_summary("E0000006"),
                    &[],
                )
            }),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let err = client.list_groups(None).await.expect_err("403");

    assert!(
        err.to_string()
            .contains("assign the Read-only Administrator role"),
        "{err}"
    );
}

#[tokio::test]
async fn insufficient_scope_names_scope() {
    let key = test_key();
    let server = serve(|base| {
        let challenge = format!(
            "Bearer authorization_uri=\"{base}oauth2/v1/authorize\", realm=\"{base}\", scope=\"okta.groups.read\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"/api/v1/groups\""
        );
        TokenEndpoint::new(&key, base, Vec::new()).router().route(
            "/api/v1/groups",
            get(move || async move {
                let mut response = okta_error(StatusCode::FORBIDDEN, "E0000006", &error_summary("E0000006"), &[]);
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&challenge).expect("header"));
                response
            }),
        )
    })
    .await;
    let client = OktaClient::new(config(&server.base_url, &key)).expect("client");

    let err = client.list_groups(None).await.expect_err("403");

    assert!(
        matches!(&err, OktaError::InsufficientScope { scope: Some(scope), .. } if scope == "okta.groups.read"),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_search_names_expression() {
    let search = "profile.department eq \"R&D";
    let server = serve(|_| {
        Router::new().route(
            "/api/v1/users",
            get(|| async {
                okta_error(
                    StatusCode::BAD_REQUEST,
                    "E0000031",
                    &error_summary("E0000031"),
                    &["Invalid search criteria: unterminated string"],
                )
            }),
        )
    })
    .await;
    let client = OktaClient::new(api_token_config(&server.base_url)).expect("client");

    let err = client.list_users(Some(search)).await.expect_err("400");

    let message = err.to_string();
    assert!(message.contains(search), "{message}");
    assert!(message.contains("unterminated string"), "{message}");
    assert!(message.contains("`userSearchFilter`"), "{message}");
}

#[tokio::test]
async fn api_token_uses_ssws() {
    let seen = Arc::new(Seen::default());
    let server = serve(|base| {
        Router::new().route(
            "/api/v1/users",
            paged(
                base,
                "/api/v1/users",
                users("00u", 1),
                Arc::clone(&seen),
                false,
            ),
        )
    })
    .await;
    let client = OktaClient::new(api_token_config(&server.base_url)).expect("client");

    client.list_users(None).await.expect("list");

    assert_eq!(
        seen.header(0, header::AUTHORIZATION).as_deref(),
        Some("SSWS 00apiTokenForTests")
    );
    assert_eq!(client.stats().token_requests, 0);
}

#[tokio::test]
async fn organization_needs_no_auth() {
    let seen = Arc::new(Seen::default());
    let record = Arc::clone(&seen);
    let server = serve(move |_| {
        Router::new().route(
            "/.well-known/okta-organization",
            get(move |headers: HeaderMap| {
                record.record("/.well-known/okta-organization".to_owned(), &headers);
                async { Json(json!({"id": "00o1", "pipeline": "idx"})) }
            }),
        )
    })
    .await;
    let client = OktaClient::new(api_token_config(&server.base_url)).expect("client");

    let organization = client.organization().await.expect("organization");

    assert_eq!(organization["id"], "00o1");
    assert_eq!(seen.header(0, header::AUTHORIZATION), None);
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let server = serve(|_| {
        Router::new().route(
            "/api/v1/users",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "https://login.example/")],
                )
            }),
        )
    })
    .await;
    let client = OktaClient::new(api_token_config(&server.base_url)).expect("client");

    let result = client.list_users(None).await;

    assert!(
        matches!(result, Err(OktaError::Redirect { status: 302, .. })),
        "{result:?}"
    );
}

#[derive(Default)]
struct Recording {
    pages: Mutex<Vec<(Endpoint, usize)>>,
    retries: Mutex<Vec<(Endpoint, u32)>>,
}

impl ClientObserver for Recording {
    fn page_fetched(&self, endpoint: Endpoint, items: usize) {
        self.pages.lock().expect("lock").push((endpoint, items));
    }

    fn retrying(&self, endpoint: Endpoint, attempt: u32, _reason: &str, _wait: Duration) {
        self.retries.lock().expect("lock").push((endpoint, attempt));
    }
}

#[tokio::test]
async fn observer_sees_pages_and_retries() {
    let seen = Arc::new(Seen::default());
    let server = serve(|base| {
        let pages = paged(
            base,
            "/api/v1/users",
            users("00u", 250),
            Arc::clone(&seen),
            false,
        );
        let flaky = Arc::new(AtomicUsize::new(0));
        Router::new().route(
            "/api/v1/users",
            pages.layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    let flaky = Arc::clone(&flaky);
                    async move {
                        if flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                            return StatusCode::SERVICE_UNAVAILABLE.into_response();
                        }
                        next.run(request).await
                    }
                },
            )),
        )
    })
    .await;
    let observer = Arc::new(Recording::default());
    let client = OktaClient::new(api_token_config(&server.base_url))
        .expect("client")
        .with_observer(observer.clone());

    client.list_users(None).await.expect("list");

    assert_eq!(
        *observer.pages.lock().expect("lock"),
        vec![(Endpoint::Users, 200), (Endpoint::Users, 50)]
    );
    assert_eq!(
        *observer.retries.lock().expect("lock"),
        vec![(Endpoint::Users, 1)]
    );
}

#[tokio::test]
async fn request_timeout_is_retried_then_reported() {
    let server = serve(|_| {
        Router::new().route(
            "/api/v1/users",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Json(json!([]))
            }),
        )
    })
    .await;
    let mut config = api_token_config(&server.base_url);
    config.request_timeout = Duration::from_millis(200);
    config.max_retries = 1;
    let client = OktaClient::new(config).expect("client");
    let started = Instant::now();

    let result = client.list_users(None).await;

    assert!(
        matches!(
            result,
            Err(OktaError::Transport {
                kind: TransportKind::Timeout,
                attempts: 2,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

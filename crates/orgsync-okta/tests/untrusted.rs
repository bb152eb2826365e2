//! Okta responses are untrusted input. A listing endpoint on a loopback port
//! sends what each test scripts: bodies of the wrong JSON type, records with
//! fields of the wrong type, duplicate ids across pages, next-page links that
//! leave the org, and bodies that never end. Property tests send arbitrary
//! JSON, arbitrary bytes and arbitrary `Link` headers.
//!
//! Every listing must end, quickly, with the records or with an error that
//! names the URL; nothing may panic, and no request may go anywhere but the
//! loopback server. The property tests run `PROPTEST_CASES` cases (256 when
//! unset).

mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Query;
use axum::http::header::{CONTENT_TYPE, LINK};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::routing::get;
use axum::Router;
use common::{api_token_config, serve, user, Server};
use futures::stream;
use orgsync_model::okta::OktaUser;
use orgsync_okta::{OktaClient, OktaError, TransportKind};
use proptest::prelude::*;
use serde_json::{json, Value};

/// The request timeout of these tests' clients.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// The maximum time a listing may take before a test fails instead of hanging.
const LISTING_BOUND: Duration = Duration::from_secs(10);

/// What the scripted `/api/v1/users` endpoint sends.
#[derive(Debug, Clone, Default)]
struct Script {
    body: Vec<u8>,
    link: Option<String>,
    /// Further headers; names or values that HTTP does not allow are left out.
    headers: Vec<(String, String)>,
}

/// Serves `/api/v1/users` with whatever `script` contains at each request.
async fn scripted_server(script: Arc<Mutex<Script>>) -> Server {
    serve(move |_| {
        Router::new().route(
            "/api/v1/users",
            get(move || {
                let script = script.lock().expect("script lock").clone();
                async move {
                    let mut headers = HeaderMap::new();
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    let link = script.link.as_deref().map(HeaderValue::from_str);
                    if let Some(Ok(link)) = link {
                        headers.insert(LINK, link);
                    }
                    for (name, value) in &script.headers {
                        let name = HeaderName::from_bytes(name.as_bytes());
                        if let (Ok(name), Ok(value)) = (name, HeaderValue::from_str(value)) {
                            headers.append(name, value);
                        }
                    }
                    (headers, script.body)
                }
            }),
        )
    })
    .await
}

/// Builds a client that signs in with an API token and does not retry, so
/// that each case sends one request per page.
fn client(server: &Server) -> OktaClient {
    let mut config = api_token_config(&server.base_url);
    config.max_retries = 0;
    config.request_timeout = REQUEST_TIMEOUT;
    OktaClient::new(config).expect("client")
}

/// Lists users, failing the test if the listing does not end in time.
async fn list_users(client: &OktaClient) -> Result<Vec<OktaUser>, OktaError> {
    tokio::time::timeout(LISTING_BOUND, client.list_users(None))
        .await
        .expect("the listing ends")
}

async fn list_body(body: &str) -> Result<Vec<OktaUser>, OktaError> {
    let script = Arc::new(Mutex::new(Script {
        body: body.as_bytes().to_vec(),
        ..Script::default()
    }));
    let server = scripted_server(script).await;
    list_users(&client(&server)).await
}

#[tokio::test]
async fn wrong_json_types_are_malformed() {
    let bodies = [
        "{}",
        r#"{"users": []}"#,
        "null",
        r#""00u1""#,
        "42",
        "[1, 2]",
        "[null]",
        r#"[{"id": 5}]"#,
        r#"[{"profile": {"login": "a@b.example"}}]"#,
        r#"[{"id": "00u1", "profile": "a@b.example"}]"#,
        r#"[{"id": "00u1", "status": 7}]"#,
    ];
    for body in bodies {
        let result = list_body(body).await;
        assert!(
            matches!(result, Err(OktaError::MalformedResponse { .. })),
            "{body}: {result:?}"
        );
        let message = result.err().map(|error| error.to_string());
        assert!(
            message
                .as_deref()
                .unwrap_or_default()
                .contains("/api/v1/users"),
            "{body}: the error names the URL: {message:?}"
        );
    }
}

#[tokio::test]
async fn odd_profile_values_are_kept() {
    let body = json!([{
        "id": "00u1",
        "profile": {
            "email": 12345,
            "displayName": ["a", "b"],
            "firstName": {"nested": true},
            "lastName": "Lima\u{0}\u{7}\u{1b}[31m",
        }
    }])
    .to_string();

    let users = list_body(&body).await.expect("the page decodes");

    assert_eq!(users.len(), 1);
    assert_eq!(users[0].profile["email"], json!(12345));
    assert_eq!(users[0].profile_str("email"), None);
}

#[tokio::test]
async fn duplicate_ids_across_pages_are_listed() {
    let server = serve(|base| {
        let next = base.join("api/v1/users?after=page2").expect("URL");
        Router::new().route(
            "/api/v1/users",
            get(move |Query(query): Query<HashMap<String, String>>| {
                let next = next.clone();
                async move {
                    if query.contains_key("after") {
                        let page = json!([user("00u2"), user("00u3")]).to_string();
                        return (HeaderMap::new(), page);
                    }
                    let mut headers = HeaderMap::new();
                    let link = format!("<{next}>; rel=\"next\"");
                    headers.insert(LINK, HeaderValue::from_str(&link).expect("link"));
                    (headers, json!([user("00u1"), user("00u2")]).to_string())
                }
            }),
        )
    })
    .await;

    let users = list_users(&client(&server)).await.expect("two pages");

    // The client returns what Okta sent; building entities keeps the first
    // record of each id.
    let ids: Vec<&str> = users.iter().map(|user| user.id.as_str()).collect();
    assert_eq!(ids, ["00u1", "00u2", "00u2", "00u3"]);
}

#[tokio::test]
async fn next_links_outside_org_are_rejected() {
    let targets = [
        "//elsewhere.example/api/v1/users?after=x",
        "javascript:alert(1)",
        "data:application/json,[]",
        "file:///etc/passwd",
        "https://127.0.0.1/api/v1/users?after=x",
    ];
    for target in targets {
        let script = Arc::new(Mutex::new(Script {
            body: json!([user("00u1")]).to_string().into_bytes(),
            link: Some(format!("<{target}>; rel=\"next\"")),
            ..Script::default()
        }));
        let server = scripted_server(script).await;

        let result = list_users(&client(&server)).await;

        assert!(
            matches!(result, Err(OktaError::ForeignNextLink { .. })),
            "{target}: {result:?}"
        );
    }
}

#[tokio::test]
async fn endless_slow_body_times_out() {
    let server = serve(|_| {
        Router::new().route(
            "/api/v1/users",
            get(|| async {
                let chunks = stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((
                        Ok::<_, Infallible>(Bytes::from_static(b"[{\"id\":\"00u1\"},")),
                        (),
                    ))
                });
                Body::from_stream(chunks)
            }),
        )
    })
    .await;
    let mut config = api_token_config(&server.base_url);
    config.max_retries = 0;
    config.request_timeout = Duration::from_secs(1);
    let client = OktaClient::new(config).expect("client");
    let started = Instant::now();

    let result = list_users(&client).await;

    assert!(
        matches!(
            result,
            Err(OktaError::Transport {
                kind: TransportKind::Timeout,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// One runtime and one scripted server for all cases of the property tests.
struct Harness {
    runtime: tokio::runtime::Runtime,
    script: Arc<Mutex<Script>>,
    client: OktaClient,
    server: Server,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let script = Arc::new(Mutex::new(Script::default()));
        let server = runtime.block_on(scripted_server(Arc::clone(&script)));
        let client = client(&server);
        Harness {
            runtime,
            script,
            client,
            server,
        }
    })
}

/// Sends `script` as the response to every request of one listing.
fn list_scripted(script: Script) -> Result<Vec<OktaUser>, OktaError> {
    list_scripted_with(script, &harness().client)
}

/// Like [`list_scripted`], with a new client, so that rate-limit headers of
/// earlier cases cannot hold this one back.
fn list_scripted_fresh(script: Script) -> Result<Vec<OktaUser>, OktaError> {
    list_scripted_with(script, &client(&harness().server))
}

fn list_scripted_with(script: Script, client: &OktaClient) -> Result<Vec<OktaUser>, OktaError> {
    // The property tests run on parallel threads but share the server, so
    // one listing runs at a time.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());

    let harness = harness();
    *harness.script.lock().expect("script lock") = script;
    harness.runtime.block_on(list_users(client))
}

/// Generates any JSON value, nested up to three levels, with keys that Okta
/// records use so that record-like objects are common.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |float| {
            serde_json::Number::from_f64(float).map(Value::Number)
        }),
        any::<String>().prop_map(Value::from),
        "00u[0-9]".prop_map(Value::from),
    ];
    let key = prop_oneof!["(id|status|profile|login|email)", any::<String>()];
    leaf.prop_recursive(3, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Generates `Link` header values: arbitrary text, and `next` links whose
/// targets are relative, foreign, of other schemes, or arbitrary characters.
fn link_header() -> impl Strategy<Value = String> {
    let target = prop_oneof![
        "/api/v1/users\\?after=[a-z0-9]{1,8}",
        "(http|https|javascript|data|file|ftp)://[a-z0-9.:@]{0,20}/[!-~&&[^<>]]{0,20}",
        "//[a-z0-9.]{1,12}/x",
        "[ -~&&[^<>]]{0,40}",
    ];
    prop_oneof![
        "[ -~]{0,120}",
        (target, "(next|self|NEXT|next self)")
            .prop_map(|(target, rel)| format!("<{target}>; rel=\"{rel}\"")),
    ]
}

/// Generates values for the headers the client reads: numbers of any size
/// and sign, dates of any year, and arbitrary text.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|number| number.to_string()),
        any::<i64>().prop_map(|number| number.to_string()),
        "[0-9]{1,40}",
        "(Mon|Thu|x), [0-9]{1,3} (Jan|Feb|Aug|Dec|x) [0-9]{1,20} [0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3} (GMT|UTC)",
        "[ -~]{0,60}",
    ]
}

/// Generates response headers that the client reads, with any values.
fn response_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(vec![
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
        "date",
        "content-type",
        "content-length",
        "www-authenticate",
    ]);
    prop::collection::vec((name.prop_map(str::to_string), header_value()), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_json_decodes_or_fails_cleanly(value in json_value()) {
        let body = serde_json::to_vec(&value).expect("JSON encodes");
        let expected = serde_json::from_slice::<Vec<OktaUser>>(&body).ok();

        let result = list_scripted(Script { body, ..Script::default() });

        match (result, expected) {
            (Ok(users), Some(expected)) => prop_assert_eq!(users, expected),
            (Err(OktaError::MalformedResponse { .. }), None) => {}
            (result, expected) => {
                prop_assert!(false, "got {:?}, decoding alone gives {:?}", result, expected)
            }
        }
    }

    #[test]
    fn any_bytes_decode_or_fail_cleanly(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let decodes = serde_json::from_slice::<Vec<OktaUser>>(&body).is_ok();

        let result = list_scripted(Script { body, ..Script::default() });

        match result {
            Ok(_) => prop_assert!(decodes),
            Err(OktaError::MalformedResponse { .. }) => prop_assert!(!decodes),
            Err(error) => prop_assert!(false, "unexpected error: {}", error),
        }
    }

    #[test]
    fn any_link_header_stays_on_loopback(link in link_header()) {
        let body = json!([user("00u1")]).to_string().into_bytes();

        let result = list_scripted(Script { body, link: Some(link), ..Script::default() });

        // A transport error would mean the client connected to something
        // other than the scripted server, which responds to every request.
        let transport = matches!(result, Err(OktaError::Transport { .. }));
        prop_assert!(!transport, "{:?}", result);
    }

    #[test]
    fn any_response_headers_are_survived(headers in response_headers()) {
        let body = json!([user("00u1")]).to_string().into_bytes();
        let declares_length = headers.iter().any(|(name, _)| name == "content-length");

        let result = list_scripted_fresh(Script { body, headers, ..Script::default() });

        // A wrong Content-Length breaks the HTTP framing, which is a body
        // or transport error; any other header must leave the page readable.
        if !declares_length {
            prop_assert!(result.is_ok(), "{:?}", result);
        }
    }
}

#[tokio::test]
async fn far_rate_limit_reset_is_survived() {
    for reset in [u64::MAX.to_string(), "99999999999999".to_string()] {
        let server = serve(move |_| {
            Router::new().route(
                "/api/v1/users",
                get(move || {
                    let reset = reset.clone();
                    async move {
                        let mut headers = HeaderMap::new();
                        headers.insert("x-rate-limit-limit", HeaderValue::from_static("600"));
                        headers.insert("x-rate-limit-remaining", HeaderValue::from_static("599"));
                        headers.insert(
                            "x-rate-limit-reset",
                            HeaderValue::from_str(&reset).expect("header"),
                        );
                        (headers, json!([user("00u1")]).to_string())
                    }
                }),
            )
        })
        .await;

        let result = list_users(&client(&server)).await;

        assert!(result.is_ok(), "{result:?}");
    }
}

#[tokio::test]
async fn endless_fast_body_is_cut_off() {
    let server = serve(|_| {
        Router::new().route(
            "/api/v1/users",
            get(|| async {
                let chunk = Bytes::from(vec![b' '; 1 << 20]);
                let chunks = stream::repeat_with(move || Ok::<_, Infallible>(chunk.clone()));
                Body::from_stream(chunks)
            }),
        )
    })
    .await;
    let mut config = api_token_config(&server.base_url);
    config.max_retries = 0;
    config.request_timeout = Duration::from_secs(60);
    let client = OktaClient::new(config).expect("client");
    let started = Instant::now();

    let result = list_users(&client).await;

    assert!(
        matches!(result, Err(OktaError::MalformedResponse { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < LISTING_BOUND);
}

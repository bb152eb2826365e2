//! Rate limits and fault injection seen by a real HTTP client.
//!
//! Each test wraps a small router of its own (stand-in handlers for the
//! users and groups endpoints) with the limits and fault layers, serves it on
//! a loopback port and sends requests with reqwest or a raw TCP socket.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fake_okta::auth::{Clock, TestClock};
use fake_okta::errors::api_error;
use fake_okta::faults::{self, Burst, FaultConfig, FaultState, Latency, SlowBody};
use fake_okta::limits::{self, Bucket, LimitState, RateLimitConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

const USER_COUNT: usize = 40;

/// Handlers stand in for fake-okta's API: fixed JSON bodies, a 404, and a
/// group endpoint that waits for a permit so tests can hold requests open.
#[derive(Clone)]
struct Handlers {
    gate: Arc<Semaphore>,
}

fn users_body() -> Value {
    let users: Vec<Value> = (0..USER_COUNT)
        .map(|index| {
            json!({
                "id": format!("00u{index:017}"),
                "status": "ACTIVE",
                "profile": { "login": format!("user{index}@a.example") },
            })
        })
        .collect();
    Value::Array(users)
}

async fn list_users() -> Json<Value> {
    Json(users_body())
}

async fn get_user(Path(id): Path<String>) -> Response {
    let summary = format!("Not found: Resource not found: {id} (User)");
    api_error(StatusCode::NOT_FOUND, "E0000007", &summary, &[])
}

async fn list_groups() -> Json<Value> {
    Json(json!([{ "id": "00g1", "profile": { "name": "Everyone" } }]))
}

async fn group_members(Path(id): Path<String>) -> Json<Value> {
    Json(json!([{ "id": format!("00u-member-of-{id}") }]))
}

async fn held_group(State(handlers): State<Handlers>, Path(id): Path<String>) -> Response {
    match handlers.gate.acquire().await {
        Ok(_permit) => Json(json!({ "id": id })).into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}

fn api_router(gate: Arc<Semaphore>) -> Router {
    Router::new()
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/{id}", get(held_group).delete(no_content))
        .route("/api/v1/groups/{id}/users", get(group_members))
        .route("/.well-known/okta-organization", get(list_groups))
        .with_state(Handlers { gate })
}

/// A served router and the handles that control it.
struct Served {
    base_url: String,
    limits: LimitState,
    faults: FaultState,
    clock: Arc<TestClock>,
    gate: Arc<Semaphore>,
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

async fn serve(rate_limits: RateLimitConfig, fault_config: FaultConfig) -> Served {
    // A whole second, so that the window end has no fraction to round up.
    let start = UNIX_EPOCH + Duration::from_secs(epoch_seconds(SystemTime::now()));
    let clock = Arc::new(TestClock::new(start));
    let limit_state = LimitState::new(rate_limits, clock.clone()).expect("valid limits");
    let fault_state = FaultState::new(fault_config).expect("valid faults");
    let gate = Arc::new(Semaphore::new(0));

    let router = faults::layer(api_router(gate.clone()), fault_state.clone());
    let router = limits::layer(router, limit_state.clone());

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await });

    Served {
        base_url: format!("http://{address}"),
        limits: limit_state,
        faults: fault_state,
        clock,
        gate,
    }
}

async fn serve_faults(fault_config: FaultConfig) -> Served {
    serve(RateLimitConfig::unlimited(), fault_config).await
}

/// Builds a client that opens a new connection per request, so one dropped
/// connection cannot affect the next request.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn limits_of(limit: u32) -> RateLimitConfig {
    RateLimitConfig::workforce().with_all_buckets(limit)
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

fn header_number(response: &reqwest::Response, name: &str) -> u64 {
    let value = header(response, name).unwrap_or_else(|| panic!("missing header {name}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("header {name} is {value:?}"))
}

fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .expect("after epoch")
        .as_secs()
}

/// Okta's error catalogue entry for `code`, read from the reference data.
fn catalogue_entry(code: &str) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/okta-reference/errors/error-codes.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let catalogue: Value = serde_json::from_str(&text).expect("catalogue is JSON");
    catalogue["errors"]
        .as_array()
        .and_then(|errors| errors.iter().find(|entry| entry["errorCode"] == code))
        .cloned()
        .unwrap_or_else(|| panic!("{code} missing from the catalogue"))
}

async fn status_of(client: &reqwest::Client, url: &str) -> u16 {
    match client.get(url).send().await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

/// Sends a raw HTTP/1.1 request and returns every byte the server sent
/// before closing the connection.
async fn raw_get(served: &Served, path: &str) -> Vec<u8> {
    let address = served.base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received).await;
    received
}

// Rate limits.

#[tokio::test]
async fn success_carries_rate_limit_headers() {
    let served = serve(RateLimitConfig::workforce(), FaultConfig::default()).await;

    let response = client()
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 200);
    assert_eq!(header_number(&response, "x-rate-limit-limit"), 600);
    assert_eq!(header_number(&response, "x-rate-limit-remaining"), 599);
    let reset = header_number(&response, "x-rate-limit-reset");
    assert_eq!(reset, epoch_seconds(served.clock.now()) + 60);
}

#[tokio::test]
async fn error_response_carries_rate_limit_headers() {
    let served = serve(RateLimitConfig::workforce(), FaultConfig::default()).await;

    let response = client()
        .get(served.url("/api/v1/users/00unknown"))
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 404);
    assert_eq!(header_number(&response, "x-rate-limit-limit"), 2000);
    assert_eq!(header_number(&response, "x-rate-limit-remaining"), 1999);
    assert!(header(&response, "x-rate-limit-reset").is_some());
}

#[tokio::test]
async fn each_bucket_reports_its_own_limit() {
    let served = serve(RateLimitConfig::workforce(), FaultConfig::default()).await;
    let client = client();
    served.gate.add_permits(1);
    let cases = [
        ("/api/v1/users", 600),
        ("/api/v1/groups", 500),
        ("/api/v1/groups/00g1/users", 500),
        ("/api/v1/groups/00g1", 1000),
    ];

    for (path, limit) in cases {
        let response = client.get(served.url(path)).send().await.expect("response");
        assert_eq!(
            header_number(&response, "x-rate-limit-limit"),
            limit,
            "{path}"
        );
    }
}

#[tokio::test]
async fn unlimited_path_has_no_headers() {
    let served = serve(RateLimitConfig::workforce(), FaultConfig::default()).await;

    let response = client()
        .get(served.url("/.well-known/okta-organization"))
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 200);
    assert!(header(&response, "x-rate-limit-limit").is_none());
}

#[tokio::test]
async fn disabled_limits_send_no_headers() {
    let served = serve(RateLimitConfig::unlimited(), FaultConfig::default()).await;

    let response = client()
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 200);
    assert!(header(&response, "x-rate-limit-limit").is_none());
}

#[tokio::test]
async fn over_limit_gets_okta_429() {
    let served = serve(limits_of(2), FaultConfig::default()).await;
    let client = client();
    for _ in 0..2 {
        client
            .get(served.url("/api/v1/users"))
            .send()
            .await
            .expect("response");
    }

    let response = client
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 429);
    assert!(header(&response, "retry-after").is_none());
    assert_eq!(header_number(&response, "x-rate-limit-limit"), 2);
    assert_eq!(header_number(&response, "x-rate-limit-remaining"), 0);
    let expected = catalogue_entry("E0000047");
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["errorCode"], "E0000047");
    assert_eq!(body["errorSummary"], expected["errorSummary"]);
    assert!(body["errorId"].is_string());
    assert_eq!(body["errorCauses"], json!([]));
}

#[tokio::test]
async fn window_end_admits_again() {
    let served = serve(limits_of(1), FaultConfig::default()).await;
    let client = client();
    let first = client
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");
    let reset = header_number(&first, "x-rate-limit-reset");
    let blocked = status_of(&client, &served.url("/api/v1/users")).await;

    served.clock.set(UNIX_EPOCH + Duration::from_secs(reset));
    let response = client
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");

    assert_eq!(blocked, 429);
    assert_eq!(response.status(), 200);
    assert_eq!(header_number(&response, "x-rate-limit-remaining"), 0);
    assert_eq!(header_number(&response, "x-rate-limit-reset"), reset + 60);
}

#[tokio::test]
async fn short_real_window_resets() {
    let clock_free_limits = RateLimitConfig {
        window: Duration::from_millis(300),
        ..limits_of(1)
    };
    let limit_state = LimitState::with_system_clock(clock_free_limits).expect("valid limits");
    let router = limits::layer(api_router(Arc::new(Semaphore::new(0))), limit_state);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!(
        "http://{}/api/v1/users",
        listener.local_addr().expect("address")
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = client();

    let first = status_of(&client, &url).await;
    let second = status_of(&client, &url).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let third = status_of(&client, &url).await;

    assert_eq!([first, second, third], [200, 429, 200]);
}

#[tokio::test]
async fn concurrency_limit_rejects_extra_request() {
    let config = RateLimitConfig {
        concurrency: 2,
        ..RateLimitConfig::workforce()
    };
    let served = serve(config, FaultConfig::default()).await;
    let client = client();
    let held: Vec<_> = (0..2)
        .map(|index| {
            let request = client
                .get(served.url(&format!("/api/v1/groups/00g{index}")))
                .send();
            tokio::spawn(request)
        })
        .collect();
    while served.limits.snapshot().in_flight < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let rejected = client
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");
    served.gate.add_permits(2);
    let mut held_statuses = Vec::new();
    for request in held {
        let response = request.await.expect("task").expect("response");
        held_statuses.push(response.status().as_u16());
    }

    assert_eq!(rejected.status(), 429);
    assert_eq!(header_number(&rejected, "x-rate-limit-limit"), 0);
    assert_eq!(header_number(&rejected, "x-rate-limit-remaining"), 0);
    assert_eq!(held_statuses, [200, 200]);
    assert_eq!(served.limits.snapshot().concurrency_rejected, 1);
}

#[tokio::test]
async fn snapshot_counts_requests_per_bucket() {
    let served = serve(limits_of(5), FaultConfig::default()).await;
    let client = client();
    for _ in 0..3 {
        status_of(&client, &served.url("/api/v1/groups")).await;
    }

    let snapshot = served.limits.snapshot();

    assert_eq!(snapshot.buckets[&Bucket::Groups].used, 3);
    assert_eq!(snapshot.buckets[&Bucket::Users].used, 0);
}

// Faults.

#[tokio::test]
async fn server_errors_use_each_5xx_code() {
    let served = serve_faults(FaultConfig {
        seed: 11,
        error_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let client = client();

    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(status_of(&client, &served.url("/api/v1/users")).await);
    }
    statuses.sort_unstable();
    statuses.dedup();

    assert_eq!(statuses, [500, 502, 503, 504]);
}

#[tokio::test]
async fn internal_error_has_okta_body() {
    let served = serve_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let client = client();

    let mut response = client
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");
    while response.status() != 500 {
        response = client
            .get(served.url("/api/v1/users"))
            .send()
            .await
            .expect("response");
    }
    let body: Value = response.json().await.expect("JSON body");

    assert_eq!(body["errorCode"], "E0000009");
    assert_eq!(
        body["errorSummary"],
        catalogue_entry("E0000009")["errorSummary"]
    );
}

#[tokio::test]
async fn dropped_connection_is_client_error() {
    let served = serve_faults(FaultConfig {
        drop_connection_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;

    let result = client().get(served.url("/api/v1/users")).send().await;

    let error = result.expect_err("a dropped connection must fail the request");
    assert!(error.is_request(), "unexpected error kind: {error:?}");
    assert_eq!(served.faults.counts().dropped_connections, 1);
}

#[tokio::test]
async fn dropped_connection_sends_no_bytes() {
    let served = serve_faults(FaultConfig {
        drop_connection_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;

    let received = raw_get(&served, "/api/v1/users").await;

    assert!(
        received.is_empty(),
        "received {:?}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn truncated_body_fails_while_reading() {
    let served = serve_faults(FaultConfig {
        truncate_body_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let full_length = users_body().to_string().len() as u64;

    let response = client()
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");
    let declared = response.content_length();
    let body = response.bytes().await;

    assert_eq!(declared, Some(full_length));
    let error = body.expect_err("a truncated body must fail");
    assert!(
        error.is_body() || error.is_decode(),
        "unexpected error kind: {error:?}"
    );
    assert_eq!(served.faults.counts().truncated_bodies, 1);
}

#[tokio::test]
async fn truncated_body_sends_head_and_part() {
    let served = serve_faults(FaultConfig {
        truncate_body_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let full_length = users_body().to_string().len();

    let received = raw_get(&served, "/api/v1/users").await;
    let text = String::from_utf8_lossy(&received);
    let (head, body) = text.split_once("\r\n\r\n").expect("response head");

    assert!(head.starts_with("HTTP/1.1 200"), "head: {head}");
    assert!(head
        .to_ascii_lowercase()
        .contains(&format!("content-length: {full_length}")));
    assert!(!body.is_empty(), "part of the body must arrive");
    assert!(
        body.len() < full_length,
        "{} of {full_length} bytes arrived",
        body.len()
    );
}

#[tokio::test]
async fn malformed_body_fails_json_decoding() {
    let served = serve_faults(FaultConfig {
        malformed_json_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;

    let response = client()
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");
    let declared = response.content_length();
    let text = response.text().await.expect("complete body");

    assert_eq!(declared, Some(text.len() as u64));
    let parsed = serde_json::from_str::<Value>(&text);
    assert!(parsed.is_err(), "body parsed as JSON: {text}");
    assert_eq!(served.faults.counts().malformed_json, 1);
}

#[tokio::test]
async fn slow_body_arrives_whole_and_late() {
    let served = serve_faults(FaultConfig {
        slow_body: Some(SlowBody {
            chunk_bytes: 1024,
            delay: Duration::from_millis(40),
        }),
        ..FaultConfig::default()
    })
    .await;
    let expected = users_body();
    let chunks = expected.to_string().len().div_ceil(1024) as u32;

    let started = Instant::now();
    let response = client()
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");
    let body: Value = response.json().await.expect("JSON body");

    assert!(chunks > 1, "the body must span several chunks");
    assert!(started.elapsed() >= Duration::from_millis(40) * (chunks - 1));
    assert_eq!(body, expected);
    assert_eq!(served.faults.counts().slow_bodies, 1);
}

#[tokio::test]
async fn fixed_latency_delays_response() {
    let served = serve_faults(FaultConfig {
        latency: Latency::Fixed {
            delay: Duration::from_millis(150),
        },
        ..FaultConfig::default()
    })
    .await;

    let started = Instant::now();
    let status = status_of(&client(), &served.url("/api/v1/users")).await;

    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn burst_gets_429_with_bucket_headers() {
    let served = serve(
        limits_of(100),
        FaultConfig {
            rate_limit_bursts: Some(Burst {
                every: 3,
                length: 1,
            }),
            ..FaultConfig::default()
        },
    )
    .await;
    let client = client();
    for _ in 0..2 {
        status_of(&client, &served.url("/api/v1/users")).await;
    }

    let response = client
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 429);
    assert_eq!(header_number(&response, "x-rate-limit-limit"), 100);
    assert_eq!(header_number(&response, "x-rate-limit-remaining"), 0);
    assert!(header(&response, "retry-after").is_none());
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["errorCode"], "E0000047");
}

#[tokio::test]
async fn burst_without_limits_has_own_headers() {
    let served = serve_faults(FaultConfig {
        rate_limit_bursts: Some(Burst {
            every: 1,
            length: 1,
        }),
        ..FaultConfig::default()
    })
    .await;
    let before = epoch_seconds(SystemTime::now());

    let response = client()
        .get(served.url("/api/v1/users"))
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 429);
    assert_eq!(header_number(&response, "x-rate-limit-remaining"), 0);
    let reset = header_number(&response, "x-rate-limit-reset");
    assert!(
        (before + 1..=before + 2).contains(&reset),
        "reset {reset}, now {before}"
    );
}

#[tokio::test]
async fn same_seed_repeats_faults() {
    let config = FaultConfig {
        seed: 2024,
        error_rate: 0.3,
        drop_connection_rate: 0.1,
        ..FaultConfig::default()
    };
    let first = serve_faults(config.clone()).await;
    let second = serve_faults(config).await;
    let client = client();

    let mut first_statuses = Vec::new();
    let mut second_statuses = Vec::new();
    for _ in 0..30 {
        first_statuses.push(status_of(&client, &first.url("/api/v1/users")).await);
        second_statuses.push(status_of(&client, &second.url("/api/v1/users")).await);
    }

    assert_eq!(first_statuses, second_statuses);
    assert!(first_statuses.contains(&200), "some requests must pass");
    assert!(
        first_statuses.iter().any(|status| *status != 200),
        "some must fail"
    );
}

#[tokio::test]
async fn other_seed_changes_faults() {
    let config = FaultConfig {
        seed: 1,
        error_rate: 0.5,
        ..FaultConfig::default()
    };
    let first = serve_faults(config.clone()).await;
    let second = serve_faults(FaultConfig { seed: 2, ..config }).await;
    let client = client();

    let mut first_statuses = Vec::new();
    let mut second_statuses = Vec::new();
    for _ in 0..30 {
        first_statuses.push(status_of(&client, &first.url("/api/v1/users")).await);
        second_statuses.push(status_of(&client, &second.url("/api/v1/users")).await);
    }

    assert_ne!(first_statuses, second_statuses);
}

#[tokio::test]
async fn only_paths_confines_faults() {
    let served = serve_faults(FaultConfig {
        error_rate: 1.0,
        only_paths: Some(vec!["/api/v1/groups/".to_string()]),
        ..FaultConfig::default()
    })
    .await;
    let client = client();

    let users = status_of(&client, &served.url("/api/v1/users")).await;
    let groups = status_of(&client, &served.url("/api/v1/groups")).await;
    let members = status_of(&client, &served.url("/api/v1/groups/00g1/users")).await;

    assert_eq!(users, 200);
    assert_eq!(groups, 200);
    assert!(members >= 500, "members got {members}");
}

#[tokio::test]
async fn after_requests_fails_midway() {
    let served = serve_faults(FaultConfig {
        error_rate: 1.0,
        after_requests: 3,
        ..FaultConfig::default()
    })
    .await;
    let client = client();

    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(status_of(&client, &served.url("/api/v1/users")).await);
    }

    assert_eq!(statuses[..3], [200, 200, 200]);
    assert!(
        statuses[3..].iter().all(|status| *status >= 500),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn set_config_changes_faults_at_runtime() {
    let served = serve_faults(FaultConfig::default()).await;
    let client = client();
    let before = status_of(&client, &served.url("/api/v1/users")).await;

    served
        .faults
        .set_config(FaultConfig {
            rate_limit_bursts: Some(Burst {
                every: 1,
                length: 1,
            }),
            ..FaultConfig::default()
        })
        .expect("valid faults");
    let after = status_of(&client, &served.url("/api/v1/users")).await;

    assert_eq!(before, 200);
    assert_eq!(after, 429);
}

#[tokio::test]
async fn no_content_response_is_not_cut() {
    let served = serve_faults(FaultConfig {
        truncate_body_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;

    let response = client()
        .delete(served.url("/api/v1/groups/00g1"))
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 204);
    assert_eq!(served.faults.counts().truncated_bodies, 0);
}

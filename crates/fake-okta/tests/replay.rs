//! Replays Okta's recorded exchanges against the fake.
//!
//! For every recorded cassette, the fake serves the org rebuilt from that
//! cassette. The exchanges are then walked in order. Each `GET` on the users
//! or groups API is sent to the fake, and its status, headers and body shape
//! are compared with the recording. Each successful change (delete,
//! deactivate, membership change, group update) is applied through the
//! control API, so that later reads see the same state Okta had.

mod common;

use std::path::Path;

use common::{reference_dir, Harness, Reply};
use fake_okta::generate::{cassette_paths, from_recorded_files, read_cassette, RecordedExchange};
use fake_okta::limits::RateLimitConfig;
use fake_okta::server::FakeOkta;
use reqwest::Method;
use serde_json::{json, Value};

/// Differences found, as `cassette: request: what differs` lines.
type Findings = Vec<String>;

#[tokio::test]
async fn recorded_reads_replay_alike() {
    let dir = reference_dir().join("recorded");
    let paths = cassette_paths(&dir).expect("recordings listed");
    let mut findings = Findings::new();
    let mut replayed = 0;
    for path in &paths {
        replayed += replay_cassette(path, &mut findings).await;
    }
    assert!(replayed >= 10, "only {replayed} reads replayed");
    assert!(findings.is_empty(), "differences:\n{}", findings.join("\n"));
}

/// Replays one cassette; returns the number of reads compared.
async fn replay_cassette(path: &Path, findings: &mut Findings) -> usize {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let exchanges = read_cassette(path).expect("cassette parses");
    if !exchanges.iter().any(is_api_read) {
        return 0;
    }
    let org = from_recorded_files(&[path.to_owned()]).expect("org rebuilt");
    let builder = FakeOkta::builder().org(org);
    let harness = Harness::start_with_limits(builder, RateLimitConfig::workforce()).await;

    let mut replayed = 0;
    for exchange in &exchanges {
        let request = format!("{name}: {} {}", exchange.method, exchange.uri);
        if is_api_read(exchange) {
            ensure_next_page_exists(&harness, exchange).await;
            let reply = harness.get(&path_and_query(&exchange.uri)).await;
            compare(&request, exchange, &reply, findings);
            replayed += 1;
        } else if (200..300).contains(&exchange.status) {
            apply_change(&harness, exchange).await;
        }
    }
    replayed
}

fn api_segments(uri: &str) -> Vec<String> {
    let path = url::Url::parse(uri)
        .map(|url| url.path().to_owned())
        .unwrap_or_default();
    path.trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

fn is_api_read(exchange: &RecordedExchange) -> bool {
    let segments = api_segments(&exchange.uri);
    exchange.method == "GET"
        && segments.len() >= 3
        && segments[0] == "api"
        && segments[1] == "v1"
        && (segments[2] == "users" || segments[2] == "groups")
}

fn path_and_query(uri: &str) -> String {
    let url = url::Url::parse(uri).expect("recorded URI parses");
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Adds one more user, sorted last, when the recording shows a `next` link,
/// because the real org then had more users than the recording names.
async fn ensure_next_page_exists(harness: &Harness, exchange: &RecordedExchange) {
    let has_next = header_values(exchange, "link")
        .iter()
        .any(|link| link.contains("rel=\"next\""));
    if !has_next || api_segments(&exchange.uri) != ["api", "v1", "users"] {
        return;
    }
    let filler =
        json!({"id": "00uzzzzzzzzzzzzzzzzz", "profile": {"login": "filler@replay.example"}});
    let reply = harness
        .control(
            Method::PUT,
            "/_fake/users/00uzzzzzzzzzzzzzzzzz",
            Some(filler),
        )
        .await;
    assert_eq!(reply.status, 200, "filler user added: {:?}", reply.body);
}

/// Applies a successful recorded change through the control API.
async fn apply_change(harness: &Harness, exchange: &RecordedExchange) {
    let segments = api_segments(&exchange.uri);
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (exchange.method.as_str(), parts.as_slice()) {
        ("DELETE", ["api", "v1", "users", id]) => delete_user(harness, id).await,
        ("POST", ["api", "v1", "users", id, "lifecycle", "deactivate"]) => {
            set_status(harness, id, "DEPROVISIONED").await;
        }
        ("DELETE", ["api", "v1", "groups", id]) => {
            let path = format!("/_fake/groups/{id}");
            harness.control(Method::DELETE, &path, None).await;
        }
        ("PUT", ["api", "v1", "groups", group, "users", user]) => {
            let path = format!("/_fake/groups/{group}/users/{user}");
            harness.control(Method::PUT, &path, None).await;
        }
        ("DELETE", ["api", "v1", "groups", group, "users", user]) => {
            let path = format!("/_fake/groups/{group}/users/{user}");
            harness.control(Method::DELETE, &path, None).await;
        }
        ("PUT" | "POST", ["api", "v1", "groups", id]) => {
            let body = exchange
                .body
                .as_deref()
                .and_then(|text| serde_json::from_str::<Value>(text).ok());
            let path = format!("/_fake/groups/{id}");
            harness.control(Method::PUT, &path, body).await;
        }
        _ => {}
    }
}

/// Okta's first `DELETE` of a user deactivates it; the second deletes it.
async fn delete_user(harness: &Harness, id: &str) {
    let status = {
        let org = harness.fake.org_handle();
        let status = org.read().user(id).map(|user| user.status().to_owned());
        status
    };
    match status.as_deref() {
        Some("DEPROVISIONED") => {
            harness
                .control(Method::DELETE, &format!("/_fake/users/{id}"), None)
                .await;
        }
        Some(_) => set_status(harness, id, "DEPROVISIONED").await,
        None => {}
    }
}

async fn set_status(harness: &Harness, id: &str, status: &str) {
    let body = json!({ "status": status });
    harness
        .control(Method::PUT, &format!("/_fake/users/{id}"), Some(body))
        .await;
}

fn header_values(exchange: &RecordedExchange, name: &str) -> Vec<String> {
    exchange
        .response_headers
        .get(name)
        .cloned()
        .unwrap_or_default()
}

fn compare(request: &str, exchange: &RecordedExchange, reply: &Reply, findings: &mut Findings) {
    if reply.status.as_u16() != exchange.status {
        findings.push(format!(
            "{request}: status {} instead of {}",
            reply.status, exchange.status
        ));
        return;
    }
    compare_headers(request, exchange, reply, findings);
    let recorded: Value = exchange
        .body
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null);
    compare_shape(
        &format!("{request}: body"),
        &recorded,
        &reply.body,
        findings,
    );
}

fn compare_headers(
    request: &str,
    exchange: &RecordedExchange,
    reply: &Reply,
    findings: &mut Findings,
) {
    for name in [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        if exchange.response_headers.contains_key(name) && !reply.headers.contains_key(name) {
            findings.push(format!("{request}: no {name} header"));
        }
    }
    let recorded_type = header_values(exchange, "content-type").join(",");
    let own_type = reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if media_type(&recorded_type) != media_type(own_type) {
        findings.push(format!(
            "{request}: content type {own_type:?} instead of {recorded_type:?}"
        ));
    }

    // Older recordings kept only the last `Link` header, so every recorded
    // link must be present, and a response recorded without links must
    // have none.
    let recorded_links = normalized_links(&header_values(exchange, "link"));
    let own_links = normalized_links(&reply.links());
    for link in &recorded_links {
        if !own_links.contains(link) {
            findings.push(format!("{request}: no link {link:?}; sent {own_links:?}"));
        }
    }
    if recorded_links.is_empty() && !own_links.is_empty() {
        findings.push(format!("{request}: unexpected links {own_links:?}"));
    }
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Links as `rel path?query`, without scheme and host and with the opaque
/// `after` cursor blanked. The YAML writer may fold recorded link values
/// across lines, so whitespace is normalized.
fn normalized_links(values: &[String]) -> Vec<String> {
    values
        .iter()
        .filter_map(|value| {
            let link = value.split_whitespace().collect::<Vec<_>>().join(" ");
            let (url, relation) = link.trim_start_matches('<').split_once(">;")?;
            let url = url::Url::parse(url).ok()?;
            let path = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            };
            Some(format!("{} {}", relation.trim(), blank_cursor(&path)))
        })
        .collect()
}

fn blank_cursor(url: &str) -> String {
    let Some((path, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            if pair.starts_with("after=") {
                "after=CURSOR".to_owned()
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// Compares two JSON values by shape: the same type everywhere, the same
/// keys in every object and the same array lengths.
fn compare_shape(at: &str, recorded: &Value, own: &Value, findings: &mut Findings) {
    match (recorded, own) {
        (Value::Object(left), Value::Object(right)) => {
            let left_keys: Vec<&String> = left.keys().collect();
            let mut right_keys: Vec<&String> = right.keys().collect();
            let mut sorted_left = left_keys.clone();
            sorted_left.sort();
            right_keys.sort();
            if sorted_left != right_keys {
                findings.push(format!(
                    "{at}: keys {right_keys:?} instead of {sorted_left:?}"
                ));
                return;
            }
            for (key, value) in left {
                compare_shape(&format!("{at}.{key}"), value, &right[key], findings);
            }
        }
        (Value::Array(left), Value::Array(right)) => {
            if left.len() != right.len() {
                findings.push(format!(
                    "{at}: {} items instead of {}",
                    right.len(),
                    left.len()
                ));
                return;
            }
            for (index, (left, right)) in left.iter().zip(right).enumerate() {
                compare_shape(&format!("{at}[{index}]"), left, right, findings);
            }
        }
        _ if kind(recorded) != kind(own) => {
            findings.push(format!("{at}: {} instead of {}", kind(own), kind(recorded)));
        }
        _ => {}
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn shape_comparison_catches_differences() {
    let mut findings = Findings::new();
    compare_shape(
        "x",
        &json!({"a": 1, "b": [1]}),
        &json!({"a": "1", "b": [1, 2]}),
        &mut findings,
    );
    assert_eq!(findings.len(), 2, "{findings:?}");
}

#[test]
fn links_normalized_without_host_and_cursor() {
    let links = normalized_links(&[
        "<https://test.okta.com/api/v1/users?after=000u1&limit=1>;\n rel=\"next\"".to_owned(),
    ]);
    assert_eq!(links, ["rel=\"next\" /api/v1/users?after=CURSOR&limit=1"]);
}

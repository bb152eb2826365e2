//! Helpers for the client's integration tests: a loopback HTTP server, a
//! token endpoint that checks client assertions the way Okta does, and a
//! raw TCP server for broken responses that axum cannot produce.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{decode, DecodingKey, Validation};
use orgsync_okta::{ApiToken, ClientConfig, Credentials, PrivateKey};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

pub const CLIENT_ID: &str = "0oaTestClient";
pub const KEY_ID: &str = "test-key-1";

/// A server on a loopback port, stopped when dropped.
pub struct Server {
    pub base_url: Url,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Serves the router that `build` makes for the server's base URL.
pub async fn serve(build: impl FnOnce(&Url) -> Router) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    let base_url = Url::parse(&format!("http://{address}")).expect("URL");
    let router = build(&base_url);
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Server { base_url, handle }
}

/// Generates a P-256 key for one test.
pub fn test_key() -> PrivateKey {
    use p256::elliptic_curve::Generate as _;
    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
    let pem = p256::SecretKey::generate()
        .to_pkcs8_pem(LineEnding::LF)
        .expect("encode key");
    PrivateKey::parse(&pem).expect("parse key")
}

/// Builds a config with short timeouts, so failing tests end quickly.
pub fn config(base_url: &Url, key: &PrivateKey) -> ClientConfig {
    let credentials = Credentials::PrivateKey {
        client_id: CLIENT_ID.to_owned(),
        key: key.clone(),
        key_id: Some(KEY_ID.to_owned()),
    };
    let mut config = ClientConfig::new(base_url.clone(), credentials);
    config.request_timeout = Duration::from_secs(5);
    config.max_retries = 3;
    config
}

pub fn api_token_config(base_url: &Url) -> ClientConfig {
    let mut config = ClientConfig::new(
        base_url.clone(),
        Credentials::ApiToken(ApiToken::new("00apiTokenForTests")),
    );
    config.request_timeout = Duration::from_secs(5);
    config.max_retries = 3;
    config
}

pub fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

pub fn user(id: &str) -> Value {
    json!({
        "id": id,
        "status": "ACTIVE",
        "profile": { "login": format!("{id}@example.com"), "email": format!("{id}@example.com") }
    })
}

pub fn users(prefix: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| user(&format!("{prefix}{i:04}")))
        .collect()
}

/// Builds the `X-Rate-Limit-*` headers.
pub fn rate_limit_headers(limit: u32, remaining: u32, reset: u64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("x-rate-limit-limit", limit.to_string()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", reset.to_string()),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("header value"),
        );
    }
    headers
}

pub fn okta_error(status: StatusCode, code: &str, summary: &str, causes: &[&str]) -> Response {
    let body = json!({
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oaeTest",
        "errorCauses": causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
    });
    (status, Json(body)).into_response()
}

/// Okta's published error catalogues, read at run time.
pub fn reference(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/okta-reference/errors")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    serde_json::from_str(&text).expect("catalogue is JSON")
}

/// Returns the summary of a Management API error code in Okta's catalogue.
pub fn error_summary(code: &str) -> String {
    reference("error-codes.json")["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .find(|entry| entry["errorCode"] == code)
        .and_then(|entry| entry["errorSummary"].as_str())
        .unwrap_or_else(|| panic!("{code} not in catalogue"))
        .to_owned()
}

/// Returns the `(error, error_description)` of an internal OAuth error code.
pub fn oauth_error(internal_code: &str) -> (String, String) {
    let catalogue = reference("oauth2-error-codes.json");
    let entry = catalogue["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .find(|entry| entry["internalErrorCode"] == internal_code)
        .unwrap_or_else(|| panic!("{internal_code} not in catalogue"))
        .clone();
    (
        entry["errorCode"].as_str().expect("code").to_owned(),
        entry["errorDescription"]
            .as_str()
            .expect("description")
            .to_owned(),
    )
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: String,
    iat: u64,
    exp: u64,
    jti: String,
}

/// A scripted failure of the token endpoint for the first requests.
#[derive(Clone)]
pub enum TokenFailure {
    /// Responds with this status and an empty JSON object.
    Status(StatusCode),
    /// Responds with an OAuth error.
    OAuth(StatusCode, String, String),
}

/// State of the checking token endpoint.
pub struct TokenEndpoint {
    decoding: DecodingKey,
    algorithm: jsonwebtoken::Algorithm,
    audience: String,
    /// Every `jti` received, valid or not, as Okta consumes them all.
    pub jtis: Mutex<Vec<String>>,
    pub issued: AtomicUsize,
    failures: Mutex<Vec<TokenFailure>>,
    /// Errors found in assertions; tests assert this stays empty.
    pub problems: Mutex<Vec<String>>,
    pub form_scopes: Mutex<Vec<String>>,
}

impl TokenEndpoint {
    pub fn new(
        key: &PrivateKey,
        base_url: &Url,
        failures: Vec<TokenFailure>,
    ) -> Arc<TokenEndpoint> {
        let jwk: Jwk = serde_json::from_value(key.public_jwk()).expect("JWK");
        Arc::new(TokenEndpoint {
            decoding: DecodingKey::from_jwk(&jwk).expect("decoding key"),
            algorithm: match key.algorithm() {
                orgsync_okta::SigningAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
                orgsync_okta::SigningAlgorithm::Es256 => jsonwebtoken::Algorithm::ES256,
                orgsync_okta::SigningAlgorithm::Es384 => jsonwebtoken::Algorithm::ES384,
            },
            audience: base_url.join("oauth2/v1/token").expect("URL").to_string(),
            jtis: Mutex::new(Vec::new()),
            issued: AtomicUsize::new(0),
            failures: Mutex::new(failures),
            problems: Mutex::new(Vec::new()),
            form_scopes: Mutex::new(Vec::new()),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/oauth2/v1/token", post(token_handler))
            .with_state(Arc::clone(self))
    }

    fn check(&self, form: &HashMap<String, String>) -> Result<(), String> {
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return Err("grant_type".to_owned());
        }
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err("client_assertion_type".to_owned());
        }
        let assertion = form.get("client_assertion").ok_or("no assertion")?;
        let header = jsonwebtoken::decode_header(assertion).map_err(|e| e.to_string())?;
        if header.kid.as_deref() != Some(KEY_ID) {
            return Err(format!("kid {:?}", header.kid));
        }
        let mut validation = Validation::new(self.algorithm);
        validation.set_audience(&[&self.audience]);
        let claims = decode::<AssertionClaims>(assertion, &self.decoding, &validation)
            .map_err(|e| e.to_string())?
            .claims;
        let mut jtis = self.jtis.lock().expect("lock");
        let reused = jtis.contains(&claims.jti);
        jtis.push(claims.jti.clone());
        if reused {
            return Err(format!("jti {} reused", claims.jti));
        }
        if claims.iss != CLIENT_ID || claims.sub != CLIENT_ID || claims.aud != self.audience {
            return Err(format!("claims {claims:?}"));
        }
        if claims.exp != claims.iat + 300 {
            return Err(format!("lifetime {}", claims.exp - claims.iat));
        }
        Ok(())
    }
}

async fn token_handler(
    State(endpoint): State<Arc<TokenEndpoint>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let checked = endpoint.check(&form);
    if let Some(scope) = form.get("scope") {
        endpoint
            .form_scopes
            .lock()
            .expect("lock")
            .push(scope.clone());
    }
    let failure = {
        let mut failures = endpoint.failures.lock().expect("lock");
        (!failures.is_empty()).then(|| failures.remove(0))
    };
    if let Err(problem) = checked {
        endpoint.problems.lock().expect("lock").push(problem);
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    match failure {
        Some(TokenFailure::Status(status)) => return (status, Json(json!({}))).into_response(),
        Some(TokenFailure::OAuth(status, error, description)) => {
            return (
                status,
                Json(json!({"error": error, "error_description": description})),
            )
                .into_response()
        }
        None => {}
    }
    let number = endpoint.issued.fetch_add(1, Ordering::SeqCst) + 1;
    Json(json!({
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": format!("access-token-{number}"),
        "scope": form.get("scope").cloned().unwrap_or_default(),
    }))
    .into_response()
}

/// What the raw server does with one connection.
#[derive(Clone, Debug)]
pub enum RawReply {
    /// A complete 200 response with this JSON body.
    Full(String),
    /// Declares the full length, sends half the body, closes.
    Truncated(String),
    /// Closes the connection without a response.
    Drop,
}

/// Starts a TCP server that reads one request per connection and sends the
/// next scripted reply. The last reply repeats.
pub async fn raw_server(
    script: Vec<RawReply>,
) -> (Url, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let handle = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let index = counter.fetch_add(1, Ordering::SeqCst);
            let reply = script[index.min(script.len() - 1)].clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let bytes = match reply {
                    RawReply::Drop => Vec::new(),
                    RawReply::Full(body) => response_bytes(&body, body.len()),
                    RawReply::Truncated(body) => {
                        let mut bytes = response_bytes(&body, body.len());
                        bytes.truncate(bytes.len() - body.len() / 2);
                        bytes
                    }
                };
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    let url = Url::parse(&format!("http://{address}")).expect("URL");
    (url, connections, handle)
}

fn response_bytes(body: &str, declared_length: usize) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {declared_length}\r\nconnection: close\r\n\r\n{body}"
    )
    .into_bytes()
}

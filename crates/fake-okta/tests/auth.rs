//! The token endpoint and API authorization seen by a real HTTP client.
//!
//! Each test starts the auth router, plus two stand-in API routes that call
//! `AuthState::authorize`, on a loopback port and talks to it with reqwest.
//! Client assertions and DPoP proofs are signed with `jsonwebtoken`, the way
//! Rust clients make them, except for ES512, which `jsonwebtoken` lacks.
//!
//! Expected error bodies are read at run time from Okta's published error
//! catalogues in the shared `okta-reference` folder beside the workspace.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fake_okta::auth::{
    self, generate_credentials, AdminScope, ApplicationType, AuthConfig, AuthState,
    ClientRegistration, GeneratedCredentials, KeyKind, TestClock, TokenEndpointAuthMethod,
};
use http::{HeaderMap, Method, Uri};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

const USERS_READ: &str = "okta.users.read";
const GROUPS_READ: &str = "okta.groups.read";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// ---------------------------------------------------------------------------
// Okta's error catalogues
// ---------------------------------------------------------------------------

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/okta-reference")
}

/// One OAuth error from `oauth2-error-codes.json`.
#[derive(Debug, Clone)]
struct OauthCatalogEntry {
    status: u16,
    error: String,
    description: String,
}

/// Returns the OAuth catalogue entry with `internalErrorCode` equal to `code`.
fn oauth_entry(code: &str) -> OauthCatalogEntry {
    static CATALOGUE: OnceLock<HashMap<String, OauthCatalogEntry>> = OnceLock::new();
    let catalogue = CATALOGUE.get_or_init(|| {
        let path = reference_dir().join("errors/oauth2-error-codes.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let document: Value = serde_json::from_str(&text).unwrap();
        document["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                let parsed = OauthCatalogEntry {
                    status: entry["statusCode"].as_u64().unwrap() as u16,
                    error: entry["errorCode"].as_str().unwrap().to_owned(),
                    description: entry["errorDescription"].as_str().unwrap().to_owned(),
                };
                (
                    entry["internalErrorCode"].as_str().unwrap().to_owned(),
                    parsed,
                )
            })
            .collect()
    });
    catalogue
        .get(code)
        .unwrap_or_else(|| panic!("no OAuth error {code} in the catalogue"))
        .clone()
}

/// Returns `(status, errorSummary)` for an `E0000…` code from `error-codes.json`.
fn api_entry(code: &str) -> (u16, String) {
    let path = reference_dir().join("errors/error-codes.json");
    let document: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entry = document["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["errorCode"] == code)
        .unwrap_or_else(|| panic!("no API error {code} in the catalogue"));
    (
        entry["statusCode"].as_u64().unwrap() as u16,
        entry["errorSummary"].as_str().unwrap().to_owned(),
    )
}

/// Asserts that `response` is the OAuth error `code` with the catalogue's
/// status, `error` and `error_description`. The catalogue writes list
/// placeholders as `[en]`; `fill` replaces them.
async fn assert_oauth_error(response: reqwest::Response, code: &str, fill: Option<&str>) {
    let entry = oauth_entry(code);
    let expected_description = match fill {
        Some(fill) => entry.description.replace("[en]", &format!("[{fill}]")),
        None => entry.description.clone(),
    };

    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, entry.status, "status for {code}, body {body}");
    assert_eq!(body["error"], entry.error.as_str(), "error for {code}");
    assert_eq!(
        body["error_description"],
        expected_description.as_str(),
        "error_description for {code}"
    );
}

/// Asserts that `response` is the Management API error `code` with the
/// catalogue's status and summary.
async fn assert_api_error(response: reqwest::Response, code: &str) {
    let (status, summary) = api_entry(code);
    assert_eq!(response.status().as_u16(), status, "status for {code}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], code, "errorCode");
    assert_eq!(
        body["errorSummary"],
        summary.as_str(),
        "errorSummary for {code}"
    );
}

// ---------------------------------------------------------------------------
// Credentials, shared by all tests because RSA key generation is slow-ish
// ---------------------------------------------------------------------------

fn credentials(kind: KeyKind, seed: u64) -> &'static GeneratedCredentials {
    static CACHE: OnceLock<
        std::sync::Mutex<HashMap<(KeyKind, u64), &'static GeneratedCredentials>>,
    > = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    if let Some(found) = cache.get(&(kind, seed)) {
        return found;
    }
    let generated: &'static GeneratedCredentials =
        Box::leak(Box::new(generate_credentials(kind, Some(seed))));
    cache.insert((kind, seed), generated);
    generated
}

fn rsa_client() -> &'static GeneratedCredentials {
    credentials(KeyKind::Rsa2048, 1)
}

fn rsa_other_key() -> &'static GeneratedCredentials {
    credentials(KeyKind::Rsa2048, 2)
}

fn dpop_key() -> &'static GeneratedCredentials {
    credentials(KeyKind::Rsa2048, 3)
}

fn encoding_key(credentials: &GeneratedCredentials) -> EncodingKey {
    let pem = credentials.private_key_pem.as_bytes();
    match credentials.key_kind().unwrap() {
        KeyKind::Rsa2048 => EncodingKey::from_rsa_pem(pem).unwrap(),
        _ => EncodingKey::from_ec_pem(pem).unwrap(),
    }
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn random_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

// ---------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------

struct Fake {
    base: String,
    state: AuthState,
    clock: Arc<TestClock>,
    http: reqwest::Client,
}

/// Stand-in for the `/api/v1` handlers: authorize, then echo the principal.
async fn api(
    State(state): State<AuthState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let scope = if uri.path().starts_with("/api/v1/groups") {
        GROUPS_READ
    } else {
        USERS_READ
    };
    match state.authorize(&method, &uri, &headers, scope) {
        Ok(principal) => Json(json!({
            "client_id": principal.client_id,
            "scopes": principal.scopes,
        }))
        .into_response(),
        Err(response) => response,
    }
}

impl Fake {
    async fn start(clients: Vec<ClientRegistration>) -> Self {
        Self::start_with_ttl(clients, Duration::from_secs(3600)).await
    }

    async fn start_with_ttl(clients: Vec<ClientRegistration>, token_ttl: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let clock = Arc::new(TestClock::starting_now());
        let config = AuthConfig {
            clients,
            token_ttl,
            clock: clock.clone(),
        };
        let state = AuthState::new(config, base.clone());

        let api_routes = Router::new()
            .route("/api/v1/users", get(api))
            .route("/api/v1/groups", get(api))
            .with_state(state.clone());
        let app = auth::router(state.clone()).merge(api_routes);
        tokio::spawn(async move { axum::serve(listener, app).await });

        Self {
            base,
            state,
            clock,
            http: reqwest::Client::new(),
        }
    }

    fn token_url(&self) -> String {
        format!("{}/oauth2/v1/token", self.base)
    }

    fn now(&self) -> SystemTime {
        use fake_okta::auth::Clock;
        self.clock.now()
    }

    /// Returns the claims of a valid assertion for `client_id`.
    fn claims(&self, client_id: &str) -> Value {
        let now = unix(self.now());
        json!({
            "iss": client_id,
            "sub": client_id,
            "aud": self.token_url(),
            "iat": now,
            "exp": now + 300,
            "jti": random_jti(),
        })
    }

    /// Signs a valid assertion with `jsonwebtoken`.
    fn assertion(&self, credentials: &GeneratedCredentials, algorithm: Algorithm) -> String {
        let claims = self.claims(&credentials.client_id);
        sign(credentials, algorithm, Some(&credentials.key_id), &claims)
    }

    async fn token_request(
        &self,
        assertion: &str,
        scope: &str,
        dpop: Option<&str>,
    ) -> reqwest::Response {
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ];
        self.post_form(&form, dpop).await
    }

    async fn post_form(&self, form: &[(&str, &str)], dpop: Option<&str>) -> reqwest::Response {
        let mut request = self.http.post(self.token_url()).form(form);
        if let Some(proof) = dpop {
            request = request.header("DPoP", proof);
        }
        request.send().await.unwrap()
    }

    async fn get(
        &self,
        path: &str,
        authorization: Option<&str>,
        dpop: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        if let Some(proof) = dpop {
            request = request.header("DPoP", proof);
        }
        request.send().await.unwrap()
    }

    /// Gets a Bearer token for a registered, non-DPoP client.
    async fn bearer_token(&self, credentials: &GeneratedCredentials, scope: &str) -> String {
        let assertion = self.assertion(credentials, Algorithm::RS256);
        let response = self.token_request(&assertion, scope, None).await;
        assert_eq!(response.status(), 200, "token request failed");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Signs a DPoP proof for `method` and `url` with the DPoP test key.
    fn dpop_proof(&self, method: &str, url: &str, extra: Value) -> String {
        let key = dpop_key();
        let mut claims = json!({
            "jti": random_jti(),
            "htm": method,
            "htu": url,
            "iat": unix(self.now()),
        });
        for (name, value) in extra.as_object().unwrap() {
            claims[name] = value.clone();
        }
        dpop_proof_with(key, "dpop+jwt", &claims)
    }

    /// Runs the nonce exchange and returns a DPoP-bound token and the nonce.
    async fn dpop_token(&self, credentials: &GeneratedCredentials) -> (String, String) {
        let token_url = self.token_url();
        let first = self
            .token_request(
                &self.assertion(credentials, Algorithm::RS256),
                USERS_READ,
                Some(&self.dpop_proof("POST", &token_url, json!({}))),
            )
            .await;
        let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();

        let proof = self.dpop_proof("POST", &token_url, json!({ "nonce": nonce }));
        let second = self
            .token_request(
                &self.assertion(credentials, Algorithm::RS256),
                USERS_READ,
                Some(&proof),
            )
            .await;
        assert_eq!(second.status(), 200, "DPoP token request failed");
        let body: Value = second.json().await.unwrap();
        (body["access_token"].as_str().unwrap().to_owned(), nonce)
    }
}

fn sign(
    credentials: &GeneratedCredentials,
    algorithm: Algorithm,
    kid: Option<&str>,
    claims: &Value,
) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &encoding_key(credentials)).unwrap()
}

fn dpop_proof_with(key: &GeneratedCredentials, typ: &str, claims: &Value) -> String {
    let mut public_jwk = key.public_jwk.clone();
    public_jwk.as_object_mut().unwrap().remove("kid");
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some(typ.to_owned());
    header.jwk = Some(serde_json::from_value(public_jwk).unwrap());
    jsonwebtoken::encode(&header, claims, &encoding_key(key)).unwrap()
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn registration(credentials: &GeneratedCredentials) -> ClientRegistration {
    credentials.registration(&[USERS_READ, GROUPS_READ])
}

fn dpop_registration(credentials: &GeneratedCredentials) -> ClientRegistration {
    ClientRegistration {
        dpop_required: true,
        ..registration(credentials)
    }
}

// ---------------------------------------------------------------------------
// Successful token requests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn rsa_assertion_gets_bearer_token() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let response = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            "okta.users.read okta.groups.read",
            None,
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-cache, no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "okta.users.read okta.groups.read");
    assert!(body["access_token"]
        .as_str()
        .is_some_and(|token| token.len() > 20));
}

#[tokio::test]
async fn access_token_is_jwt_with_okta_claims() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let token = fake.bearer_token(client, USERS_READ).await;

    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["cid"], client.client_id.as_str());
    assert_eq!(claims["iss"], fake.base.as_str());
    assert_eq!(claims["scp"], json!([USERS_READ]));
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
}

#[tokio::test]
async fn rsa_token_works_on_api() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;
    let token = fake.bearer_token(client, USERS_READ).await;

    let response = fake
        .get("/api/v1/users", Some(&format!("Bearer {token}")), None)
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], client.client_id.as_str());
}

#[tokio::test]
async fn rs384_and_rs512_assertions_accepted() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    for algorithm in [Algorithm::RS384, Algorithm::RS512] {
        let response = fake
            .token_request(&fake.assertion(client, algorithm), USERS_READ, None)
            .await;
        assert_eq!(response.status(), 200, "{algorithm:?}");
    }
}

#[tokio::test]
async fn ec_p256_assertion_gets_token() {
    let client = credentials(KeyKind::EcP256, 10);
    let fake = Fake::start(vec![registration(client)]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::ES256), USERS_READ, None)
        .await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn ec_p384_assertion_gets_token() {
    let client = credentials(KeyKind::EcP384, 11);
    let fake = Fake::start(vec![registration(client)]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::ES384), USERS_READ, None)
        .await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn ec_p521_assertion_gets_token() {
    let client = credentials(KeyKind::EcP521, 12);
    let fake = Fake::start(vec![registration(client)]).await;

    let assertion = client
        .client_assertion(&fake.token_url(), fake.now())
        .unwrap();
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn assertion_without_kid_uses_only_key() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let assertion = sign(
        client,
        Algorithm::RS256,
        None,
        &fake.claims(&client.client_id),
    );
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn mint_access_token_works_on_api() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let token = fake
        .state
        .mint_access_token(&client.client_id, &[GROUPS_READ])
        .unwrap();
    let response = fake
        .get("/api/v1/groups", Some(&format!("Bearer {token}")), None)
        .await;

    assert_eq!(response.status(), 200);
}

// ---------------------------------------------------------------------------
// Rejected client assertions
// ---------------------------------------------------------------------------

#[tokio::test]
async fn bad_signature_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let claims = fake.claims(&client.client_id);
    let assertion = sign(
        rsa_other_key(),
        Algorithm::RS256,
        Some(&client.key_id),
        &claims,
    );
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_invalid_signature", None).await;
}

#[tokio::test]
async fn ec_bad_signature_rejected() {
    let client = credentials(KeyKind::EcP256, 10);
    let fake = Fake::start(vec![registration(client)]).await;

    let claims = fake.claims(&client.client_id);
    let other = credentials(KeyKind::EcP256, 13);
    let assertion = sign(other, Algorithm::ES256, Some(&client.key_id), &claims);
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_invalid_signature", None).await;
}

#[tokio::test]
async fn tampered_claims_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let assertion = fake.assertion(client, Algorithm::RS256);
    let mut parts: Vec<String> = assertion.split('.').map(str::to_owned).collect();
    let mut claims = fake.claims(&client.client_id);
    claims["exp"] = json!(unix(fake.now()) + 600);
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let response = fake.token_request(&parts.join("."), USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_invalid_signature", None).await;
}

#[tokio::test]
async fn unknown_kid_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let claims = fake.claims(&client.client_id);
    let assertion = sign(client, Algorithm::RS256, Some("no-such-key"), &claims);
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_invalid_kid", None).await;
}

#[tokio::test]
async fn alg_not_matching_key_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    // An RSA signature labelled ES256.
    let assertion = fake.assertion(client, Algorithm::RS256);
    let mut parts: Vec<String> = assertion.split('.').map(str::to_owned).collect();
    let header = json!({ "alg": "ES256", "kid": client.key_id, "typ": "JWT" });
    parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
    let response = fake.token_request(&parts.join("."), USERS_READ, None).await;

    assert_oauth_error(
        response,
        "client_assertion_invalid_signature_algorithm",
        None,
    )
    .await;
}

#[tokio::test]
async fn ps256_assertion_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::PS256), USERS_READ, None)
        .await;

    assert_oauth_error(
        response,
        "client_assertion_invalid_signature_algorithm",
        None,
    )
    .await;
}

#[tokio::test]
async fn hs256_assertion_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(client.key_id.clone());
    let secret =
        EncodingKey::from_secret(client.public_jwk["n"].as_str().unwrap().as_bytes()).unwrap();
    let claims = fake.claims(&client.client_id);
    let assertion = jsonwebtoken::encode(&header, &claims, &secret).unwrap();
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(
        response,
        "client_assertion_invalid_signature_algorithm",
        None,
    )
    .await;
}

#[tokio::test]
async fn alg_none_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let header = json!({ "alg": "none", "typ": "JWT" });
    let claims = fake.claims(&client.client_id);
    let assertion = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(
        response,
        "client_assertion_invalid_signature_algorithm",
        None,
    )
    .await;
}

#[tokio::test]
async fn unparsable_assertion_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let response = fake.token_request("not-a-jwt", USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_invalid_jwt", None).await;
}

#[tokio::test]
async fn sub_differing_from_iss_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let mut claims = fake.claims(&client.client_id);
    claims["sub"] = json!("0oasomeoneelse00000");
    let assertion = sign(client, Algorithm::RS256, Some(&client.key_id), &claims);
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_invalid_subject", None).await;
}

#[tokio::test]
async fn iss_differing_from_client_id_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let mut claims = fake.claims(&client.client_id);
    claims["iss"] = json!("0oasomeoneelse00000");
    let assertion = sign(client, Algorithm::RS256, Some(&client.key_id), &claims);
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", USERS_READ),
        ("client_id", client.client_id.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let response = fake.post_form(&form, None).await;

    assert_oauth_error(response, "client_assertion_invalid_issuer", None).await;
}

#[tokio::test]
async fn wrong_audience_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let mut claims = fake.claims(&client.client_id);
    claims["aud"] = json!(format!("{}/oauth2/default/v1/token", fake.base));
    let assertion = sign(client, Algorithm::RS256, Some(&client.key_id), &claims);
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_invalid_audience", None).await;
}

#[tokio::test]
async fn expired_assertion_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let mut claims = fake.claims(&client.client_id);
    claims["iat"] = json!(unix(fake.now()) - 600);
    claims["exp"] = json!(unix(fake.now()) - 1);
    let assertion = sign(client, Algorithm::RS256, Some(&client.key_id), &claims);
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_expired_token", None).await;
}

#[tokio::test]
async fn assertion_expiring_after_an_hour_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let mut claims = fake.claims(&client.client_id);
    claims["exp"] = json!(unix(fake.now()) + 3601);
    let assertion = sign(client, Algorithm::RS256, Some(&client.key_id), &claims);
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_expires_too_far_in_future", None).await;
}

#[tokio::test]
async fn assertion_expiring_in_exactly_an_hour_accepted() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let mut claims = fake.claims(&client.client_id);
    claims["exp"] = json!(unix(fake.now()) + 3600);
    let assertion = sign(client, Algorithm::RS256, Some(&client.key_id), &claims);
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn assertion_without_exp_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let mut claims = fake.claims(&client.client_id);
    claims.as_object_mut().unwrap().remove("exp");
    let assertion = sign(client, Algorithm::RS256, Some(&client.key_id), &claims);
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_expiration_required", None).await;
}

#[tokio::test]
async fn iat_in_future_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let mut claims = fake.claims(&client.client_id);
    claims["iat"] = json!(unix(fake.now()) + 60);
    let assertion = sign(client, Algorithm::RS256, Some(&client.key_id), &claims);
    let response = fake.token_request(&assertion, USERS_READ, None).await;

    assert_oauth_error(response, "client_assertion_issued_at_in_future", None).await;
}

#[tokio::test]
async fn reused_jti_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;
    let assertion = fake.assertion(client, Algorithm::RS256);

    let first = fake.token_request(&assertion, USERS_READ, None).await;
    let second = fake.token_request(&assertion, USERS_READ, None).await;

    assert_eq!(first.status(), 200);
    assert_oauth_error(second, "client_assertion_already_used", None).await;
}

#[tokio::test]
async fn jti_used_up_by_failed_request() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;
    let assertion = fake.assertion(client, Algorithm::RS256);

    let failed = fake
        .token_request(&assertion, "okta.users.manage", None)
        .await;
    let retried = fake.token_request(&assertion, USERS_READ, None).await;

    assert_eq!(failed.status(), 400);
    assert_oauth_error(retried, "client_assertion_already_used", None).await;
}

#[tokio::test]
async fn unknown_client_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::RS256), USERS_READ, None)
        .await;

    assert_oauth_error(response, "invalid_client", None).await;
}

#[tokio::test]
async fn removed_client_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let removed = fake.state.remove_client(&client.client_id);
    let response = fake
        .token_request(&fake.assertion(client, Algorithm::RS256), USERS_READ, None)
        .await;

    assert!(removed);
    assert_oauth_error(response, "invalid_client", None).await;
}

#[tokio::test]
async fn client_without_jwks_rejected() {
    let client = rsa_client();
    let mut registration = registration(client);
    registration.jwks.clear();
    let fake = Fake::start(vec![registration]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::RS256), USERS_READ, None)
        .await;

    assert_oauth_error(response, "client_assertion_jwks_not_configured", None).await;
}

#[tokio::test]
async fn client_secret_app_rejects_assertion() {
    let client = rsa_client();
    let mut registration = registration(client);
    registration.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretBasic;
    let fake = Fake::start(vec![registration]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::RS256), USERS_READ, None)
        .await;

    assert_oauth_error(response, "invalid_token_endpoint_auth_method", None).await;
}

#[tokio::test]
async fn web_app_rejected_for_client_credentials() {
    let client = rsa_client();
    let mut registration = registration(client);
    registration.application_type = ApplicationType::Web;
    registration
        .grant_types
        .insert("authorization_code".to_owned());
    let fake = Fake::start(vec![registration]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::RS256), USERS_READ, None)
        .await;

    assert_oauth_error(
        response,
        "invalid_application_type_client_credentials",
        None,
    )
    .await;
}

#[tokio::test]
async fn app_without_grant_rejected() {
    let client = rsa_client();
    let mut registration = registration(client);
    registration.application_type = ApplicationType::Web;
    registration.grant_types = BTreeSet::from(["authorization_code".to_owned()]);
    let fake = Fake::start(vec![registration]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::RS256), USERS_READ, None)
        .await;

    assert_oauth_error(response, "unauthorized_client", Some("authorization_code")).await;
}

// ---------------------------------------------------------------------------
// Rejected token request parameters
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unsupported_grant_type_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let assertion = fake.assertion(client, Algorithm::RS256);
    let form = [
        ("grant_type", "password"),
        ("scope", USERS_READ),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let response = fake.post_form(&form, None).await;

    assert_oauth_error(
        response,
        "unsupported_grant_type",
        Some("client_credentials"),
    )
    .await;
}

#[tokio::test]
async fn missing_grant_type_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let assertion = fake.assertion(client, Algorithm::RS256);
    let form = [
        ("scope", USERS_READ),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let response = fake.post_form(&form, None).await;

    assert_oauth_error(
        response,
        "token_request_missing_grant_type",
        Some("client_credentials"),
    )
    .await;
}

#[tokio::test]
async fn missing_assertion_rejected() {
    let fake = Fake::start(vec![registration(rsa_client())]).await;

    let form = [("grant_type", "client_credentials"), ("scope", USERS_READ)];
    let response = fake.post_form(&form, None).await;

    assert_oauth_error(response, "missing_client_credentials", None).await;
}

#[tokio::test]
async fn wrong_assertion_type_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let assertion = fake.assertion(client, Algorithm::RS256);
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", USERS_READ),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let response = fake.post_form(&form, None).await;

    assert_oauth_error(response, "client_assertion_type_invalid", None).await;
}

#[tokio::test]
async fn client_secret_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let form = [
        ("grant_type", "client_credentials"),
        ("scope", USERS_READ),
        ("client_id", client.client_id.as_str()),
        ("client_secret", "hunter2"),
    ];
    let response = fake.post_form(&form, None).await;

    assert_oauth_error(response, "unsupported_auth_method_client_creds", None).await;
}

#[tokio::test]
async fn duplicate_parameter_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let assertion = fake.assertion(client, Algorithm::RS256);
    let body = format!(
        "grant_type=client_credentials&scope=okta.users.read&scope=okta.groups.read\
         &client_assertion_type={}&client_assertion={assertion}",
        url::form_urlencoded::byte_serialize(JWT_BEARER.as_bytes()).collect::<String>()
    );
    let response = fake
        .http
        .post(fake.token_url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();

    assert_oauth_error(response, "duplicate_oauth_params", None).await;
}

#[tokio::test]
async fn get_on_token_endpoint_rejected() {
    let fake = Fake::start(vec![registration(rsa_client())]).await;

    let response = fake.http.get(fake.token_url()).send().await.unwrap();

    assert_eq!(response.headers()["allow"], "POST");
    assert_api_error(response, "E0000022").await;
}

#[tokio::test]
async fn scope_not_granted_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let response = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            "okta.users.read okta.users.manage",
            None,
        )
        .await;

    assert_oauth_error(response, "illegal_scope", Some("okta.users.manage")).await;
}

#[tokio::test]
async fn missing_scope_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let assertion = fake.assertion(client, Algorithm::RS256);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let response = fake.post_form(&form, None).await;

    assert_oauth_error(response, "missing_scopes", None).await;
}

#[tokio::test]
async fn openid_scope_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::RS256), "openid", None)
        .await;

    assert_oauth_error(response, "openid_not_allowed_client_creds", None).await;
}

// ---------------------------------------------------------------------------
// DPoP
// ---------------------------------------------------------------------------

#[tokio::test]
async fn dpop_token_request_without_proof_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;

    let response = fake
        .token_request(&fake.assertion(client, Algorithm::RS256), USERS_READ, None)
        .await;

    assert_oauth_error(response, "invalid_dpop_proof_missing_header", None).await;
}

#[tokio::test]
async fn dpop_proof_without_nonce_gets_nonce() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;

    let proof = fake.dpop_proof("POST", &fake.token_url(), json!({}));
    let response = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&proof),
        )
        .await;

    let nonce = response.headers().get("dpop-nonce").cloned();
    assert!(
        nonce.is_some_and(|nonce| !nonce.is_empty()),
        "dpop-nonce header"
    );
    assert_oauth_error(response, "use_dpop_nonce", None).await;
}

#[tokio::test]
async fn dpop_unknown_nonce_gets_nonce() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;

    let proof = fake.dpop_proof("POST", &fake.token_url(), json!({ "nonce": "made-up" }));
    let response = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&proof),
        )
        .await;

    assert_oauth_error(response, "use_dpop_nonce", None).await;
}

#[tokio::test]
async fn dpop_flow_gets_dpop_token() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let token_url = fake.token_url();

    let first = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&fake.dpop_proof("POST", &token_url, json!({}))),
        )
        .await;
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let proof = fake.dpop_proof("POST", &token_url, json!({ "nonce": nonce }));
    let second = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&proof),
        )
        .await;

    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["dpop-nonce"], nonce.as_str());
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["scope"], USERS_READ);
}

#[tokio::test]
async fn dpop_token_bound_to_proof_key() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;

    let (token, _) = fake.dpop_token(client).await;

    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(dpop_key().public_jwk.clone()).unwrap();
    let expected = jwk
        .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
        .unwrap();
    assert_eq!(claims["cnf"]["jkt"], expected.as_str());
}

#[tokio::test]
async fn dpop_nonce_reused_for_next_token() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let (_, nonce) = fake.dpop_token(client).await;

    let proof = fake.dpop_proof("POST", &fake.token_url(), json!({ "nonce": nonce }));
    let response = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&proof),
        )
        .await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn dpop_token_works_on_api() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let (token, _) = fake.dpop_token(client).await;

    let url = format!("{}/api/v1/users", fake.base);
    let proof = fake.dpop_proof("GET", &url, json!({ "ath": ath(&token) }));
    let response = fake
        .get(
            "/api/v1/users?limit=1",
            Some(&format!("DPoP {token}")),
            Some(&proof),
        )
        .await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn dpop_token_as_bearer_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let (token, _) = fake.dpop_token(client).await;

    let response = fake
        .get("/api/v1/users", Some(&format!("Bearer {token}")), None)
        .await;

    assert_oauth_error(response, "dpop_authentication_scheme_required", None).await;
}

#[tokio::test]
async fn dpop_token_without_proof_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let (token, _) = fake.dpop_token(client).await;

    let response = fake
        .get("/api/v1/users", Some(&format!("DPoP {token}")), None)
        .await;

    assert_oauth_error(response, "dpop_proof_required_for_token", None).await;
}

#[tokio::test]
async fn bearer_token_with_dpop_scheme_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;
    let token = fake.bearer_token(client, USERS_READ).await;

    let url = format!("{}/api/v1/users", fake.base);
    let proof = fake.dpop_proof("GET", &url, json!({ "ath": ath(&token) }));
    let response = fake
        .get(
            "/api/v1/users",
            Some(&format!("DPoP {token}")),
            Some(&proof),
        )
        .await;

    assert_oauth_error(response, "access_token_not_dpop_bound", None).await;
}

#[tokio::test]
async fn dpop_bad_htu_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let (token, _) = fake.dpop_token(client).await;

    let url = format!("{}/api/v1/groups", fake.base);
    let proof = fake.dpop_proof("GET", &url, json!({ "ath": ath(&token) }));
    let response = fake
        .get(
            "/api/v1/users",
            Some(&format!("DPoP {token}")),
            Some(&proof),
        )
        .await;

    assert_oauth_error(response, "invalid_dpop_proof_invalid_htu", None).await;
}

#[tokio::test]
async fn dpop_bad_htm_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let (token, _) = fake.dpop_token(client).await;

    let url = format!("{}/api/v1/users", fake.base);
    let proof = fake.dpop_proof("POST", &url, json!({ "ath": ath(&token) }));
    let response = fake
        .get(
            "/api/v1/users",
            Some(&format!("DPoP {token}")),
            Some(&proof),
        )
        .await;

    assert_oauth_error(response, "invalid_dpop_proof_invalid_htm", None).await;
}

#[tokio::test]
async fn dpop_bad_ath_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let (token, _) = fake.dpop_token(client).await;

    let url = format!("{}/api/v1/users", fake.base);
    let proof = fake.dpop_proof("GET", &url, json!({ "ath": ath("some other token") }));
    let response = fake
        .get(
            "/api/v1/users",
            Some(&format!("DPoP {token}")),
            Some(&proof),
        )
        .await;

    assert_oauth_error(response, "dpop_proof_invalid_ath", None).await;
}

#[tokio::test]
async fn dpop_proof_replay_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let (token, _) = fake.dpop_token(client).await;

    let url = format!("{}/api/v1/users", fake.base);
    let proof = fake.dpop_proof("GET", &url, json!({ "ath": ath(&token) }));
    let authorization = format!("DPoP {token}");
    let first = fake
        .get("/api/v1/users", Some(&authorization), Some(&proof))
        .await;
    let second = fake
        .get("/api/v1/users", Some(&authorization), Some(&proof))
        .await;

    assert_eq!(first.status(), 200);
    assert_oauth_error(second, "dpop_proof_already_used", None).await;
}

#[tokio::test]
async fn dpop_proof_from_other_key_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let (token, _) = fake.dpop_token(client).await;

    let claims = json!({
        "jti": random_jti(),
        "htm": "GET",
        "htu": format!("{}/api/v1/users", fake.base),
        "iat": unix(fake.now()),
        "ath": ath(&token),
    });
    let proof = dpop_proof_with(rsa_other_key(), "dpop+jwt", &claims);
    let response = fake
        .get(
            "/api/v1/users",
            Some(&format!("DPoP {token}")),
            Some(&proof),
        )
        .await;

    assert_oauth_error(response, "invalid_access_token_dpop_binding", None).await;
}

#[tokio::test]
async fn dpop_wrong_typ_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;

    let claims = json!({
        "jti": random_jti(),
        "htm": "POST",
        "htu": fake.token_url(),
        "iat": unix(fake.now()),
    });
    let proof = dpop_proof_with(dpop_key(), "JWT", &claims);
    let response = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&proof),
        )
        .await;

    assert_oauth_error(response, "invalid_dpop_proof_invalid_type", None).await;
}

#[tokio::test]
async fn dpop_old_proof_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;

    let iat = unix(fake.now()) - 301;
    let proof = fake.dpop_proof("POST", &fake.token_url(), json!({ "iat": iat }));
    let response = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&proof),
        )
        .await;

    assert_oauth_error(response, "invalid_dpop_proof_jwt_too_old", None).await;
}

#[tokio::test]
async fn dpop_future_proof_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;

    let iat = unix(fake.now()) + 60;
    let proof = fake.dpop_proof("POST", &fake.token_url(), json!({ "iat": iat }));
    let response = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&proof),
        )
        .await;

    assert_oauth_error(response, "invalid_dpop_proof_jwt_issued_in_future", None).await;
}

#[tokio::test]
async fn dpop_nonce_failure_uses_up_assertion() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let token_url = fake.token_url();
    let assertion = fake.assertion(client, Algorithm::RS256);

    let first = fake
        .token_request(
            &assertion,
            USERS_READ,
            Some(&fake.dpop_proof("POST", &token_url, json!({}))),
        )
        .await;
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let proof = fake.dpop_proof("POST", &token_url, json!({ "nonce": nonce }));
    let retried = fake
        .token_request(&assertion, USERS_READ, Some(&proof))
        .await;

    assert_oauth_error(retried, "client_assertion_already_used", None).await;
}

#[tokio::test]
async fn ec_p521_dpop_proof_accepted() {
    let client = rsa_client();
    let fake = Fake::start(vec![dpop_registration(client)]).await;
    let proof_key = credentials(KeyKind::EcP521, 14);
    let mut public_jwk = proof_key.public_jwk.clone();
    public_jwk.as_object_mut().unwrap().remove("kid");
    let token_url = fake.token_url();

    let make_proof = |nonce: Option<&str>| {
        let mut claims = json!({
            "jti": random_jti(),
            "htm": "POST",
            "htu": token_url,
            "iat": unix(fake.now()),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let header = json!({ "typ": "dpop+jwt", "jwk": public_jwk });
        proof_key.sign_jwt(header, &claims).unwrap()
    };
    let first = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&make_proof(None)),
        )
        .await;
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let second = fake
        .token_request(
            &fake.assertion(client, Algorithm::RS256),
            USERS_READ,
            Some(&make_proof(Some(&nonce))),
        )
        .await;

    assert_eq!(second.status(), 200);
}

// ---------------------------------------------------------------------------
// SSWS API tokens
// ---------------------------------------------------------------------------

#[tokio::test]
async fn ssws_token_acts_for_client() {
    let client = rsa_client();
    let mut registration = registration(client);
    registration.api_tokens = vec!["00abcdefSSWStoken".to_owned()];
    let fake = Fake::start(vec![registration]).await;

    let response = fake
        .get("/api/v1/groups", Some("SSWS 00abcdefSSWStoken"), None)
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], client.client_id.as_str());
}

#[tokio::test]
async fn unknown_ssws_token_rejected() {
    let client = rsa_client();
    let mut registration = registration(client);
    registration.api_tokens = vec!["00abcdefSSWStoken".to_owned()];
    let fake = Fake::start(vec![registration]).await;

    let response = fake
        .get("/api/v1/users", Some("SSWS 00wrongtoken"), None)
        .await;

    assert_api_error(response, "E0000011").await;
}

#[tokio::test]
async fn clients_listing_hides_api_tokens() {
    let client = rsa_client();
    let mut registration = registration(client);
    registration.api_tokens = vec!["00abcdefSSWStoken".to_owned()];
    let fake = Fake::start(vec![registration]).await;

    let listed = fake.state.clients();

    assert_eq!(listed.len(), 1);
    assert!(listed[0].api_tokens.is_empty());
}

// ---------------------------------------------------------------------------
// Access tokens on API requests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn missing_authorization_rejected() {
    let fake = Fake::start(vec![registration(rsa_client())]).await;

    let response = fake.get("/api/v1/users", None, None).await;

    assert_api_error(response, "E0000005").await;
}

#[tokio::test]
async fn unknown_bearer_token_rejected() {
    let fake = Fake::start(vec![registration(rsa_client())]).await;

    let response = fake
        .get("/api/v1/users", Some("Bearer not-issued-here"), None)
        .await;

    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_api_error(response, "E0000011").await;
}

#[tokio::test]
async fn expired_access_token_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;
    let token = fake.bearer_token(client, USERS_READ).await;

    fake.clock.advance(Duration::from_secs(3600));
    let response = fake
        .get("/api/v1/users", Some(&format!("Bearer {token}")), None)
        .await;

    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let expected = oauth_entry("token_expired").description;
    assert!(
        challenge.contains(&format!("error_description=\"{expected}\"")),
        "{challenge}"
    );
    assert_api_error(response, "E0000011").await;
}

#[tokio::test]
async fn short_ttl_token_expires() {
    let client = rsa_client();
    let fake = Fake::start_with_ttl(vec![registration(client)], Duration::from_secs(60)).await;
    let response = fake
        .token_request(&fake.assertion(client, Algorithm::RS256), USERS_READ, None)
        .await;
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();

    fake.clock.advance(Duration::from_secs(59));
    let before = fake
        .get("/api/v1/users", Some(&format!("Bearer {token}")), None)
        .await;
    fake.clock.advance(Duration::from_secs(1));
    let after = fake
        .get("/api/v1/users", Some(&format!("Bearer {token}")), None)
        .await;

    assert_eq!(body["expires_in"], 60);
    assert_eq!(before.status(), 200);
    assert_eq!(after.status(), 401);
}

#[tokio::test]
async fn token_of_removed_client_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;
    let token = fake.bearer_token(client, USERS_READ).await;

    fake.state.remove_client(&client.client_id);
    let response = fake
        .get("/api/v1/users", Some(&format!("Bearer {token}")), None)
        .await;

    assert_api_error(response, "E0000011").await;
}

#[tokio::test]
async fn insufficient_scope_rejected() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;
    let token = fake.bearer_token(client, USERS_READ).await;

    let response = fake
        .get("/api/v1/groups", Some(&format!("Bearer {token}")), None)
        .await;

    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let description = oauth_entry("access_token_insufficient_scopes").description;
    let base = &fake.base;
    let expected = format!(
        "Bearer authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", \
         scope=\"okta.groups.read\", error=\"insufficient_scope\", \
         error_description=\"{description}\", resource=\"/api/v1/groups\""
    );
    assert_eq!(challenge, expected);
    assert_api_error(response, "E0000006").await;
}

#[tokio::test]
async fn manage_scope_does_not_satisfy_read() {
    let client = rsa_client();
    let registration = client.registration(&["okta.users.manage"]);
    let fake = Fake::start(vec![registration]).await;
    let token = fake.bearer_token(client, "okta.users.manage").await;

    let response = fake
        .get("/api/v1/users", Some(&format!("Bearer {token}")), None)
        .await;

    assert_api_error(response, "E0000006").await;
}

#[tokio::test]
async fn admin_scope_follows_registration_changes() {
    let client = rsa_client();
    let fake = Fake::start(vec![registration(client)]).await;
    let token = fake.bearer_token(client, USERS_READ).await;

    let mut changed = registration(client);
    changed.admin_scope = AdminScope::NoRole;
    fake.state.upsert_client(changed);
    let uri: Uri = "/api/v1/users".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let principal = fake
        .state
        .authorize(&Method::GET, &uri, &headers, USERS_READ)
        .unwrap();

    assert_eq!(principal.admin_scope, AdminScope::NoRole);
}

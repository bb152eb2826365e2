//! `POST /oauth2/v1/token`: the client credentials grant with
//! `private_key_jwt` client authentication, as Okta's org authorization
//! server runs it.
//!
//! The checks run in this order: the form itself, client authentication (the
//! client assertion, whose `jti` is used up here), the grant type, the app's
//! grant types and application type, the DPoP proof for apps that require
//! DPoP, then the requested scopes. Because the
//! `jti` is used up before the later checks, a request that fails on DPoP or
//! scopes still spends its assertion, as at Okta.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{json, Value};

use super::assertion::{self, AssertionError};
use super::clock::unix_seconds;
use super::dpop::{self, DpopError, ProofTarget};
use super::jose;
use super::{lock, ApplicationType, AuthState, ClientRegistration, CLIENT_CREDENTIALS};
use crate::errors::{json_response, oauth_error};

/// The path of the token endpoint.
pub(crate) const TOKEN_PATH: &str = "/oauth2/v1/token";

/// The `client_assertion_type` for `private_key_jwt` (RFC 7523).
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// OpenID Connect scopes, which the client credentials grant cannot request.
const OPENID_SCOPES: [&str; 7] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
    "device_sso",
];

/// Form parameters that carry client credentials and so must not appear in
/// the query string.
const CREDENTIAL_PARAMETERS: [&str; 4] = [
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

pub(crate) fn router(state: AuthState) -> Router {
    let methods = post(token_endpoint).fallback(method_not_allowed);
    Router::new().route(TOKEN_PATH, methods).with_state(state)
}

/// Rejects methods other than POST with Okta's `405 E0000022` body.
async fn method_not_allowed(method: http::Method) -> Response {
    tracing::info!(%method, "token request rejected: only POST is supported");
    let mut response = crate::errors::api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "E0000022",
        "The endpoint does not support the provided HTTP method",
        &[],
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// A rejected token request.
///
/// `Display` is the log message; [`TokenError::status`] and
/// [`TokenError::description`] give the response Okta sends.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("form parameter {name:?} appears more than once; send each parameter once")]
    DuplicateParameter { name: String },
    #[error("client credential {name:?} is in the query string; send it in the form body")]
    CredentialsInQuery { name: String },
    #[error("grant_type is missing; send grant_type=client_credentials")]
    MissingGrantType,
    #[error("no client credentials; send client_assertion and client_assertion_type")]
    MissingClientCredentials,
    #[error(
        "both an Authorization header and a client_assertion were sent; send only the assertion"
    )]
    MultipleClientCredentials,
    #[error(
        "client secrets are not accepted; authenticate with a private_key_jwt client_assertion"
    )]
    ClientSecret,
    #[error("client_assertion_type is {found:?}; use {JWT_BEARER_ASSERTION:?}")]
    AssertionType { found: Option<String> },
    #[error("client assertion rejected: {0}")]
    Assertion(#[from] AssertionError),
    #[error("grant_type {grant_type:?} is not supported; use client_credentials")]
    UnsupportedGrantType { grant_type: String },
    #[error("client {client_id} may use only the grant types {configured:?}; add client_credentials to the app's grant types")]
    UnauthorizedClient {
        client_id: String,
        configured: Vec<String>,
    },
    #[error("client {client_id} is a {application_type:?} app; only service apps may use client credentials with the org authorization server")]
    ApplicationType {
        client_id: String,
        application_type: ApplicationType,
    },
    #[error("scope is missing or empty; request at least one granted scope")]
    MissingScope,
    #[error("OpenID scopes {scopes:?} cannot be requested with client credentials")]
    OpenidScope { scopes: Vec<String> },
    #[error("scopes {scopes:?} are not granted to client {client_id}; grant them or stop requesting them")]
    ScopeNotGranted {
        client_id: String,
        scopes: Vec<String>,
    },
    #[error("DPoP check failed: {0}")]
    Dpop(#[from] DpopError),
}

impl TokenError {
    fn status(&self) -> StatusCode {
        match self {
            Self::MissingClientCredentials
            | Self::MultipleClientCredentials
            | Self::ClientSecret
            | Self::Assertion(_)
            | Self::ApplicationType { .. } => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::MissingClientCredentials
            | Self::ClientSecret
            | Self::Assertion(_)
            | Self::ApplicationType { .. } => "invalid_client",
            Self::UnsupportedGrantType { .. } => "unsupported_grant_type",
            Self::UnauthorizedClient { .. } => "unauthorized_client",
            Self::MissingScope | Self::OpenidScope { .. } | Self::ScopeNotGranted { .. } => {
                "invalid_scope"
            }
            Self::Dpop(error) => error.code(),
            _ => "invalid_request",
        }
    }

    fn description(&self) -> String {
        match self {
            Self::DuplicateParameter { .. } => {
                "The request contained multiple parameters with the same name.".to_owned()
            }
            Self::CredentialsInQuery { .. } => {
                "Client credentials cannot be supplied via query parameters.".to_owned()
            }
            Self::MissingGrantType => format!(
                "The token request must specify a 'grant_type'. Valid values: [{CLIENT_CREDENTIALS}]"
            ),
            Self::MissingClientCredentials => "No client credentials found.".to_owned(),
            Self::MultipleClientCredentials => "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.".to_owned(),
            Self::ClientSecret => "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.".to_owned(),
            Self::AssertionType { .. } => "The client_assertion_type is invalid.".to_owned(),
            Self::Assertion(error) => error.description().to_owned(),
            Self::UnsupportedGrantType { .. } => format!(
                "The authorization grant type is not supported by the authorization server. Configured grant types: [{CLIENT_CREDENTIALS}]."
            ),
            // NOTE: how Okta joins several configured grant types is a guess.
            Self::UnauthorizedClient { configured, .. } => format!(
                "The client is not authorized to use the provided grant type. Configured grant types: [{}].",
                configured.join(", ")
            ),
            Self::ApplicationType { .. } => "Only clients with 'application_type' of 'service' may use the client_credentials 'grant_type' with the Org Authorization Server.".to_owned(),
            Self::MissingScope => "No scopes were requested.".to_owned(),
            Self::OpenidScope { .. } => {
                "Cannot request 'openid' scopes using client credentials.".to_owned()
            }
            // NOTE: Okta's catalogue has several invalid_scope texts; which one
            // the org server sends for scopes not granted to a service app,
            // and how it joins several names, is a best guess.
            Self::ScopeNotGranted { scopes, .. } => format!(
                "The following scopes are not allowed for this request: [{}].",
                scopes.join(", ")
            ),
            Self::Dpop(error) => error.description().to_owned(),
        }
    }

    fn into_response(self) -> Response {
        let mut response = oauth_error(self.status(), self.code(), &self.description());
        if let Self::Dpop(error) = &self {
            if let Some(nonce) = error.nonce() {
                insert_nonce(&mut response, nonce);
            }
        }
        add_no_cache_headers(&mut response);
        response
    }
}

async fn token_endpoint(
    State(state): State<AuthState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match exchange(&state, &uri, &headers, &body) {
        Ok(issued) => {
            tracing::info!(
                client_id = %issued.client_id,
                scope = %issued.scope,
                token_type = issued.token_type,
                "access token issued"
            );
            issued.into_response()
        }
        Err(error) => {
            tracing::info!(%error, "token request rejected");
            error.into_response()
        }
    }
}

/// Runs every check of a token request and issues the token.
fn exchange(
    state: &AuthState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<IssuedToken, TokenError> {
    let form = parse_form(body)?;
    if let Some(assertion) = form.get("client_assertion") {
        state.record_client_assertion(assertion);
    }
    reject_query_credentials(uri)?;
    let grant_type = form
        .get("grant_type")
        .filter(|grant_type| !grant_type.is_empty())
        .ok_or(TokenError::MissingGrantType)?;

    let client = authenticate(state, headers, &form)?;

    if grant_type != CLIENT_CREDENTIALS {
        return Err(TokenError::UnsupportedGrantType {
            grant_type: grant_type.clone(),
        });
    }
    check_app_settings(&client)?;

    // Apps without DPoP get Bearer tokens even when a proof is sent, which
    // Okta's Python SDK (okta/oauth.py) warns about for DPoP-enabled clients.
    let jkt = if client.dpop_required {
        let target = ProofTarget {
            method: &http::Method::POST,
            url: &state.token_url(),
            access_token: None,
            require_nonce: true,
        };
        Some(dpop::verify(state, headers, &target)?)
    } else {
        None
    };

    let scopes = granted_scopes(&client, form.get("scope"))?;
    let mut issued = issue(state, &client, scopes, jkt);
    if client.dpop_required {
        issued.nonce = Some(dpop::current_nonce(state));
    }
    Ok(issued)
}

/// Checks that the app may use the client credentials grant: the grant is
/// enabled on it, and it is a service app.
fn check_app_settings(client: &ClientRegistration) -> Result<(), TokenError> {
    if !client.grant_types.contains(CLIENT_CREDENTIALS) {
        return Err(TokenError::UnauthorizedClient {
            client_id: client.client_id.clone(),
            configured: client.grant_types.iter().cloned().collect(),
        });
    }
    if client.application_type != ApplicationType::Service {
        return Err(TokenError::ApplicationType {
            client_id: client.client_id.clone(),
            application_type: client.application_type,
        });
    }
    Ok(())
}

/// Decodes an `application/x-www-form-urlencoded` body, rejecting repeated
/// parameters.
fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, TokenError> {
    let mut form = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        let name = name.into_owned();
        if form.contains_key(&name) {
            return Err(TokenError::DuplicateParameter { name });
        }
        form.insert(name, value.into_owned());
    }
    Ok(form)
}

fn reject_query_credentials(uri: &Uri) -> Result<(), TokenError> {
    let query = uri.query().unwrap_or_default();
    let found = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| CREDENTIAL_PARAMETERS.contains(&name.as_ref()));
    match found {
        Some((name, _)) => Err(TokenError::CredentialsInQuery {
            name: name.into_owned(),
        }),
        None => Ok(()),
    }
}

/// Authenticates the client by its `private_key_jwt` assertion.
fn authenticate(
    state: &AuthState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<ClientRegistration, TokenError> {
    let has_header = headers.contains_key(header::AUTHORIZATION);
    let assertion = form.get("client_assertion");

    if has_header && assertion.is_some() {
        return Err(TokenError::MultipleClientCredentials);
    }
    if has_header || form.contains_key("client_secret") {
        return Err(TokenError::ClientSecret);
    }
    let assertion = assertion.ok_or(TokenError::MissingClientCredentials)?;

    let assertion_type = form.get("client_assertion_type");
    if assertion_type.map(String::as_str) != Some(JWT_BEARER_ASSERTION) {
        return Err(TokenError::AssertionType {
            found: assertion_type.cloned(),
        });
    }

    let client_id = form.get("client_id").map(String::as_str);
    Ok(assertion::verify(state, assertion, client_id)?)
}

/// Returns the requested scopes, in request order without repeats, if the
/// client may have them all.
fn granted_scopes(
    client: &ClientRegistration,
    requested: Option<&String>,
) -> Result<Vec<String>, TokenError> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested.map(String::as_str).unwrap_or_default().split(' ') {
        if !scope.is_empty() && !scopes.iter().any(|seen| seen == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(TokenError::MissingScope);
    }

    let openid: Vec<String> = scopes
        .iter()
        .filter(|scope| OPENID_SCOPES.contains(&scope.as_str()))
        .cloned()
        .collect();
    if !openid.is_empty() {
        return Err(TokenError::OpenidScope { scopes: openid });
    }

    let missing: Vec<String> = scopes
        .iter()
        .filter(|scope| !client.scopes.contains(*scope))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(TokenError::ScopeNotGranted {
            client_id: client.client_id.clone(),
            scopes: missing,
        });
    }
    Ok(scopes)
}

/// A token response.
pub(crate) struct IssuedToken {
    pub(crate) access_token: String,
    client_id: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
    nonce: Option<String>,
}

impl IntoResponse for IssuedToken {
    fn into_response(self) -> Response {
        let body = json!({
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "access_token": self.access_token,
            "scope": self.scope,
        });
        let mut response = json_response(StatusCode::OK, &body);
        if let Some(nonce) = &self.nonce {
            insert_nonce(&mut response, nonce);
        }
        add_no_cache_headers(&mut response);
        response
    }
}

/// Issues an access token to `client` and records it. `jkt` binds the token
/// to a DPoP key.
pub(crate) fn issue(
    state: &AuthState,
    client: &ClientRegistration,
    scopes: Vec<String>,
    jkt: Option<String>,
) -> IssuedToken {
    let now = state.now();
    let ttl = state.inner.token_ttl;
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    let access_token = state
        .inner
        .signer
        .sign(state, client, &scopes, jkt.as_deref(), now);

    let record = TokenRecord {
        client_id: client.client_id.clone(),
        scopes: scopes.iter().cloned().collect(),
        expires_at: now + ttl,
        jkt,
    };
    lock(&state.inner.tokens).insert(access_token.clone(), record, now);

    IssuedToken {
        access_token,
        client_id: client.client_id.clone(),
        token_type,
        expires_in: ttl.as_secs(),
        scope: scopes.join(" "),
        nonce: None,
    }
}

/// The server's record of an access token it issued.
#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    pub(crate) client_id: String,
    pub(crate) scopes: BTreeSet<String>,
    pub(crate) expires_at: SystemTime,
    /// The DPoP key thumbprint the token is bound to, if any.
    pub(crate) jkt: Option<String>,
}

/// Issued access tokens by token value.
///
/// Expired tokens are kept for a day after expiry, so a late request gets
/// "expired" rather than "invalid", then dropped in amortized sweeps.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    tokens: HashMap<String, TokenRecord>,
    swept_at_len: usize,
}

/// How long an expired token is still recognized as one of ours.
const EXPIRED_TOKEN_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);

impl TokenStore {
    fn insert(&mut self, token: String, record: TokenRecord, now: SystemTime) {
        if self.tokens.len() >= 2 * self.swept_at_len.max(512) {
            self.tokens
                .retain(|_, record| record.expires_at + EXPIRED_TOKEN_MEMORY > now);
            self.swept_at_len = self.tokens.len();
        }
        self.tokens.insert(token, record);
    }

    pub(crate) fn get(&self, token: &str) -> Option<&TokenRecord> {
        self.tokens.get(token)
    }

    pub(crate) fn token_values(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }
}

/// Signs access tokens as JWTs shaped like Okta's.
///
/// NOTE: Okta signs access tokens with RS256; the fake uses ES256 so that
/// starting a server does not wait for RSA key generation. Clients treat
/// access tokens as opaque, and the fake checks them by lookup, not by
/// signature.
pub(crate) struct AccessTokenSigner {
    key: p256::ecdsa::SigningKey,
    kid: String,
}

impl AccessTokenSigner {
    pub(crate) fn generate() -> Self {
        let mut rng = super::credentials::seeded_rng(None);
        let key = <p256::ecdsa::SigningKey as rsa::Generate>::generate_from_rng(&mut rng);
        let kid = random_text(43);
        Self { key, kid }
    }

    fn sign(
        &self,
        state: &AuthState,
        client: &ClientRegistration,
        scopes: &[String],
        jkt: Option<&str>,
        now: SystemTime,
    ) -> String {
        use p256::ecdsa::signature::Signer;

        let issued_at = unix_seconds(now);
        let header = json!({
            "kid": self.kid,
            "typ": "application/okta-internal-at+jwt",
            "alg": "ES256",
        });
        let mut claims = json!({
            "ver": 1,
            "jti": format!("AT.{}", random_text(43)),
            "iss": state.issuer(),
            "aud": state.issuer(),
            "sub": client.client_id,
            "iat": issued_at,
            "exp": issued_at + state.inner.token_ttl.as_secs(),
            "cid": client.client_id,
            "scp": scopes,
        });
        if let (Some(jkt), Value::Object(claims)) = (jkt, &mut claims) {
            claims.insert("cnf".to_owned(), json!({ "jkt": jkt }));
        }

        jose::encode(&header, &claims, |message| {
            let signature: p256::ecdsa::Signature = self.key.sign(message);
            signature.to_bytes().to_vec()
        })
    }
}

fn random_text(length: usize) -> String {
    rand::thread_rng()
        .sample_iter(Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

fn insert_nonce(response: &mut Response, nonce: &str) {
    if let Ok(value) = HeaderValue::from_str(nonce) {
        response.headers_mut().insert("dpop-nonce", value);
    }
}

/// Adds the caching headers Okta sends on every token response.
fn add_no_cache_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::EXPIRES, HeaderValue::from_static("0"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_with(scopes: &[&str]) -> ClientRegistration {
        ClientRegistration {
            client_id: "0oaclient".to_owned(),
            jwks: Vec::new(),
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            dpop_required: false,
            api_tokens: Vec::new(),
            admin_scope: Default::default(),
            application_type: Default::default(),
            token_endpoint_auth_method: Default::default(),
            grant_types: BTreeSet::from([CLIENT_CREDENTIALS.to_owned()]),
        }
    }

    #[test]
    fn duplicate_form_parameter_rejected() {
        let error = parse_form(b"scope=a&scope=b").unwrap_err();

        assert!(matches!(error, TokenError::DuplicateParameter { name } if name == "scope"));
    }

    #[test]
    fn scopes_keep_request_order_without_repeats() {
        let client = client_with(&["okta.users.read", "okta.groups.read"]);
        let requested = "okta.groups.read  okta.users.read okta.groups.read".to_owned();

        let scopes = granted_scopes(&client, Some(&requested)).unwrap();

        assert_eq!(scopes, ["okta.groups.read", "okta.users.read"]);
    }

    #[test]
    fn ungranted_scopes_are_listed() {
        let client = client_with(&["okta.users.read"]);
        let requested = "okta.users.read okta.users.manage okta.apps.read".to_owned();

        let error = granted_scopes(&client, Some(&requested)).unwrap_err();

        assert_eq!(
            error.description(),
            "The following scopes are not allowed for this request: [okta.users.manage, okta.apps.read]."
        );
    }

    #[test]
    fn openid_scope_rejected() {
        let client = client_with(&["okta.users.read"]);
        let requested = "openid okta.users.read".to_owned();

        let error = granted_scopes(&client, Some(&requested)).unwrap_err();

        assert!(matches!(error, TokenError::OpenidScope { .. }));
    }

    #[test]
    fn received_assertion_is_recorded() {
        let state = AuthState::new(Default::default(), "http://127.0.0.1:1".to_owned());
        let uri: Uri = TOKEN_PATH.parse().unwrap();
        let body = b"grant_type=client_credentials&client_assertion_type=x&client_assertion=a.b.c";

        let result = exchange(&state, &uri, &HeaderMap::new(), body);

        assert!(result.is_err(), "the assertion type is wrong");
        assert_eq!(state.received_client_assertions(), ["a.b.c"]);
    }

    #[test]
    fn issued_token_is_listed() {
        let state = AuthState::new(Default::default(), "http://127.0.0.1:1".to_owned());
        let client = client_with(&["okta.users.read"]);

        let issued = issue(&state, &client, vec!["okta.users.read".to_owned()], None);

        assert_eq!(state.issued_access_tokens(), [issued.access_token]);
    }

    #[test]
    fn credentials_in_query_rejected() {
        let uri: Uri = "/oauth2/v1/token?client_assertion=abc".parse().unwrap();

        let error = reject_query_credentials(&uri).unwrap_err();

        assert!(
            matches!(error, TokenError::CredentialsInQuery { name } if name == "client_assertion")
        );
    }
}

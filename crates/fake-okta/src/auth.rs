//! Authentication and authorization for the fake org.
//!
//! Terms used throughout this module:
//! - A *client registration* is an OAuth 2.0 app, normally a service app. It
//!   lists the client id, the public JWKs that verify the app's
//!   `private_key_jwt` client assertions and the Okta API scopes granted to
//!   it. It also records whether the app must use DPoP, which SSWS API tokens
//!   act for it, and which admin role limits what it may read. Its
//!   application type, client authentication method and grant types default
//!   to what orgsync needs; other values make the token endpoint reject the
//!   app as Okta does.
//! - A *client assertion* is the signed JWT a client sends to
//!   `POST /oauth2/v1/token` to authenticate itself.
//! - An *access token* is what the token endpoint issues; API requests present
//!   it as `Authorization: Bearer …`, or as `Authorization: DPoP …` together
//!   with a `DPoP` proof when the token is bound to the client's DPoP key.
//! - A *DPoP proof* (RFC 9449) is a JWT signed with a key the client holds,
//!   sent in the `DPoP` header of each request. Its key's JWK SHA-256
//!   thumbprint (RFC 7638), the *jkt*, binds tokens to that key.
//!
//! [`router`] serves the token endpoint; the `/api/v1` handlers call
//! [`AuthState::authorize`] on every request.

mod assertion;
mod clock;
mod credentials;
mod dpop;
mod jose;
mod replay;
mod resource;
mod token;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use axum::response::Response;
use axum::Router;
use serde::{Deserialize, Serialize};

pub use clock::{Clock, SkewedClock, SystemClock, TestClock};
pub use credentials::{generate_credentials, CredentialsError, GeneratedCredentials, KeyKind};
pub use jose::JwkError;

/// The lifetime of an access token when none is configured, as at Okta.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// How many of the latest client assertions [`AuthState`] keeps for
/// [`AuthState::received_client_assertions`].
pub const KEPT_CLIENT_ASSERTIONS: usize = 1024;

/// An OAuth 2.0 service app registered with the fake org.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRegistration {
    /// The client id, `iss` and `sub` of its client assertions.
    pub client_id: String,
    /// Public JWKs (RSA, or EC on P-256, P-384 or P-521), each with a `kid`.
    #[serde(default)]
    pub jwks: Vec<serde_json::Value>,
    /// Okta API scopes granted to the app, such as `okta.users.read`.
    #[serde(default)]
    pub scopes: BTreeSet<String>,
    /// Whether token requests need a DPoP proof and tokens are DPoP-bound.
    #[serde(default)]
    pub dpop_required: bool,
    /// SSWS API tokens that act for this client. These are secrets.
    #[serde(default)]
    pub api_tokens: Vec<String>,
    /// The admin role assigned to the app.
    #[serde(default)]
    pub admin_scope: AdminScope,
    /// The app's type, Okta's `settings.oauthClient.application_type`.
    #[serde(default)]
    pub application_type: ApplicationType,
    /// The app's client authentication method at the token endpoint, Okta's
    /// `credentials.oauthClient.token_endpoint_auth_method`.
    #[serde(default)]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The grant types the app may use, Okta's
    /// `settings.oauthClient.grant_types`.
    #[serde(default = "client_credentials_only")]
    pub grant_types: BTreeSet<String>,
}

/// The grant type of service apps, and the only one the fake serves.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

fn client_credentials_only() -> BTreeSet<String> {
    BTreeSet::from([CLIENT_CREDENTIALS.to_owned()])
}

/// The type of an OAuth app in Okta. Only `service` apps (API Services in
/// the Admin Console) may use the client credentials grant with the org
/// authorization server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    /// An API Services app.
    #[default]
    Service,
    /// A web app with a server-side backend.
    Web,
    /// A native (mobile or desktop) app.
    Native,
    /// A single-page app.
    Browser,
}

/// A client authentication method at the token endpoint. The org
/// authorization server accepts client credentials requests only with
/// `private_key_jwt`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// A client assertion signed with the app's private key (Public key /
    /// Private key in the Admin Console).
    #[default]
    PrivateKeyJwt,
    /// A client secret in the `Authorization: Basic` header.
    ClientSecretBasic,
    /// A client secret in the form body.
    ClientSecretPost,
    /// A client assertion signed with the client secret (HMAC).
    ClientSecretJwt,
    /// No client authentication (public clients).
    None,
}

/// The part of the org an app's admin role may read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AdminScope {
    /// A role over the whole org, such as Read-only Administrator.
    #[default]
    Everything,
    /// No admin role: every API request is rejected with `403 E0000006`.
    NoRole,
    /// A role limited to some groups and their members.
    Groups {
        /// Ids of the groups the role covers.
        group_ids: BTreeSet<String>,
        /// The response to requests for groups outside the role.
        #[serde(default)]
        hidden: HiddenResponse,
        /// Ids of the groups whose members the role may read, when they
        /// differ from `group_ids`: a custom role whose user permissions
        /// cover fewer groups than its group permissions. Member lists of
        /// covered groups then leave out the members it may not read, while
        /// the groups' member counts still count them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_group_ids: Option<BTreeSet<String>>,
    },
}

/// The response to a request for a group outside a group-limited admin role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HiddenResponse {
    /// `403 E0000006`, what Okta returns.
    #[default]
    Forbidden,
    /// `404 E0000007`, as if the group did not exist.
    NotFound,
}

/// A rejected client registration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistrationError {
    /// The client id is empty.
    #[error("client registration has an empty client_id; set it to the app's client id")]
    EmptyClientId,
    /// A JWK could not be used to verify signatures.
    #[error("client {client_id}: JWK number {index} is unusable: {source}")]
    InvalidJwk {
        /// The client the JWK belongs to.
        client_id: String,
        /// The JWK's position in `jwks`, counting from 0.
        index: usize,
        /// The reason the JWK is unusable.
        source: JwkError,
    },
    /// A JWK has no `kid`, so client assertions cannot name it.
    #[error("client {client_id}: JWK number {index} has no \"kid\"; give every key a kid")]
    MissingKid {
        /// The client the JWK belongs to.
        client_id: String,
        /// The JWK's position in `jwks`, counting from 0.
        index: usize,
    },
    /// Two JWKs share a `kid`.
    #[error("client {client_id}: kid {kid:?} is used by more than one JWK; make kids unique")]
    DuplicateKid {
        /// The client the JWKs belong to.
        client_id: String,
        /// The repeated kid.
        kid: String,
    },
}

impl ClientRegistration {
    /// Checks that the registration can authenticate a client: a non-empty
    /// client id and usable public JWKs with unique `kid`s.
    pub fn validate(&self) -> Result<(), RegistrationError> {
        if self.client_id.is_empty() {
            return Err(RegistrationError::EmptyClientId);
        }

        let mut kids = BTreeSet::new();
        for (index, jwk) in self.jwks.iter().enumerate() {
            jose::PublicKey::from_jwk(jwk).map_err(|source| RegistrationError::InvalidJwk {
                client_id: self.client_id.clone(),
                index,
                source,
            })?;

            let kid = jwk.get("kid").and_then(|kid| kid.as_str()).ok_or_else(|| {
                RegistrationError::MissingKid {
                    client_id: self.client_id.clone(),
                    index,
                }
            })?;

            if !kids.insert(kid) {
                return Err(RegistrationError::DuplicateKid {
                    client_id: self.client_id.clone(),
                    kid: kid.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Returns a copy without the secret API tokens.
    fn public_parts(&self) -> Self {
        Self {
            api_tokens: Vec::new(),
            ..self.clone()
        }
    }
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("jwks", &self.jwks)
            .field("scopes", &self.scopes)
            .field("dpop_required", &self.dpop_required)
            .field(
                "api_tokens",
                &format!("<{} redacted>", self.api_tokens.len()),
            )
            .field("admin_scope", &self.admin_scope)
            .field("application_type", &self.application_type)
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .field("grant_types", &self.grant_types)
            .finish()
    }
}

/// Settings for [`AuthState`].
#[derive(Clone)]
pub struct AuthConfig {
    /// The apps registered when the server starts.
    pub clients: Vec<ClientRegistration>,
    /// How long an issued access token is valid.
    pub token_ttl: Duration,
    /// The time source for every expiry check.
    pub clock: Arc<dyn Clock>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            clients: Vec::new(),
            token_ttl: DEFAULT_TOKEN_TTL,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AuthConfig")
            .field("clients", &self.clients)
            .field("token_ttl", &self.token_ttl)
            .finish_non_exhaustive()
    }
}

/// The client an API request acts for, once its credentials are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The client id of the app.
    pub client_id: String,
    /// The scopes of the presented access token, or all of the app's scopes
    /// for an SSWS API token.
    pub scopes: BTreeSet<String>,
    /// The app's admin role at the time of the request.
    pub admin_scope: AdminScope,
}

/// Shared authentication state: registrations, issued access tokens, used
/// JWT ids and DPoP nonces. Cloning is cheap and every clone sees the same
/// state, so the control API can change registrations while serving.
#[derive(Clone)]
pub struct AuthState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Base URL of the org, such as `http://127.0.0.1:8080`, without a
    /// trailing slash.
    issuer: String,
    token_ttl: Duration,
    clock: Arc<dyn Clock>,
    clients: RwLock<BTreeMap<String, ClientRegistration>>,
    tokens: Mutex<token::TokenStore>,
    replay: Mutex<replay::ReplayCache>,
    nonces: Mutex<dpop::NonceBook>,
    /// The latest client assertions the token endpoint received, kept so
    /// that tests can search logs and files for them.
    assertions: Mutex<VecDeque<String>>,
    signer: token::AccessTokenSigner,
}

impl AuthState {
    /// Creates the state for an org served at `issuer`, such as
    /// `http://127.0.0.1:8080`.
    pub fn new(config: AuthConfig, issuer: String) -> Self {
        let issuer = issuer.trim_end_matches('/').to_owned();
        let clients = config
            .clients
            .into_iter()
            .inspect(warn_if_invalid)
            .map(|client| (client.client_id.clone(), client))
            .collect();

        let inner = Inner {
            issuer,
            token_ttl: config.token_ttl,
            clock: config.clock,
            clients: RwLock::new(clients),
            tokens: Mutex::new(token::TokenStore::default()),
            replay: Mutex::new(replay::ReplayCache::default()),
            nonces: Mutex::new(dpop::NonceBook::default()),
            assertions: Mutex::new(VecDeque::new()),
            signer: token::AccessTokenSigner::generate(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Adds a client registration, or replaces the one with the same client
    /// id. Tokens already issued to the client stay valid.
    ///
    /// An invalid registration is stored anyway, with a warning, so tests can
    /// exercise Okta's errors for broken key sets. Call
    /// [`ClientRegistration::validate`] first to reject it instead.
    pub fn upsert_client(&self, client: ClientRegistration) {
        warn_if_invalid(&client);
        tracing::info!(client_id = %client.client_id, "client registration stored");
        let mut clients = self.write_clients();
        clients.insert(client.client_id.clone(), client);
    }

    /// Removes a client registration. Its access tokens stop working at once,
    /// as when an app is deleted at Okta. Returns whether it existed.
    pub fn remove_client(&self, client_id: &str) -> bool {
        let removed = self.write_clients().remove(client_id).is_some();
        if removed {
            tracing::info!(client_id, "client registration removed");
        }
        removed
    }

    /// Returns the registrations without their secret API tokens.
    pub fn clients(&self) -> Vec<ClientRegistration> {
        self.read_clients()
            .values()
            .map(ClientRegistration::public_parts)
            .collect()
    }

    /// Returns the org's base URL, which is also the issuer of its tokens.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Checks the `Authorization` (Bearer, DPoP or SSWS) and `DPoP` headers
    /// of an API request and that its credentials hold `required_scope`.
    ///
    /// Only the exact scope satisfies `required_scope`, so `okta.users.manage`
    /// alone does not allow `okta.users.read` requests. On failure, `Err` is
    /// the complete response Okta would send.
    // The large `Err` is the response itself, which handlers return as is.
    #[allow(clippy::result_large_err)]
    pub fn authorize(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        required_scope: &str,
    ) -> Result<Principal, Response> {
        resource::authorize(self, method, uri, headers, required_scope).map_err(|error| {
            tracing::debug!(%method, path = uri.path(), %error, "API request rejected");
            error.into_response(self.issuer(), uri.path(), required_scope)
        })
    }

    /// Issues a Bearer access token for a registered client without a token
    /// request, for tests and benchmarks that exercise only the API.
    ///
    /// The token is a Bearer token even for clients that require DPoP.
    /// Returns `None` if the client is not registered or `scopes` are not all
    /// granted to it.
    pub fn mint_access_token(&self, client_id: &str, scopes: &[&str]) -> Option<String> {
        let client = self.client(client_id)?;
        let scopes: Vec<String> = scopes.iter().map(|scope| (*scope).to_owned()).collect();
        if !scopes.iter().all(|scope| client.scopes.contains(scope)) {
            return None;
        }
        Some(token::issue(self, &client, scopes, None).access_token)
    }

    /// Returns the access tokens issued and not yet forgotten (tokens are
    /// forgotten a day after they expire), for tests that check that no
    /// token leaks into logs or files.
    pub fn issued_access_tokens(&self) -> Vec<String> {
        lock(&self.inner.tokens).token_values()
    }

    /// Returns the latest client assertions the token endpoint received,
    /// accepted or not, oldest first. Only the last
    /// [`KEPT_CLIENT_ASSERTIONS`] are kept.
    pub fn received_client_assertions(&self) -> Vec<String> {
        lock(&self.inner.assertions).iter().cloned().collect()
    }

    fn record_client_assertion(&self, assertion: &str) {
        let mut assertions = lock(&self.inner.assertions);
        if assertions.len() >= KEPT_CLIENT_ASSERTIONS {
            assertions.pop_front();
        }
        assertions.push_back(assertion.to_owned());
    }

    fn client(&self, client_id: &str) -> Option<ClientRegistration> {
        self.read_clients().get(client_id).cloned()
    }

    /// Returns the org's current time, read from its clock.
    pub fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    fn token_url(&self) -> String {
        format!("{}{}", self.inner.issuer, token::TOKEN_PATH)
    }

    fn read_clients(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, ClientRegistration>> {
        self.inner
            .clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_clients(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, ClientRegistration>> {
        self.inner
            .clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for AuthState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AuthState")
            .field("issuer", &self.inner.issuer)
            .field("clients", &self.clients())
            .finish_non_exhaustive()
    }
}

fn warn_if_invalid(client: &ClientRegistration) {
    if let Err(error) = client.validate() {
        tracing::warn!(
            client_id = %client.client_id,
            %error,
            "client registration is invalid, so its token requests will fail"
        );
    }
}

/// Returns the router for `POST /oauth2/v1/token`.
pub fn router(state: AuthState) -> Router {
    token::router(state)
}

/// Locks `mutex`, recovering the data if a panicking thread poisoned it,
/// because every critical section here leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registration() -> ClientRegistration {
        generate_credentials(KeyKind::EcP256, Some(21)).registration(&["okta.users.read"])
    }

    #[test]
    fn generated_registration_is_valid() {
        assert_eq!(registration().validate(), Ok(()));
    }

    #[test]
    fn empty_client_id_is_invalid() {
        let client = ClientRegistration {
            client_id: String::new(),
            ..registration()
        };

        assert_eq!(client.validate(), Err(RegistrationError::EmptyClientId));
    }

    #[test]
    fn jwk_without_kid_is_invalid() {
        let mut client = registration();
        client.jwks[0].as_object_mut().unwrap().remove("kid");

        let error = client.validate().unwrap_err();

        assert!(matches!(
            error,
            RegistrationError::MissingKid { index: 0, .. }
        ));
    }

    #[test]
    fn repeated_kid_is_invalid() {
        let mut client = registration();
        client.jwks.push(client.jwks[0].clone());

        let error = client.validate().unwrap_err();

        assert!(matches!(error, RegistrationError::DuplicateKid { .. }));
    }

    #[test]
    fn unusable_jwk_is_invalid() {
        let mut client = registration();
        client.jwks[0]["x"] = json!("not base64url!");

        let error = client.validate().unwrap_err();

        assert!(matches!(
            error,
            RegistrationError::InvalidJwk { index: 0, .. }
        ));
    }

    #[test]
    fn registration_debug_redacts_api_tokens() {
        let client = ClientRegistration {
            api_tokens: vec!["00secret-ssws-token".to_owned()],
            ..registration()
        };

        let debug = format!("{client:?}");

        assert!(!debug.contains("00secret"), "{debug}");
    }

    #[test]
    fn registration_reads_minimal_json() {
        let body = json!({
            "client_id": "0oaminimal",
            "admin_scope": { "type": "groups", "group_ids": ["00g1"] },
        });

        let client: ClientRegistration = serde_json::from_value(body).unwrap();

        let expected = AdminScope::Groups {
            group_ids: BTreeSet::from(["00g1".to_owned()]),
            hidden: HiddenResponse::Forbidden,
            member_group_ids: None,
        };
        assert_eq!(client.admin_scope, expected);
        assert!(!client.dpop_required);
    }

    #[test]
    fn upsert_replaces_and_remove_reports() {
        let state = AuthState::new(AuthConfig::default(), "http://127.0.0.1:1/".to_owned());
        let client = registration();

        state.upsert_client(client.clone());
        state.upsert_client(ClientRegistration {
            dpop_required: true,
            ..client.clone()
        });

        assert_eq!(state.clients().len(), 1);
        assert!(state.clients()[0].dpop_required);
        assert!(state.remove_client(&client.client_id));
        assert!(!state.remove_client(&client.client_id));
    }

    #[test]
    fn issuer_loses_trailing_slash() {
        let state = AuthState::new(AuthConfig::default(), "http://127.0.0.1:1/".to_owned());

        assert_eq!(state.issuer(), "http://127.0.0.1:1");
    }

    #[test]
    fn mint_rejects_ungranted_scope() {
        let client = registration();
        let config = AuthConfig {
            clients: vec![client.clone()],
            ..AuthConfig::default()
        };
        let state = AuthState::new(config, "http://127.0.0.1:1".to_owned());

        let token = state.mint_access_token(&client.client_id, &["okta.groups.read"]);

        assert_eq!(token, None);
    }
}

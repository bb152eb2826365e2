//! Errors of the Okta client. Each message names what to change in Okta or
//! in orgsync's config.
//!
//! Okta returns errors in two shapes: the Management API's
//! `{errorCode, errorSummary, errorId, errorCauses}` ([`OktaErrorBody`]) and
//! OAuth's `{error, error_description}` ([`OAuthErrorBody`]). Config keys are
//! named as they appear in orgsync's YAML config (`oktaUrl`, `clientId`,
//! `keyId`, `privateKey`, `token`, `scopes`, `rateLimitShare`, …).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::observer::Endpoint;

/// A Management API error body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OktaErrorBody {
    /// E.g. `E0000006`.
    pub error_code: String,
    /// E.g. `You do not have permission to perform the requested action`.
    pub error_summary: String,
    /// Okta's id of this error occurrence, for Okta support.
    pub error_id: Option<String>,
    /// The `errorSummary` of each cause.
    pub error_causes: Vec<String>,
}

/// An OAuth 2.0 error body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OAuthErrorBody {
    /// E.g. `invalid_client`.
    pub error: String,
    /// E.g. `The client_assertion signature is invalid.`
    pub description: Option<String>,
}

/// The parsed body of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ErrorBody {
    /// A Management API error.
    Okta(OktaErrorBody),
    /// An OAuth error.
    OAuth(OAuthErrorBody),
    /// No body, or one in neither shape.
    #[default]
    Unknown,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOktaError {
    error_code: String,
    #[serde(default)]
    error_summary: String,
    #[serde(default)]
    error_id: Option<String>,
    #[serde(default)]
    error_causes: Vec<RawCause>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCause {
    #[serde(default)]
    error_summary: String,
}

#[derive(Deserialize)]
struct RawOAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl ErrorBody {
    /// Parses either error shape; anything else is [`ErrorBody::Unknown`].
    pub(crate) fn parse(bytes: &[u8]) -> ErrorBody {
        if let Ok(raw) = serde_json::from_slice::<RawOktaError>(bytes) {
            return ErrorBody::Okta(OktaErrorBody {
                error_code: raw.error_code,
                error_summary: raw.error_summary,
                error_id: raw.error_id,
                error_causes: raw
                    .error_causes
                    .into_iter()
                    .map(|c| c.error_summary)
                    .collect(),
            });
        }
        if let Ok(raw) = serde_json::from_slice::<RawOAuthError>(bytes) {
            return ErrorBody::OAuth(OAuthErrorBody {
                error: raw.error,
                description: raw.error_description,
            });
        }
        ErrorBody::Unknown
    }

    /// Returns the Management API error code, if any.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            ErrorBody::Okta(body) => Some(&body.error_code),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorBody {
    /// Formats as ` E0000006 You do not have …` (leading space), or nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorBody::Okta(body) => {
                write!(f, " {} {}", body.error_code, body.error_summary)?;
                if !body.error_causes.is_empty() {
                    write!(f, " ({})", body.error_causes.join("; "))?;
                }
                Ok(())
            }
            ErrorBody::OAuth(body) => {
                write!(f, " {}", body.error)?;
                match &body.description {
                    Some(description) => write!(f, ": {description}"),
                    None => Ok(()),
                }
            }
            ErrorBody::Unknown => Ok(()),
        }
    }
}

/// The way the client authenticates API calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// An OAuth access token from `private_key_jwt` client credentials.
    OAuth,
    /// An SSWS API token.
    ApiToken,
}

/// The kind of network failure that ended a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection failed.
    Connect,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// No complete response within the request timeout.
    Timeout,
    /// The connection closed before the whole body arrived.
    Body,
    /// Any other failure to send or receive.
    Other,
}

/// An error of the Okta client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OktaError {
    /// A [`ClientConfig`](crate::ClientConfig) value is out of range.
    #[error("invalid client setting `{setting}` ({value}): {problem}")]
    InvalidConfig {
        /// The config key, e.g. `rateLimitShare`.
        setting: &'static str,
        /// The value given (never a secret).
        value: String,
        /// The problem and the allowed values.
        problem: String,
    },

    /// The HTTP client failed to initialize.
    #[error("failed to set up the HTTP client: {reason}")]
    HttpClient {
        /// The underlying error.
        reason: String,
    },

    /// Signing the client assertion failed.
    #[error(
        "failed to sign the client assertion with the {algorithm} key {fingerprint}: {reason}; \
         check `privateKey`"
    )]
    Signing {
        /// The key's algorithm, e.g. `RS256`.
        algorithm: String,
        /// The key's public fingerprint.
        fingerprint: String,
        /// The underlying error.
        reason: String,
    },

    /// [`OktaClient::fetch_token`](crate::OktaClient::fetch_token) was called
    /// with API token credentials, which need no token request.
    #[error("no access token to fetch: the client uses an SSWS API token (`token`), not OAuth")]
    NoOAuthCredentials,

    /// [`OktaClient::get`](crate::OktaClient::get) was called for an
    /// endpoint it cannot send.
    #[error("`get` cannot send {endpoint}; use `fetch_token` to request a token")]
    UnsupportedEndpoint {
        /// The endpoint requested.
        endpoint: Endpoint,
    },

    /// The token endpoint rejected the token request.
    #[error("{}", token_rejected_message(.url, *.status, .body, .client_id, .scopes))]
    TokenRejected {
        /// The token endpoint URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Okta's error body.
        body: Box<ErrorBody>,
        /// The client id that asked.
        client_id: String,
        /// The scopes requested.
        scopes: Vec<String>,
    },

    /// The Management API rejected a request (4xx other than 401, 429 and
    /// insufficient scope).
    #[error("{}", api_message(*.endpoint, .url, *.status, .body, .search.as_deref(), *.auth))]
    Api {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Okta's error body.
        body: Box<ErrorBody>,
        /// The `search` expression sent, if any.
        search: Option<String>,
        /// The way the request was authenticated.
        auth: AuthMethod,
    },

    /// Okta rejected the credentials of an API call (401).
    #[error("{}", unauthorized_message(*.endpoint, .url, .body, *.auth))]
    Unauthorized {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The URL requested.
        url: String,
        /// Okta's error body.
        body: Box<ErrorBody>,
        /// The way the request was authenticated.
        auth: AuthMethod,
    },

    /// The access token lacks a scope the endpoint needs (403 with
    /// `WWW-Authenticate: … error="insufficient_scope"`).
    #[error("{}", insufficient_scope_message(*.endpoint, .url, .scope.as_deref(), .description.as_deref()))]
    InsufficientScope {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The URL requested.
        url: String,
        /// The scope Okta named in `WWW-Authenticate`, if any.
        scope: Option<String>,
        /// Okta's `error_description`, if any.
        description: Option<String>,
    },

    /// Okta returned 429 (E0000047) on every attempt.
    #[error(
        "Okta returned 429 (E0000047, API call exceeded rate limit) for {endpoint} {url} \
         on all {attempts} attempts; other apps may be using most of this rate limit: \
         lower `concurrency` or `rateLimitShare`, or run the sync later"
    )]
    RateLimited {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The URL requested.
        url: String,
        /// Attempts made, the first included.
        attempts: u32,
    },

    /// Okta returned 5xx on every attempt.
    #[error(
        "Okta returned HTTP {status}{body} for {endpoint} {url} on all {attempts} attempts; \
         Okta may be degraded (see status.okta.com): run the sync later"
    )]
    ServerError {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The URL requested.
        url: String,
        /// The last HTTP status.
        status: u16,
        /// Okta's error body of the last response.
        body: Box<ErrorBody>,
        /// Attempts made, the first included.
        attempts: u32,
    },

    /// Okta answered with a redirect, which the client does not follow.
    #[error(
        "Okta redirected {endpoint} {url} (HTTP {status}) to {location}; \
         set `oktaUrl` to the org URL itself, e.g. https://example.okta.com"
    )]
    Redirect {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The `Location` header, if any.
        location: String,
    },

    /// The request failed on the network on every attempt.
    #[error("{}", transport_message(*.endpoint, .url, *.kind, .detail, *.attempts, *.timeout))]
    Transport {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The URL requested.
        url: String,
        /// What failed.
        kind: TransportKind,
        /// The underlying error chain.
        detail: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// The request timeout in effect.
        timeout: Duration,
    },

    /// A successful response did not have the shape Okta's API documents.
    #[error(
        "the response to {endpoint} {url} (HTTP {status}) is not what Okta sends: {reason}; \
         check that `oktaUrl` is the Okta org URL and no proxy rewrites responses"
    )]
    MalformedResponse {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The problem with the body.
        reason: String,
    },

    /// A `Link: rel="next"` pointed to another scheme, host or port.
    #[error(
        "the next-page link of {endpoint} points to {next}, outside {base}; orgsync does not \
         follow it because it would send the access token there: set `oktaUrl` to the URL \
         that Okta puts in its own links"
    )]
    ForeignNextLink {
        /// The endpoint being paged.
        endpoint: Endpoint,
        /// The rejected link.
        next: String,
        /// The configured org URL.
        base: String,
    },

    /// A `Link: rel="next"` pointed to a page fetched before.
    #[error(
        "paging {endpoint} looped back to {url} after {pages} pages; stopped to avoid an \
         endless listing (Okta sent a next-page link already followed)"
    )]
    PagingLoop {
        /// The endpoint being paged.
        endpoint: Endpoint,
        /// The repeated URL.
        url: String,
        /// Pages fetched before the loop.
        pages: usize,
    },

    /// Paging went past the page or item bound.
    #[error(
        "paging {endpoint} stopped after {pages} pages and {items} records, past the bound \
         of {bound}; Okta kept sending next-page links"
    )]
    PagingBound {
        /// The endpoint being paged.
        endpoint: Endpoint,
        /// Pages fetched.
        pages: usize,
        /// Records received.
        items: usize,
        /// The bound passed, e.g. `100000 pages`.
        bound: String,
    },
}

/// Returns the URL without user info, for messages and logs.
pub(crate) fn display_url(url: &Url) -> String {
    let mut url = url.clone();
    // Setting these fails only for URLs that cannot have credentials.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

fn token_rejected_message(
    url: &str,
    status: u16,
    body: &ErrorBody,
    client_id: &str,
    scopes: &[String],
) -> String {
    let ErrorBody::OAuth(oauth) = body else {
        return format!(
            "Okta rejected the token request of client id `{client_id}` at {url} \
             (HTTP {status}{body}); check `oktaUrl` and `clientId`"
        );
    };
    let description = oauth.description.as_deref().unwrap_or("no description");
    let said = format!("HTTP {status} {}: {description}", oauth.error);
    match oauth.error.as_str() {
        "invalid_client" => invalid_client_message(client_id, &said, description),
        "invalid_scope" => {
            let named = scopes_named(description).unwrap_or_else(|| scopes.join(" "));
            format!(
                "Okta did not grant the scope {named} to client id `{client_id}` ({said}): \
                 grant it on the app's Okta API Scopes tab, or remove it from `scopes`"
            )
        }
        "invalid_dpop_proof" | "use_dpop_nonce" => format!(
            "the Okta app of client id `{client_id}` requires DPoP, which orgsync does not \
             send ({said}): uncheck 'Require Demonstrating Proof of Possession (DPoP) header \
             in token requests' in the app's General settings"
        ),
        "unauthorized_client" | "unsupported_grant_type" => format!(
            "client id `{client_id}` may not use the client credentials grant ({said}): \
             use an API Services app, with the Client Credentials grant type enabled in its \
             General settings"
        ),
        _ => format!(
            "Okta rejected the token request of client id `{client_id}` ({said}); \
             check `clientId`, `keyId`, `privateKey` and `scopes`"
        ),
    }
}

fn invalid_client_message(client_id: &str, said: &str, description: &str) -> String {
    let text = description.to_ascii_lowercase();
    let mentions = |words: &[&str]| words.iter().any(|word| text.contains(word));

    if mentions(&[
        "client_id",
        "does not exist",
        "issuer claim",
        "subject claim",
    ]) {
        format!(
            "Okta does not know client id `{client_id}` ({said}): check `clientId` (the \
             Client ID on the app's General tab) and that `oktaUrl` is the org of that app"
        )
    } else if mentions(&[
        "private_key_jwt",
        "token_endpoint_auth_method",
        "client secret",
    ]) {
        format!(
            "the Okta app of client id `{client_id}` does not accept signed assertions \
             ({said}): in the app's General settings set Client authentication to \
             'Public key / Private key' and add the public key of `privateKey`"
        )
    } else if mentions(&["expired", "issued", "expiration", "future"]) {
        format!(
            "Okta rejected the time claims of the client assertion ({said}): check that \
             this machine's clock is correct (NTP)"
        )
    } else if mentions(&["application_type", "'service'"]) {
        format!(
            "client id `{client_id}` is not an API Services app ({said}): create an API \
             Services app for orgsync"
        )
    } else if mentions(&["audience"]) {
        format!(
            "Okta rejected the audience of the client assertion ({said}): the audience is \
             `oktaUrl` plus /oauth2/v1/token, so set `oktaUrl` to the URL the org answers on \
             (not the -admin URL)"
        )
    } else if mentions(&["kid", "signature", "jwks", "jwkset", "key", "algorithm"]) {
        format!(
            "Okta could not verify the client assertion of client id `{client_id}` \
             ({said}): check `keyId` and that the public key registered on the app matches \
             `privateKey`"
        )
    } else {
        format!(
            "Okta rejected the credentials of client id `{client_id}` ({said}): check \
             `clientId`, `keyId` and `privateKey`"
        )
    }
}

/// Extracts the scopes from a description like `… not allowed for this request: [a, b].`
fn scopes_named(description: &str) -> Option<String> {
    let start = description.find('[')?;
    let end = description[start..].find(']')? + start;
    let named = description[start + 1..end].trim();
    (!named.is_empty()).then(|| named.to_owned())
}

fn api_message(
    endpoint: Endpoint,
    url: &str,
    status: u16,
    body: &ErrorBody,
    search: Option<&str>,
    auth: AuthMethod,
) -> String {
    let said = format!("HTTP {status}{body}");
    match body.error_code() {
        Some("E0000006") if auth == AuthMethod::ApiToken => format!(
            "Okta denied {endpoint} {url} ({said}): the admin who created the API token lacks \
             permission; create `token` as an admin with the Read-only Administrator role"
        ),
        Some("E0000006") => format!(
            "Okta denied {endpoint} {url} ({said}): the app has no admin role: assign the \
             Read-only Administrator role (or a custom role with a resource set) to the app \
             under Admin roles"
        ),
        Some("E0000031") | Some("E0000033") => {
            let setting = match endpoint {
                Endpoint::Users => "userSearchFilter",
                _ => "groupFilter.searchExpression",
            };
            format!(
                "Okta rejected the search expression `{}` of {endpoint} ({said}): fix \
                 `{setting}`",
                search.unwrap_or_default()
            )
        }
        Some("E0000007") => format!(
            "{endpoint} {url} was not found ({said}); if a group was deleted while the sync \
             ran, run the sync again"
        ),
        _ => format!("Okta rejected {endpoint} {url} ({said})"),
    }
}

fn unauthorized_message(
    endpoint: Endpoint,
    url: &str,
    body: &ErrorBody,
    auth: AuthMethod,
) -> String {
    match auth {
        AuthMethod::ApiToken => format!(
            "Okta rejected the API token for {endpoint} {url} (HTTP 401{body}): check `token`; \
             API tokens are revoked when their admin is deactivated and expire after 30 days \
             unused, and each belongs to one org (`oktaUrl`)"
        ),
        AuthMethod::OAuth => format!(
            "Okta rejected a newly issued access token for {endpoint} {url} (HTTP 401{body}): \
             check that the app is active and `oktaUrl` is the org URL"
        ),
    }
}

fn insufficient_scope_message(
    endpoint: Endpoint,
    url: &str,
    scope: Option<&str>,
    description: Option<&str>,
) -> String {
    let description = description.unwrap_or("insufficient_scope");
    match scope {
        Some(scope) => format!(
            "the access token lacks the scope `{scope}` that {endpoint} {url} needs \
             ({description}): grant `{scope}` on the app's Okta API Scopes tab and add it \
             to `scopes`"
        ),
        None => format!(
            "the access token lacks a scope that {endpoint} {url} needs ({description}): \
             grant okta.users.read and okta.groups.read on the app's Okta API Scopes tab"
        ),
    }
}

fn transport_message(
    endpoint: Endpoint,
    url: &str,
    kind: TransportKind,
    detail: &str,
    attempts: u32,
    timeout: Duration,
) -> String {
    match kind {
        TransportKind::Dns => {
            format!("failed to resolve the host of {url} ({detail}): check `oktaUrl` for typos")
        }
        TransportKind::Connect => format!(
            "failed to connect to {url} on all {attempts} attempts ({detail}): check \
             `oktaUrl` and that this machine can reach it (proxy, firewall)"
        ),
        TransportKind::Tls => format!(
            "TLS with {url} failed ({detail}): check `oktaUrl`, and if a proxy inspects TLS, \
             that its CA certificate is trusted"
        ),
        TransportKind::Timeout => format!(
            "{endpoint} {url} timed out after {}s on all {attempts} attempts: raise \
             `requestTimeout` or lower `concurrency`",
            timeout.as_secs_f64()
        ),
        TransportKind::Body => format!(
            "the response to {endpoint} {url} was cut off on all {attempts} attempts \
             ({detail}); check for a proxy that limits response size or duration"
        ),
        TransportKind::Other => {
            format!("{endpoint} {url} failed on all {attempts} attempts ({detail})")
        }
    }
}

#[cfg(test)]
mod tests;

//! The request loop: authentication, the rate-limit budget, the concurrency
//! limit, retries and the mapping of Okta's responses to results.
//!
//! Each attempt of a request waits for the budget and a concurrency slot,
//! sends, and reads the whole body. Attempts end as one of:
//! - done: a 2xx with a JSON body;
//! - retried with backoff: 429 (waiting until `X-Rate-Limit-Reset`), 500,
//!   502, 503, 504, network errors, timeouts and truncated bodies, up to
//!   `max_retries` times;
//! - retried once: a 2xx whose body is not JSON. A proxy glitch can cause
//!   one such body, but the same on the retry means the URL is not Okta's
//!   API, and more retries would only spend the rate limit;
//! - retried once with a new token: a 401 to a cached access token;
//! - failed: any other 3xx or 4xx, and any body larger than
//!   [`MAX_BODY_BYTES`].

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE,
};
use serde::de::{DeserializeOwned, IgnoredAny};
use url::Url;

use crate::assertion::{self, AssertionClaims};
use crate::budget::{Bucket, RateLimitHeaders, WaitNotice};
use crate::client::OktaClient;
use crate::credentials::Credentials;
use crate::error::{display_url, AuthMethod, ErrorBody, OktaError, TransportKind};
use crate::observer::Endpoint;
use crate::retry::{full_jitter, rate_limit_wait};
use crate::token::{FetchedToken, TokenResponse};

/// Asks Okta to leave `credentials` and the credential links out of user
/// objects; orgsync never reads them.
const OMIT_CREDENTIALS: &str =
    "application/json; okta-response=omitCredentials,omitCredentialsLinks";

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The largest response body the client reads. Okta's largest pages (10,000
/// groups, or 1,000 members with full profiles) are a few megabytes, so a
/// body past this limit is not Okta's, and reading it could exhaust memory
/// within the request timeout.
// NOTE: an estimate with wide headroom; Okta documents no maximum size.
pub(crate) const MAX_BODY_BYTES: usize = 128 * 1024 * 1024;

/// One request: the endpoint, the URL and, for messages, the search
/// expression it carries.
pub(crate) struct Call<'a> {
    pub(crate) endpoint: Endpoint,
    pub(crate) url: &'a Url,
    pub(crate) search: Option<&'a str>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(endpoint: Endpoint, url: &'a Url, search: Option<&'a str>) -> Call<'a> {
        Call {
            endpoint,
            url,
            search,
        }
    }

    fn display_url(&self) -> String {
        display_url(self.url)
    }
}

/// A complete response.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// Deserializes the body, or reports it as not what Okta sends.
    pub(crate) fn json<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T, OktaError> {
        serde_json::from_slice(&self.body).map_err(|err| OktaError::MalformedResponse {
            endpoint: call.endpoint,
            url: call.display_url(),
            status: self.status,
            reason: format!("unexpected JSON ({err})"),
        })
    }
}

/// The `Authorization` of an attempt.
struct Auth {
    header: HeaderValue,
    /// The cached token's generation, for OAuth tokens.
    generation: Option<u64>,
}

/// The end state of one attempt.
enum Outcome {
    Done(Reply),
    Retry(Failure),
    /// A 401 to the cached token of this generation.
    Refresh {
        generation: u64,
        body: Box<ErrorBody>,
    },
    Fail(OktaError),
}

/// A failure worth retrying.
enum Failure {
    RateLimited {
        headers: Option<RateLimitHeaders>,
        received_at: SystemTime,
    },
    Server {
        status: u16,
        body: Box<ErrorBody>,
    },
    Transport {
        kind: TransportKind,
        detail: String,
    },
    MalformedJson {
        status: u16,
        reason: String,
    },
}

impl Failure {
    /// Returns a short description for logs and the observer.
    fn reason(&self) -> String {
        match self {
            Failure::RateLimited { .. } => "HTTP 429 (E0000047, rate limit exceeded)".to_owned(),
            Failure::Server { status, body } => format!("HTTP {status}{body}"),
            Failure::Transport { kind, detail } => format!("{}: {detail}", transport_label(*kind)),
            Failure::MalformedJson { status, reason } => format!("HTTP {status}, {reason}"),
        }
    }

    /// Returns the wait before retry number `retry` (1 for the first retry).
    fn wait(&self, retry: u32) -> Duration {
        let mut rng = rand::thread_rng();
        match self {
            Failure::RateLimited {
                headers,
                received_at,
            } => rate_limit_wait(headers.as_ref(), *received_at, retry, &mut rng),
            _ => full_jitter(retry, &mut rng),
        }
    }

    fn into_error(self, call: &Call<'_>, attempts: u32, timeout: Duration) -> OktaError {
        let endpoint = call.endpoint;
        let url = call.display_url();
        match self {
            Failure::RateLimited { .. } => OktaError::RateLimited {
                endpoint,
                url,
                attempts,
            },
            Failure::Server { status, body } => OktaError::ServerError {
                endpoint,
                url,
                status,
                body,
                attempts,
            },
            Failure::Transport { kind, detail } => OktaError::Transport {
                endpoint,
                url,
                kind,
                detail,
                attempts,
                timeout,
            },
            Failure::MalformedJson { status, reason } => OktaError::MalformedResponse {
                endpoint,
                url,
                status,
                reason,
            },
        }
    }
}

/// The result of sending: a complete response, a response whose body passed
/// [`MAX_BODY_BYTES`], or an error with the headers if they arrived before it.
enum Exchange {
    Complete(Reply),
    TooLarge {
        status: u16,
        headers: HeaderMap,
    },
    Failed {
        headers: Option<HeaderMap>,
        error: reqwest::Error,
    },
}

impl OktaClient {
    /// Sends `call`, retrying as the module documentation describes.
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Reply, OktaError> {
        let mut retries = 0;
        let mut refreshed = false;
        let mut malformed_seen = false;
        loop {
            let failure = match self.attempt(call).await? {
                Outcome::Done(reply) => return Ok(reply),
                Outcome::Fail(err) => return Err(err),
                Outcome::Retry(failure) => failure,
                Outcome::Refresh { generation, body } => {
                    if refreshed {
                        return Err(OktaError::Unauthorized {
                            endpoint: call.endpoint,
                            url: call.display_url(),
                            body,
                            auth: AuthMethod::OAuth,
                        });
                    }
                    refreshed = true;
                    tracing::info!(endpoint = %call.endpoint, "Okta rejected the cached access token, fetching a new one");
                    self.shared.tokens.invalidate(generation).await;
                    continue;
                }
            };

            let malformed = matches!(failure, Failure::MalformedJson { .. });
            if retries >= self.shared.max_retries || (malformed && malformed_seen) {
                let timeout = self.shared.request_timeout;
                return Err(failure.into_error(call, retries + 1, timeout));
            }
            malformed_seen |= malformed;
            retries += 1;
            self.wait_before_retry(call, retries, &failure).await;
        }
    }

    async fn wait_before_retry(&self, call: &Call<'_>, retry: u32, failure: &Failure) {
        let wait = failure.wait(retry);
        let reason = failure.reason();
        tracing::warn!(
            endpoint = %call.endpoint,
            url = %call.display_url(),
            attempt = retry,
            max_retries = self.shared.max_retries,
            reason = %reason,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "retrying Okta request"
        );
        self.observer.retrying(call.endpoint, retry, &reason, wait);
        self.shared.stats.retry();
        if matches!(failure, Failure::RateLimited { .. }) {
            self.shared.stats.rate_limit_wait(wait);
        }
        tokio::time::sleep(wait).await;
    }

    /// Makes one attempt of `call`. Errors returned here end the request
    /// at once (no token, a bad header value); the rest become outcomes.
    async fn attempt(&self, call: &Call<'_>) -> Result<Outcome, OktaError> {
        let auth = self.authorization(call.endpoint).await?;
        let request = self.build_request(call, auth.as_ref())?;
        let bucket = Bucket::classify(call.url.path());
        let permit = self
            .shared
            .budget
            .acquire(
                bucket,
                || self.shared.now(),
                |notice| self.report_budget_wait(notice),
            )
            .await;
        // The semaphore is never closed, so `None` cannot happen; sending
        // without a slot would still be correct, only less polite.
        let _slot = self.shared.in_flight.acquire().await.ok();

        self.shared.stats.request_sent(call.endpoint);
        let started = Instant::now();
        let exchange = self.exchange(request).await;
        let received_at = self.shared.now();
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

        match exchange {
            Exchange::Complete(reply) => {
                let limits = RateLimitHeaders::parse(&reply.headers);
                permit.finish(limits.as_ref(), received_at);
                self.shared.stats.response(reply.status);
                self.observer.response(call.endpoint, Some(reply.status));
                tracing::debug!(endpoint = %call.endpoint, url = %call.display_url(), status = reply.status, elapsed_ms, "Okta response");
                Ok(self.classify(call, reply, limits, auth.as_ref(), received_at))
            }
            Exchange::TooLarge { status, headers } => {
                let limits = RateLimitHeaders::parse(&headers);
                permit.finish(limits.as_ref(), received_at);
                self.shared.stats.response(status);
                self.observer.response(call.endpoint, Some(status));
                tracing::debug!(endpoint = %call.endpoint, url = %call.display_url(), status, elapsed_ms, "Okta response body too large");
                Ok(Outcome::Fail(OktaError::MalformedResponse {
                    endpoint: call.endpoint,
                    url: call.display_url(),
                    status,
                    reason: format!(
                        "the body is larger than {} MiB, far more than any Okta page",
                        MAX_BODY_BYTES >> 20
                    ),
                }))
            }
            Exchange::Failed { headers, error } => {
                let limits = headers.as_ref().and_then(RateLimitHeaders::parse);
                permit.finish(limits.as_ref(), received_at);
                self.shared.stats.transport_error();
                self.observer.response(call.endpoint, None);
                let (kind, detail) = transport_failure(&error, headers.is_some());
                tracing::debug!(endpoint = %call.endpoint, url = %call.display_url(), elapsed_ms, error = %detail, "Okta request failed");
                Ok(Outcome::Retry(Failure::Transport { kind, detail }))
            }
        }
    }

    async fn exchange(&self, request: reqwest::Request) -> Exchange {
        let response = match self.shared.http.execute(request).await {
            Ok(response) => response,
            Err(error) => {
                return Exchange::Failed {
                    headers: None,
                    error,
                }
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        match read_body(response).await {
            Ok(Some(body)) => Exchange::Complete(Reply {
                status,
                headers,
                body,
            }),
            Ok(None) => Exchange::TooLarge { status, headers },
            Err(error) => Exchange::Failed {
                headers: Some(headers),
                error,
            },
        }
    }

    fn report_budget_wait(&self, notice: WaitNotice) {
        let wait_ms = u64::try_from(notice.wait.as_millis()).unwrap_or(u64::MAX);
        if !notice.first {
            tracing::debug!(
                bucket = notice.bucket.name(),
                wait_ms,
                "waiting for the rate-limit window to reset"
            );
            return;
        }
        tracing::info!(
            bucket = notice.bucket.name(),
            wait_ms,
            "rate-limit share used up, waiting for the window to reset"
        );
        self.observer
            .rate_limit_wait(notice.bucket.name(), notice.wait);
        self.shared.stats.rate_limit_wait(notice.wait);
    }

    fn auth_method(&self) -> AuthMethod {
        match self.shared.credentials {
            Credentials::ApiToken(_) => AuthMethod::ApiToken,
            Credentials::PrivateKey { .. } => AuthMethod::OAuth,
        }
    }

    /// Returns the `Authorization` header of an API call: the API token, or the
    /// cached access token (fetched first if needed).
    async fn authorization(&self, endpoint: Endpoint) -> Result<Option<Auth>, OktaError> {
        if matches!(endpoint, Endpoint::Token | Endpoint::Organization) {
            return Ok(None);
        }
        let (value, generation) = match &self.shared.credentials {
            Credentials::ApiToken(token) => (token.authorization(), None),
            Credentials::PrivateKey { .. } => {
                let bearer = self
                    .shared
                    .tokens
                    .bearer(|| self.shared.now(), || self.request_token_boxed())
                    .await?;
                (bearer.authorization, Some(bearer.generation))
            }
        };
        let mut header = HeaderValue::from_str(&value).map_err(|_| OktaError::InvalidConfig {
            setting: "token",
            value: "<redacted>".to_owned(),
            problem: "contains characters that are not allowed in an HTTP header; copy the \
                      token again"
                .to_owned(),
        })?;
        header.set_sensitive(true);
        Ok(Some(Auth { header, generation }))
    }

    fn build_request(
        &self,
        call: &Call<'_>,
        auth: Option<&Auth>,
    ) -> Result<reqwest::Request, OktaError> {
        let mut builder = self
            .shared
            .http
            .request(call.endpoint.method(), call.url.clone())
            .header(ACCEPT, "application/json");
        match call.endpoint {
            Endpoint::Token => builder = builder.form(&self.token_form()?),
            Endpoint::Users | Endpoint::GroupMembers => {
                builder = builder.header(CONTENT_TYPE, OMIT_CREDENTIALS)
            }
            Endpoint::Groups | Endpoint::Organization => {}
        }
        if let Some(auth) = auth {
            builder = builder.header(AUTHORIZATION, auth.header.clone());
        }
        builder.build().map_err(|err| OktaError::HttpClient {
            reason: format!("failed to build the request for {}: {err}", call.endpoint),
        })
    }

    /// Builds the form of a token request, with a newly signed assertion.
    fn token_form(&self) -> Result<Vec<(&'static str, String)>, OktaError> {
        let Credentials::PrivateKey {
            client_id,
            key,
            key_id,
        } = &self.shared.credentials
        else {
            return Err(OktaError::NoOAuthCredentials);
        };
        let claims = AssertionClaims::new(client_id, &self.shared.token_url, self.shared.now());
        let signed = assertion::sign(key, Credentials::assertion_key_id(key_id, key), &claims)?;
        Ok(vec![
            ("grant_type", "client_credentials".to_owned()),
            ("scope", self.shared.scopes.join(" ")),
            ("client_assertion_type", ASSERTION_TYPE.to_owned()),
            ("client_assertion", signed),
        ])
    }

    /// Requests an access token from the org authorization server.
    pub(crate) async fn request_token(&self) -> Result<FetchedToken, OktaError> {
        let token_url = &self.shared.token_url;
        let call = Call::new(Endpoint::Token, token_url, None);
        let reply = self.send(&call).await?;
        let response: TokenResponse = reply.json(&call)?;
        let token = FetchedToken::from_response(response, &self.shared.scopes, self.shared.now());

        let info = token.info();
        if !info.token_type.eq_ignore_ascii_case("Bearer") {
            return Err(OktaError::MalformedResponse {
                endpoint: Endpoint::Token,
                url: call.display_url(),
                status: reply.status,
                reason: format!(
                    "token_type is `{}`, but orgsync only uses Bearer tokens (is DPoP \
                     required on the app?)",
                    info.token_type
                ),
            });
        }
        tracing::debug!(scopes = ?info.scopes, expires_in_s = info.expires_in.as_secs(), "fetched an access token");
        Ok(token)
    }

    /// [`OktaClient::request_token`] behind a box, because it is called
    /// from inside [`OktaClient::send`], which it calls itself.
    fn request_token_boxed(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<FetchedToken, OktaError>> + Send + '_>> {
        Box::pin(self.request_token())
    }

    /// Maps a complete response to an outcome.
    fn classify(
        &self,
        call: &Call<'_>,
        reply: Reply,
        limits: Option<RateLimitHeaders>,
        auth: Option<&Auth>,
        received_at: SystemTime,
    ) -> Outcome {
        let status = reply.status;
        match status {
            200..=299 => match serde_json::from_slice::<IgnoredAny>(&reply.body) {
                Ok(_) => Outcome::Done(reply),
                Err(err) => Outcome::Retry(Failure::MalformedJson {
                    status,
                    reason: format!("the body is not JSON ({err})"),
                }),
            },
            300..=399 => Outcome::Fail(OktaError::Redirect {
                endpoint: call.endpoint,
                url: call.display_url(),
                status,
                location: header_text(&reply.headers, LOCATION).unwrap_or_default(),
            }),
            429 => Outcome::Retry(Failure::RateLimited {
                headers: limits,
                received_at,
            }),
            500 | 502 | 503 | 504 => Outcome::Retry(Failure::Server {
                status,
                body: Box::new(ErrorBody::parse(&reply.body)),
            }),
            _ => self.rejection(call, &reply, auth),
        }
    }

    /// Maps a 4xx (or a 5xx not retried) to an outcome.
    fn rejection(&self, call: &Call<'_>, reply: &Reply, auth: Option<&Auth>) -> Outcome {
        let body = Box::new(ErrorBody::parse(&reply.body));
        let url = call.display_url();
        let status = reply.status;

        if call.endpoint == Endpoint::Token {
            let client_id = match &self.shared.credentials {
                Credentials::PrivateKey { client_id, .. } => client_id.clone(),
                Credentials::ApiToken(_) => String::new(),
            };
            return Outcome::Fail(OktaError::TokenRejected {
                url,
                status,
                body,
                client_id,
                scopes: self.shared.scopes.clone(),
            });
        }
        if status == 401 {
            if let Some(generation) = auth.and_then(|auth| auth.generation) {
                return Outcome::Refresh { generation, body };
            }
            return Outcome::Fail(OktaError::Unauthorized {
                endpoint: call.endpoint,
                url,
                body,
                auth: self.auth_method(),
            });
        }
        if status == 403 {
            if let Some(challenge) = insufficient_scope(&reply.headers, &body) {
                return Outcome::Fail(OktaError::InsufficientScope {
                    endpoint: call.endpoint,
                    url,
                    scope: challenge.scope,
                    description: challenge.description,
                });
            }
        }
        Outcome::Fail(OktaError::Api {
            endpoint: call.endpoint,
            url,
            status,
            body,
            search: call.search.map(str::to_owned),
            auth: self.auth_method(),
        })
    }
}

/// Reads a response body of at most [`MAX_BODY_BYTES`]. Returns `None` as
/// soon as the body grows past it, without reading the rest.
async fn read_body(mut response: reqwest::Response) -> Result<Option<Bytes>, reqwest::Error> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

fn header_text(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The parameters of an `insufficient_scope` challenge.
struct ScopeChallenge {
    scope: Option<String>,
    description: Option<String>,
}

/// Finds an `insufficient_scope` error in `WWW-Authenticate` (how Okta
/// reports it) or in an OAuth error body.
fn insufficient_scope(headers: &HeaderMap, body: &ErrorBody) -> Option<ScopeChallenge> {
    if let Some(challenge) = header_text(headers, WWW_AUTHENTICATE) {
        if auth_param(&challenge, "error").as_deref() == Some("insufficient_scope") {
            return Some(ScopeChallenge {
                scope: auth_param(&challenge, "scope"),
                description: auth_param(&challenge, "error_description"),
            });
        }
    }
    match body {
        ErrorBody::OAuth(oauth) if oauth.error == "insufficient_scope" => Some(ScopeChallenge {
            scope: None,
            description: oauth.description.clone(),
        }),
        _ => None,
    }
}

/// Reads the quoted parameter `name` of a `WWW-Authenticate` challenge such
/// as `Bearer realm="…", error="insufficient_scope", scope="okta.users.read"`.
fn auth_param(challenge: &str, name: &str) -> Option<String> {
    let pattern = format!("{name}=\"");
    let mut search_from = 0;
    while let Some(found) = challenge[search_from..].find(&pattern) {
        let start = search_from + found;
        let preceded_by_separator = challenge[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c == ' ' || c == ',');
        let value_start = start + pattern.len();
        if preceded_by_separator {
            let value_end = challenge[value_start..].find('"')? + value_start;
            return Some(challenge[value_start..value_end].to_owned());
        }
        search_from = value_start;
    }
    None
}

/// Words that mark a TLS failure in an error chain. Besides the generic
/// ones, rustls (0.23) names a server that does not speak TLS "received
/// corrupt message", and a failed negotiation "peer is incompatible",
/// "peer misbehaved" or "received fatal alert".
const TLS_MARKERS: [&str; 7] = [
    "certificate",
    "tls",
    "handshake",
    "corrupt message",
    "peer is incompatible",
    "peer misbehaved",
    "fatal alert",
];

/// Classifies a network error. `had_headers` is true when the response
/// head arrived and only the body failed.
fn transport_failure(error: &reqwest::Error, had_headers: bool) -> (TransportKind, String) {
    let detail = error_chain(error);
    let lower = detail.to_ascii_lowercase();
    let kind = if error.is_timeout() {
        TransportKind::Timeout
    } else if had_headers || error.is_body() || error.is_decode() {
        TransportKind::Body
    } else if [
        "dns error",
        "failed to lookup address",
        "name or service not known",
    ]
    .iter()
    .any(|text| lower.contains(text))
    {
        TransportKind::Dns
    } else if TLS_MARKERS.iter().any(|text| lower.contains(text)) {
        TransportKind::Tls
    } else if error.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    (kind, detail)
}

/// Joins the messages of an error's sources, which are more specific than
/// reqwest's own "error sending request" line.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join(": ")
    }
}

fn transport_label(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Dns => "DNS lookup failed",
        TransportKind::Connect => "connection failed",
        TransportKind::Tls => "TLS failed",
        TransportKind::Timeout => "timed out",
        TransportKind::Body => "response body cut off",
        TransportKind::Other => "request failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = r#"Bearer authorization_uri="http://127.0.0.1:1/oauth2/v1/authorize", realm="http://127.0.0.1:1", scope="okta.groups.read", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="/api/v1/groups""#;

    #[test]
    fn challenge_params_are_read() {
        assert_eq!(
            auth_param(CHALLENGE, "scope").as_deref(),
            Some("okta.groups.read")
        );
        assert_eq!(
            auth_param(CHALLENGE, "error").as_deref(),
            Some("insufficient_scope")
        );
    }

    #[test]
    fn param_suffix_does_not_match() {
        // `error=` must not match inside `error_description=` or `xerror=`.
        let challenge = r#"Bearer xerror="no", error_description="d", error="insufficient_scope""#;
        assert_eq!(
            auth_param(challenge, "error").as_deref(),
            Some("insufficient_scope")
        );
    }

    #[test]
    fn missing_param_is_none() {
        assert_eq!(auth_param("Bearer realm=\"x\"", "scope"), None);
    }

    #[test]
    fn scope_challenge_found_in_header() {
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        let challenge = insufficient_scope(&headers, &ErrorBody::Unknown).expect("challenge");
        assert_eq!(challenge.scope.as_deref(), Some("okta.groups.read"));
    }

    #[test]
    fn other_403_has_no_scope_challenge() {
        let body = ErrorBody::parse(br#"{"errorCode":"E0000006","errorSummary":"x"}"#);
        assert!(insufficient_scope(&HeaderMap::new(), &body).is_none());
    }
}

//! Bearer-token access control.
//!
//! Two tokens guard the API. The *read token*, when set, is required by
//! every read endpoint (the catalog, provider status and `/metrics`); the
//! *admin token* is required by every write endpoint (a provider refresh)
//! and is accepted for reads too. Without an admin token, write endpoints
//! are disabled. Health checks and the OpenAPI document stay open, so that
//! load balancers and clients can use them without a token.
//!
//! Tokens are compared in constant time and never logged; their `Debug`
//! output is redacted.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// A bearer token. `Debug` shows only whether it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token; surrounding whitespace, as left by files and
    /// environment variables, is dropped. Returns `None` for an empty token.
    pub fn new(text: &str) -> Option<Token> {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| Token(trimmed.to_string()))
    }

    /// Compares with `candidate` in time that depends only on the lengths.
    pub(crate) fn matches(&self, candidate: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(candidate.as_bytes()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Which tokens the API requires.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Required by read endpoints when set.
    pub read_token: Option<Token>,
    /// Required by write endpoints; they are disabled when it is unset.
    pub admin_token: Option<Token>,
}

/// What a request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    None,
    Read,
    Admin,
}

impl AuthConfig {
    /// Returns whether a request with `headers` may read: always when no read token
    /// is set, else when it carries the read or the admin token.
    pub fn allows_read(&self, headers: &HeaderMap) -> bool {
        self.read_token.is_none() || self.access(headers) != Access::None
    }

    fn access(&self, headers: &HeaderMap) -> Access {
        let Some(presented) = bearer_token(headers) else {
            return Access::None;
        };
        if self
            .admin_token
            .as_ref()
            .is_some_and(|token| token.matches(presented))
        {
            return Access::Admin;
        }
        if self
            .read_token
            .as_ref()
            .is_some_and(|token| token.matches(presented))
        {
            return Access::Read;
        }
        Access::None
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let header = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn unauthenticated(what: &str) -> Response {
    let error = ApiError::Authentication(format!(
        "{what} requires a bearer token; send Authorization: Bearer <token> with the {}",
        if what == "Reading" {
            "read token (backend.auth.readToken) or the admin token"
        } else {
            "admin token (backend.auth.adminToken)"
        }
    ));
    let mut response = error.into_response();
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Middleware for read endpoints: passes every request when no read token
/// is set, else requires the read or admin token.
pub async fn require_read(
    State(auth): State<Arc<AuthConfig>>,
    request: Request,
    next: Next,
) -> Response {
    if !auth.allows_read(request.headers()) {
        tracing::debug!(path = %request.uri().path(), "read request without a valid token rejected");
        return unauthenticated("Reading");
    }
    next.run(request).await
}

/// Middleware for write endpoints: requires the admin token.
pub async fn require_admin(
    State(auth): State<Arc<AuthConfig>>,
    request: Request,
    next: Next,
) -> Response {
    if auth.admin_token.is_none() {
        return ApiError::NotAllowed(
            "Write requests are disabled because no admin token is configured; set \
             backend.auth.adminToken and send it as Authorization: Bearer <token>"
                .to_string(),
        )
        .into_response();
    }
    if auth.access(request.headers()) != Access::Admin {
        tracing::warn!(path = %request.uri().path(), "write request without the admin token rejected");
        return unauthenticated("This request");
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use http::StatusCode;
    use tower::ServiceExt;

    fn config(read: Option<&str>, admin: Option<&str>) -> Arc<AuthConfig> {
        Arc::new(AuthConfig {
            read_token: read.and_then(Token::new),
            admin_token: admin.and_then(Token::new),
        })
    }

    async fn status(auth: Arc<AuthConfig>, admin_route: bool, header: Option<&str>) -> StatusCode {
        let route = Router::new().route("/", get(|| async { "ok" }));
        let app = if admin_route {
            route.layer(axum::middleware::from_fn_with_state(auth, require_admin))
        } else {
            route.layer(axum::middleware::from_fn_with_state(auth, require_read))
        };
        let mut request = Request::builder().uri("/");
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        response.status()
    }

    #[tokio::test]
    async fn reads_are_open_without_read_token() {
        assert_eq!(
            status(config(None, Some("admin")), false, None).await,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn read_token_is_required_when_set() {
        assert_eq!(
            status(config(Some("r"), None), false, None).await,
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn read_token_is_accepted() {
        let code = status(config(Some("r"), None), false, Some("Bearer r")).await;
        assert_eq!(code, StatusCode::OK);
    }

    #[tokio::test]
    async fn admin_token_allows_reads() {
        let code = status(config(Some("r"), Some("a")), false, Some("bearer a")).await;
        assert_eq!(code, StatusCode::OK);
    }

    #[tokio::test]
    async fn wrong_read_token_is_rejected() {
        let code = status(config(Some("r"), None), false, Some("Bearer x")).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn writes_are_disabled_without_admin_token() {
        let code = status(config(None, None), true, Some("Bearer anything")).await;
        assert_eq!(code, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn read_token_cannot_write() {
        let code = status(config(Some("r"), Some("a")), true, Some("Bearer r")).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn admin_token_can_write() {
        let code = status(config(None, Some("a")), true, Some("Bearer a")).await;
        assert_eq!(code, StatusCode::OK);
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = Token::new("s3cret").unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
    }

    #[test]
    fn blank_token_is_none() {
        assert_eq!(Token::new("  \n"), None);
    }
}

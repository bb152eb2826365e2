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
use orgsync_config::ApiAuth;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The environment variable read when `backend.auth.readToken` is unset.
pub const READ_TOKEN_VAR: &str = "ORGSYNC_READ_TOKEN";
/// The environment variable read when `backend.auth.adminToken` is unset.
pub const ADMIN_TOKEN_VAR: &str = "ORGSYNC_ADMIN_TOKEN";

const READ_TOKEN_KEY: &str = "backend.auth.readToken";
const ADMIN_TOKEN_KEY: &str = "backend.auth.adminToken";

/// A bearer token and the setting it came from. `Debug` shows only the
/// setting.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    secret: String,
    /// The setting the token came from, such as `backend.auth.readToken`,
    /// for error messages. `None` when the caller did not name one.
    setting: Option<String>,
}

impl Token {
    /// Wraps a token; surrounding whitespace, as left by files and
    /// environment variables, is dropped. Returns `None` for an empty token.
    pub fn new(text: &str) -> Option<Token> {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| Token {
            secret: trimmed.to_string(),
            setting: None,
        })
    }

    /// Records where the token is set, for error messages.
    pub fn from_setting(self, setting: &str) -> Token {
        Token {
            setting: Some(setting.to_string()),
            ..self
        }
    }

    /// Compares with `candidate` in time that depends only on the lengths.
    pub(crate) fn matches(&self, candidate: &str) -> bool {
        bool::from(self.secret.as_bytes().ct_eq(candidate.as_bytes()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.setting {
            Some(setting) => write!(f, "Token(*** from {setting})"),
            None => f.write_str("Token(***)"),
        }
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
    /// No `Authorization: Bearer` header.
    Anonymous,
    /// A bearer token that matches no configured token.
    Rejected,
    Read,
    Admin,
}

impl AuthConfig {
    /// Takes each token from `backend.auth`, or else from its environment
    /// variable (`ORGSYNC_READ_TOKEN`, `ORGSYNC_ADMIN_TOKEN`) looked up
    /// through `env`.
    pub fn resolve(config: &ApiAuth, env: &dyn Fn(&str) -> Option<String>) -> AuthConfig {
        let pick = |configured: &Option<String>, key: &str, var: &str| match configured {
            Some(token) => Token::new(token).map(|token| token.from_setting(key)),
            None => env(var)
                .and_then(|value| Token::new(&value))
                .map(|token| token.from_setting(&format!("the {var} environment variable"))),
        };
        AuthConfig {
            read_token: pick(&config.read_token, READ_TOKEN_KEY, READ_TOKEN_VAR),
            admin_token: pick(&config.admin_token, ADMIN_TOKEN_KEY, ADMIN_TOKEN_VAR),
        }
    }

    /// Returns whether a request with `headers` may read: always when no
    /// read token is set, else when it carries the read or the admin token.
    pub fn allows_read(&self, headers: &HeaderMap) -> bool {
        self.read_token.is_none() || matches!(self.access(headers), Access::Read | Access::Admin)
    }

    fn access(&self, headers: &HeaderMap) -> Access {
        let Some(presented) = bearer_token(headers) else {
            return Access::Anonymous;
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
        Access::Rejected
    }

    /// Names the setting of the read token, and of the admin token when one
    /// is set, for error messages.
    fn read_settings(&self) -> String {
        let read = setting_of(self.read_token.as_ref(), READ_TOKEN_KEY, READ_TOKEN_VAR);
        match &self.admin_token {
            Some(admin) => format!(
                "the read token ({read}) or the admin token ({})",
                setting_of(Some(admin), ADMIN_TOKEN_KEY, ADMIN_TOKEN_VAR)
            ),
            None => format!("the read token ({read})"),
        }
    }

    fn admin_setting(&self) -> String {
        setting_of(self.admin_token.as_ref(), ADMIN_TOKEN_KEY, ADMIN_TOKEN_VAR)
    }
}

/// Names where `token` is set, or both places it can be set.
fn setting_of(token: Option<&Token>, key: &str, var: &str) -> String {
    token
        .and_then(|token| token.setting.clone())
        .unwrap_or_else(|| format!("{key} or the {var} environment variable"))
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let header = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Builds a 401 response with `WWW-Authenticate: Bearer`.
fn unauthenticated(message: String) -> Response {
    let mut response = ApiError::Authentication(message).into_response();
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
    if auth.read_token.is_none() {
        return next.run(request).await;
    }
    match auth.access(request.headers()) {
        Access::Read | Access::Admin => next.run(request).await,
        Access::Anonymous => {
            tracing::debug!(path = %request.uri().path(), "read request without a token rejected");
            unauthenticated(format!(
                "Reading requires a bearer token; send Authorization: Bearer <token> with {}",
                auth.read_settings()
            ))
        }
        Access::Rejected => {
            tracing::warn!(path = %request.uri().path(), "read request with a wrong token rejected");
            unauthenticated(format!(
                "The bearer token was not accepted; send {}",
                auth.read_settings()
            ))
        }
    }
}

/// Middleware for write endpoints: requires the admin token.
pub async fn require_admin(
    State(auth): State<Arc<AuthConfig>>,
    request: Request,
    next: Next,
) -> Response {
    if auth.admin_token.is_none() {
        return ApiError::NotAllowed(format!(
            "Write requests are disabled because no admin token is configured; set \
             {ADMIN_TOKEN_KEY} or the {ADMIN_TOKEN_VAR} environment variable, restart \
             orgsync serve, and send the token as Authorization: Bearer <token>"
        ))
        .into_response();
    }
    let path = request.uri().path().to_string();
    match auth.access(request.headers()) {
        Access::Admin => next.run(request).await,
        Access::Anonymous => {
            tracing::warn!(%path, "write request without a token rejected");
            unauthenticated(format!(
                "This request requires the admin token ({}) as Authorization: Bearer <token>",
                auth.admin_setting()
            ))
        }
        Access::Rejected => {
            tracing::warn!(%path, "write request with a wrong token rejected");
            unauthenticated(format!(
                "The bearer token was not accepted; this request requires the admin token ({})",
                auth.admin_setting()
            ))
        }
        Access::Read => {
            tracing::warn!(%path, "write request with the read token rejected");
            ApiError::NotAllowed(format!(
                "The read token cannot make write requests; send the admin token ({})",
                auth.admin_setting()
            ))
            .into_response()
        }
    }
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
        respond(auth, admin_route, header).await.0
    }

    async fn respond(
        auth: Arc<AuthConfig>,
        admin_route: bool,
        header: Option<&str>,
    ) -> (StatusCode, String) {
        let route = Router::new().route("/", get(|| async { "ok" }));
        let app = if admin_route {
            route.layer(axum::middleware::from_fn_with_state(auth, require_admin))
        } else {
            route.layer(axum::middleware::from_fn_with_state(auth, require_read))
        };
        let app = app.layer(axum::middleware::from_fn(crate::error::error_body));
        let mut request = Request::builder().uri("/");
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
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
        let (code, body) = respond(config(Some("r"), Some("a")), true, Some("Bearer r")).await;
        assert_eq!(code, StatusCode::FORBIDDEN);
        assert!(
            body.contains("read token cannot make write requests"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn wrong_token_is_not_accepted() {
        let (code, body) = respond(config(Some("r"), None), false, Some("Bearer x")).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        assert!(body.contains("not accepted"), "{body}");
        assert!(!body.contains("requires a bearer token"), "{body}");
    }

    #[tokio::test]
    async fn missing_token_is_asked_for() {
        let (code, body) = respond(config(Some("r"), None), false, None).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        assert!(body.contains("requires a bearer token"), "{body}");
    }

    #[tokio::test]
    async fn message_names_config_key_in_use() {
        let settings = ApiAuth {
            read_token: Some("from-config".to_string()),
            admin_token: None,
        };
        let auth = AuthConfig::resolve(&settings, &env_of(&[(READ_TOKEN_VAR, "from-env")]));
        let (code, body) = respond(Arc::new(auth), false, Some("Bearer from-env")).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        assert!(body.contains("backend.auth.readToken"), "{body}");
        assert!(!body.contains(READ_TOKEN_VAR), "{body}");
    }

    #[tokio::test]
    async fn message_names_env_var_in_use() {
        let auth = AuthConfig::resolve(
            &ApiAuth::default(),
            &env_of(&[(ADMIN_TOKEN_VAR, "admin-from-env")]),
        );
        let (code, body) = respond(Arc::new(auth), true, Some("Bearer wrong")).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        assert!(
            body.contains("the ORGSYNC_ADMIN_TOKEN environment variable"),
            "{body}"
        );
        assert!(!body.contains("backend.auth.adminToken"), "{body}");
    }

    #[test]
    fn config_token_replaces_env_var() {
        let settings = ApiAuth {
            read_token: None,
            admin_token: Some("from-config".to_string()),
        };
        let env = env_of(&[(ADMIN_TOKEN_VAR, "from-env"), (READ_TOKEN_VAR, "read-env")]);
        let auth = AuthConfig::resolve(&settings, &env);
        let admin = auth.admin_token.expect("admin token");
        assert!(admin.matches("from-config"));
        assert!(!admin.matches("from-env"));
        assert!(auth.read_token.expect("read token").matches("read-env"));
    }

    #[test]
    fn blank_env_var_sets_no_token() {
        let auth = AuthConfig::resolve(&ApiAuth::default(), &env_of(&[(READ_TOKEN_VAR, " ")]));
        assert!(auth.read_token.is_none());
    }

    #[tokio::test]
    async fn admin_token_can_write() {
        let code = status(config(None, Some("a")), true, Some("Bearer a")).await;
        assert_eq!(code, StatusCode::OK);
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = Token::new("s3cret")
            .unwrap()
            .from_setting("backend.auth.readToken");
        let shown = format!("{token:?}");
        assert!(!shown.contains("s3cret"));
        assert!(shown.contains("backend.auth.readToken"));
    }

    #[test]
    fn blank_token_is_none() {
        assert_eq!(Token::new("  \n"), None);
    }
}

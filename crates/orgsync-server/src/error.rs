//! Errors: [`ApiError`] for HTTP responses, in Backstage's error body, and
//! [`ServeError`] for starting the server.
//!
//! Backstage's error body is
//! `{ "error": { "name", "message" }, "request": { "method", "url" },
//! "response": { "statusCode" } }`, with `name` one of the error class names
//! of `@backstage/errors` (`InputError`, `NotFoundError`, …). A handler
//! returns an [`ApiError`], and the [`error_body`] middleware, which has the
//! request, writes the body.

use std::net::SocketAddr;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use orgsync_store::StoreError;
use serde_json::json;

/// A failed API request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// A parameter or body is invalid (400).
    #[error("{0}")]
    Input(String),
    /// The request has no valid bearer token (401).
    #[error("{0}")]
    Authentication(String),
    /// The token is valid but does not allow this request (403).
    #[error("{0}")]
    NotAllowed(String),
    /// The entity, provider or route does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state, such as a refresh of a
    /// provider that is already running (409).
    #[error("{0}")]
    Conflict(String),
    /// The service cannot take the request now, for example while shutting
    /// down (503).
    #[error("{0}")]
    Unavailable(String),
    /// Something failed on the server's side (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// Returns the HTTP status code.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Input(_) => StatusCode::BAD_REQUEST,
            ApiError::Authentication(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotAllowed(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Returns the `@backstage/errors` class name that Backstage clients expect.
    pub fn name(&self) -> &'static str {
        match self {
            ApiError::Input(_) => "InputError",
            ApiError::Authentication(_) => "AuthenticationError",
            ApiError::NotAllowed(_) => "NotAllowedError",
            ApiError::NotFound(_) => "NotFoundError",
            ApiError::Conflict(_) => "ConflictError",
            ApiError::Unavailable(_) => "ServiceUnavailableError",
            ApiError::Internal(_) => "Error",
        }
    }
}

/// A store failure becomes a 500 whose message names the operation; the
/// store's own message can carry SQL, so it goes to the log only.
pub fn store_failure(operation: &str, error: &StoreError) -> ApiError {
    tracing::error!(operation, error = %error, "catalog store request failed");
    ApiError::Internal(format!(
        "{operation} failed because the catalog database returned an error; \
         the server log has the details"
    ))
}

/// The part of an error response that [`error_body`] completes.
#[derive(Debug, Clone)]
struct PendingError(ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = status.into_response();
        response.extensions_mut().insert(PendingError(self));
        response
    }
}

/// Middleware that writes Backstage's error body for every [`ApiError`],
/// adding the request's method and URL.
pub async fn error_body(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let url = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_string(), ToString::to_string);

    let response = next.run(request).await;
    let Some(PendingError(error)) = response.extensions().get::<PendingError>().cloned() else {
        return response;
    };

    let status = error.status();
    let body = json!({
        "error": { "name": error.name(), "message": error.to_string() },
        "request": { "method": method, "url": url },
        "response": { "statusCode": status.as_u16() },
    });
    let mut rewritten = (status, Json(body)).into_response();
    for (name, value) in response.headers() {
        if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The catalog database could not be opened.
    #[error(
        "opening the catalog database {connection:?} failed: {source}; check backend.database"
    )]
    Store {
        connection: String,
        #[source]
        source: StoreError,
    },
    /// The listen address is not an IP address and port.
    #[error(
        "backend.listen host {host:?} is not an IP address; write one such as 127.0.0.1, or 0.0.0.0 to listen on every interface"
    )]
    InvalidListenHost { host: String },
    /// Binding the listen address failed, for example because it is in use.
    #[error(
        "listening on {address} failed: {source}; stop the process that uses the port, or set backend.listen.port"
    )]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server failed while serving.
    #[error("the HTTP server on {address} failed: {source}")]
    Serve {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A signal handler could not be installed.
    #[error("installing the {signal} handler failed: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    async fn failing() -> Result<(), ApiError> {
        Err(ApiError::NotFound("No entity named 'x'".to_string()))
    }

    async fn body_of(uri: &str) -> serde_json::Value {
        let app = Router::new()
            .route("/thing", get(failing))
            .layer(axum::middleware::from_fn(error_body));
        let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn body_names_error_class() {
        let body = body_of("/thing").await;
        assert_eq!(body["error"]["name"], "NotFoundError");
    }

    #[tokio::test]
    async fn body_carries_request_url() {
        let body = body_of("/thing?filter=kind=user").await;
        assert_eq!(body["request"]["url"], "/thing?filter=kind=user");
        assert_eq!(body["request"]["method"], "GET");
    }

    #[tokio::test]
    async fn body_carries_status_code() {
        let body = body_of("/thing").await;
        assert_eq!(body["response"]["statusCode"], 404);
    }
}

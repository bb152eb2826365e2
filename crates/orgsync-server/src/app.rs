//! The whole HTTP application: every route, the access checks, request
//! logging and metrics, and the Backstage error body.
//!
//! Access: `/healthz`, `/readyz` and `/api/openapi.json` are open; the
//! catalog, the provider status API and `/metrics` need the read token when
//! one is set; a refresh or an approval needs the admin token
//! ([`crate::auth`]). The web UI's pages ([`crate::ui`]) check read access
//! themselves, because a signed-in viewer may read them without a token.
//! They are not API routes, so they are left out of the route list that the
//! OpenAPI document is checked against.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{header, Method, StatusCode};
use serde_json::json;
use tracing::Instrument;

use crate::auth::{require_admin, require_read, AuthConfig};
use crate::catalog::CatalogReader;
use crate::error::{error_body, ApiError};
use crate::metrics::{Metrics, CONTENT_TYPE};
use crate::openapi;
use crate::providers;
use crate::routes::{RouteInfo, RouteList};
use crate::scheduler::Scheduler;
use crate::session::{AdminCredentials, Sessions};
use crate::settings::ProviderRegistry;
use crate::ui;

/// What the application serves from.
#[derive(Clone)]
pub struct AppParts {
    pub catalog: Arc<dyn CatalogReader>,
    pub scheduler: Scheduler,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<AuthConfig>,
    pub registry: Arc<ProviderRegistry>,
    pub sessions: Arc<Sessions>,
    pub admin: Arc<AdminCredentials>,
}

/// Builds the application router and the list of its routes.
pub fn build_router(parts: &AppParts) -> (Router, Vec<RouteInfo>) {
    let mut all_routes = Vec::new();
    let read_guard = from_fn_with_state(Arc::clone(&parts.auth), require_read);
    let admin_guard = from_fn_with_state(Arc::clone(&parts.auth), require_admin);

    let (catalog, routes) = crate::catalog::routes().finish();
    all_routes.extend(routes);
    let (status, routes) = providers::read_routes().finish();
    all_routes.extend(routes);
    let (metrics, routes) = RouteList::new()
        .route(Method::GET, "/metrics", get(serve_metrics))
        .finish();
    all_routes.extend(routes);
    let reads = Router::new()
        .merge(catalog.with_state(Arc::clone(&parts.catalog)))
        .merge(status.with_state(parts.scheduler.clone()))
        .merge(metrics.with_state(Arc::clone(&parts.metrics)))
        .route_layer(read_guard);

    let (writes, routes) = providers::write_routes().finish();
    all_routes.extend(routes);
    let writes = writes
        .with_state(parts.scheduler.clone())
        .route_layer(admin_guard);

    let (open, routes) = RouteList::new()
        .route(Method::GET, "/healthz", get(healthz))
        .route(Method::GET, "/readyz", get(readyz))
        .route(Method::GET, "/api/openapi.json", get(serve_openapi))
        .finish();
    all_routes.extend(routes);
    let open = open.with_state(Arc::clone(&parts.catalog));

    let router = Router::new()
        .merge(reads)
        .merge(writes)
        .merge(open)
        .merge(ui::routes(parts))
        .fallback(not_found)
        .layer(from_fn_with_state(
            Arc::clone(&parts.sessions),
            ui::sign_in::attach_viewer,
        ))
        .layer(from_fn_with_state(Arc::clone(&parts.metrics), observe))
        .layer(from_fn(error_body));
    (router, all_routes)
}

/// Logs each request in a span named by its route template and counts it
/// in the metrics. Requests that match no route count as `unmatched`.
async fn observe(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let method = request.method().clone();
    let span = tracing::info_span!("http_request", method = %method, route = %route);
    let started = Instant::now();

    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    metrics.record_request(method.as_str(), &route, status.as_u16(), elapsed);

    let _entered = span.enter();
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::warn!(status = status.as_u16(), elapsed_ms, "request failed");
    } else {
        tracing::debug!(status = status.as_u16(), elapsed_ms, "request answered");
    }
    response
}

/// Responds to a request that matches no route: browsers get the UI's 404
/// page, API clients the Backstage error body.
async fn not_found(request: Request) -> Response {
    if ui::wants_html(request.headers()) {
        return ui::unknown_page(&request);
    }
    ApiError::NotFound(format!(
        "No route for {} {}; GET /api/openapi.json lists the routes",
        request.method(),
        request.uri().path()
    ))
    .into_response()
}

/// `GET /healthz`: the process is up.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the catalog database answers.
async fn readyz(
    State(catalog): State<Arc<dyn CatalogReader>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match catalog.check_ready().await {
        Ok(()) => Ok(Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed: the catalog database does not answer");
            Err(ApiError::Unavailable(
                "The catalog database does not answer; the server log has the details".to_string(),
            ))
        }
    }
}

/// `GET /metrics`.
async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    let body = metrics.encode();
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

/// `GET /api/openapi.json`.
async fn serve_openapi() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        openapi::DOCUMENT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;
    use crate::auth::Token;
    use crate::testing::memory_parts;

    fn auth(read: Option<&str>, admin: Option<&str>) -> AuthConfig {
        AuthConfig {
            read_token: read.and_then(Token::new),
            admin_token: admin.and_then(Token::new),
        }
    }

    async fn send(
        router: &Router,
        method: &str,
        uri: &str,
        token: Option<&str>,
    ) -> (StatusCode, http::HeaderMap, String) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn router(auth: AuthConfig) -> Router {
        build_router(&memory_parts(Vec::new(), auth).await).0
    }

    #[tokio::test]
    async fn healthz_is_open() {
        let router = router(auth(Some("r"), Some("a"))).await;
        let (status, _, body) = send(&router, "GET", "/healthz", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, r#"{"status":"ok"}"#);
    }

    #[tokio::test]
    async fn readyz_checks_catalog() {
        let router = router(AuthConfig::default()).await;
        let (status, _, _) = send(&router, "GET", "/readyz", None).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn openapi_is_open_json() {
        let router = router(auth(Some("r"), None)).await;
        let (status, headers, body) = send(&router, "GET", "/api/openapi.json", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert!(serde_json::from_str::<Value>(&body).is_ok());
    }

    #[tokio::test]
    async fn catalog_needs_read_token_when_set() {
        let router = router(auth(Some("r"), None)).await;
        let (status, headers, body) = send(&router, "GET", "/api/catalog/entities", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["name"], "AuthenticationError");
    }

    #[tokio::test]
    async fn metrics_need_read_token_when_set() {
        let router = router(auth(Some("r"), None)).await;
        let (status, _, _) = send(&router, "GET", "/metrics", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) = send(&router, "GET", "/metrics", Some("r")).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_count_requests_by_route_template() {
        let router = router(AuthConfig::default()).await;
        send(&router, "GET", "/api/catalog/entities/by-uid/abc", None).await;
        let (_, headers, body) = send(&router, "GET", "/metrics", None).await;
        assert_eq!(headers[header::CONTENT_TYPE], CONTENT_TYPE);
        assert!(body.contains(
            "orgsync_http_requests_total{method=\"GET\",route=\"/api/catalog/entities/by-uid/{uid}\",status=\"404\"} 1"
        ));
    }

    #[tokio::test]
    async fn provider_list_is_empty_without_providers() {
        let router = router(AuthConfig::default()).await;
        let (status, _, body) = send(&router, "GET", "/api/orgsync/providers", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, r#"{"items":[]}"#);
    }

    #[tokio::test]
    async fn unknown_provider_is_not_found() {
        let router = router(AuthConfig::default()).await;
        let (status, _, body) =
            send(&router, "GET", "/api/orgsync/providers/nope/runs", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("nope"));
    }

    #[tokio::test]
    async fn refresh_is_forbidden_without_admin_token() {
        let router = router(AuthConfig::default()).await;
        let (status, _, body) =
            send(&router, "POST", "/api/orgsync/providers/x/refresh", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("backend.auth.adminToken"));
    }

    #[tokio::test]
    async fn refresh_rejects_read_token() {
        let router = router(auth(Some("r"), Some("a"))).await;
        let (status, _, _) = send(
            &router,
            "POST",
            "/api/orgsync/providers/x/refresh",
            Some("r"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn refresh_of_unknown_provider_is_not_found() {
        let router = router(auth(None, Some("a"))).await;
        let (status, _, _) = send(
            &router,
            "POST",
            "/api/orgsync/providers/x/refresh",
            Some("a"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn unknown_method_is_rejected() {
        let router = router(AuthConfig::default()).await;
        let (status, _, _) = send(&router, "DELETE", "/api/catalog/entities", None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }
}

//! The whole HTTP application: every route, the access checks, request
//! logging and metrics, and the Backstage error body.
//!
//! Access: `/healthz`, `/readyz` and `/api/openapi.json` are open; the
//! catalog, the provider status API and `/metrics` need the read token when
//! one is set; a refresh needs the admin token ([`crate::auth`]).

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

/// What the application serves from.
#[derive(Clone)]
pub struct AppParts {
    pub catalog: Arc<dyn CatalogReader>,
    pub scheduler: Scheduler,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<AuthConfig>,
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
        .fallback(not_found)
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

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "No route for {} {}; GET /api/openapi.json lists the routes",
        request.method(),
        request.uri().path()
    ))
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

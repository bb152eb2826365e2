//! The web UI at `/`: server-rendered HTML pages, built with maud.
//!
//! Pages work without JavaScript. One small script (served by orgsync, like
//! the stylesheet) refreshes the parts of a page that show a run in
//! progress. Every page carries a strict Content-Security-Policy
//! ([`layout::CONTENT_SECURITY_POLICY`]), so pages use no inline scripts or
//! styles and load nothing from other hosts.
//!
//! Access follows the API's read access: when a read token is configured,
//! the pages need a signed-in viewer (or the token as a bearer header),
//! else they are open and read-only.
//!
//! Modules:
//! - [`layout`]: the page shell, the [`Viewer`] and the error page;
//! - [`assets`]: the stylesheet and the script;
//! - [`format`]: times, durations and counts as pages show them;
//! - [`home`]: the overview of providers and their last runs;
//! - [`lists`]: the users and groups lists, with search and pages;
//! - [`entity`]: the page of one user or group;
//! - [`tree`]: a group's place in the hierarchy;
//! - [`runs`]: run history, with [`chart`]s;
//! - [`sign_in`]: the admin's sign-in and sign-out, and the [`Viewer`] of
//!   each request;
//! - [`settings`]: the Catalog Settings pages.

pub mod assets;
pub mod chart;
pub mod entity;
pub mod format;
pub mod home;
pub mod layout;
pub mod lists;
pub mod runs;
pub mod settings;
pub mod sign_in;
pub mod tree;

use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderMap, StatusCode};
use orgsync_store::StoreError;

use crate::app::AppParts;
use crate::auth::AuthConfig;
use crate::catalog::CatalogReader;
use crate::scheduler::Scheduler;

pub use layout::{Page, Section, Viewer};

/// The sources the pages read from.
#[derive(Clone)]
pub struct UiState {
    pub catalog: Arc<dyn CatalogReader>,
    pub scheduler: Scheduler,
    pub auth: Arc<AuthConfig>,
}

/// Builds the router of every UI page and asset.
pub fn routes(parts: &AppParts) -> Router {
    let state = UiState {
        catalog: Arc::clone(&parts.catalog),
        scheduler: parts.scheduler.clone(),
        auth: Arc::clone(&parts.auth),
    };
    Router::new()
        .route("/", get(home::overview))
        .route("/users", get(lists::users))
        .route("/users/{name}", get(entity::user_page))
        .route("/groups", get(lists::groups))
        .route("/groups/{name}", get(entity::group_page))
        .route("/runs", get(runs::all_runs))
        .route("/runs/{id}", get(runs::provider_runs))
        .route(assets::ROUTE, get(assets::serve_asset))
        .with_state(state)
        .merge(sign_in::routes(sign_in::SignInState {
            sessions: Arc::clone(&parts.sessions),
            admin: Arc::clone(&parts.admin),
        }))
        .merge(settings::routes(settings::SettingsState {
            registry: Arc::clone(&parts.registry),
            scheduler: parts.scheduler.clone(),
            auth: Arc::clone(&parts.auth),
        }))
}

/// A page that could not be shown, rendered as an error page in the
/// viewer's shell.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    viewer: Viewer,
    heading: String,
    message: String,
}

impl PageError {
    /// Builds a 404 page: `heading` names what was not found, `message`
    /// points the reader to where to look instead.
    pub fn not_found(viewer: &Viewer, heading: String, message: String) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            viewer: viewer.clone(),
            heading,
            message,
        }
    }

    /// Builds a 400 page for an invalid query parameter.
    pub fn invalid_input(viewer: &Viewer, message: String) -> PageError {
        PageError {
            status: StatusCode::BAD_REQUEST,
            viewer: viewer.clone(),
            heading: "Invalid request".to_string(),
            message,
        }
    }

    /// Builds a 500 page for a failed store read and logs the error. The
    /// store's message can contain SQL, so it goes to the log only.
    pub fn store(viewer: &Viewer, operation: &str, error: &StoreError) -> PageError {
        tracing::error!(operation, error = %error, "catalog store request for a page failed");
        PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            viewer: viewer.clone(),
            heading: "The catalog database returned an error".to_string(),
            message: format!(
                "{operation} failed because the catalog database returned an error; \
                 the server log has the details. Reload the page to try again."
            ),
        }
    }

    fn sign_in_required(viewer: &Viewer) -> PageError {
        PageError {
            status: StatusCode::UNAUTHORIZED,
            viewer: viewer.clone(),
            heading: "Sign in to see the catalog".to_string(),
            message: "This orgsync server keeps its catalog private because a read token \
                      (backend.auth.readToken) is configured. Sign in to see the pages, \
                      or send the read token as Authorization: Bearer <token>."
                .to_string(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        layout::error_page(self.status, self.viewer, &self.heading, &self.message)
    }
}

/// Checks that `viewer` may read the catalog pages: always when no read
/// token is configured, else when the viewer has signed in or the request
/// carries the read or admin token.
pub fn check_read_access(
    auth: &AuthConfig,
    viewer: &Viewer,
    headers: &HeaderMap,
) -> Result<(), PageError> {
    if viewer.is_signed_in() || auth.allows_read(headers) {
        return Ok(());
    }
    Err(PageError::sign_in_required(viewer))
}

/// Returns whether a request accepts HTML, as a browser's does.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Renders the HTML 404 page for a path that matches no route.
pub fn unknown_page(request: &Request) -> Response {
    let viewer = request
        .extensions()
        .get::<Viewer>()
        .cloned()
        .unwrap_or_default();
    PageError::not_found(
        &viewer,
        "Page not found".to_string(),
        format!(
            "orgsync has no page at {}. Use the navigation above to find users, groups and runs.",
            request.uri().path()
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests;

//! The Management API error responses the handlers send, with Okta's codes
//! and summaries from its published error catalogue.

use axum::http::StatusCode;
use axum::response::Response;

use crate::errors::api_error;

/// The object type named in Okta's `E0000007` summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// A user: `Resource not found: {id} (User)`.
    User,
    /// A group: `Resource not found: {id} (UserGroup)`.
    Group,
}

/// `404 E0000007` for an unknown user or group, worded as Okta's recorded
/// responses are: `Not found: Resource not found: 00u… (User)`.
pub fn not_found(id: &str, kind: ResourceKind) -> Response {
    let kind = match kind {
        ResourceKind::User => "User",
        ResourceKind::Group => "UserGroup",
    };
    let summary = format!("Not found: Resource not found: {id} ({kind})");
    api_error(StatusCode::NOT_FOUND, "E0000007", &summary, &[])
}

/// `403 E0000006`: the app's admin role does not cover the request.
pub fn forbidden() -> Response {
    api_error(
        StatusCode::FORBIDDEN,
        "E0000006",
        "You do not have permission to perform the requested action",
        &[],
    )
}

/// `400 E0000031`: the `search` or `filter` expression is invalid, and
/// `cause` explains the problem.
pub fn invalid_search(cause: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "E0000031",
        "Invalid search criteria.",
        &[cause.to_owned()],
    )
}

/// `400 E0000033`: `search` and `filter` in one request.
pub fn search_and_filter() -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "E0000033",
        "Bad request. Can't specify a search query and filter in the same request.",
        &[],
    )
}

/// `400 E0000001` for a query parameter that cannot be used.
///
/// NOTE: no recorded Okta response shows an invalid `limit` or `after`;
/// this follows the catalogue's generic validation error.
pub fn invalid_parameter(name: &str, cause: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "E0000001",
        &format!("Api validation failed: {name}"),
        &[cause.to_owned()],
    )
}

/// `405 E0000022` for a method the endpoint does not serve.
pub fn method_not_allowed() -> Response {
    api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "E0000022",
        "The endpoint does not support the provided HTTP method",
        &[],
    )
}

/// `404 E0000007` for a path the fake does not serve.
pub fn unknown_path(path: &str) -> Response {
    let summary = format!("Not found: Resource not found: {path} (Endpoint)");
    api_error(StatusCode::NOT_FOUND, "E0000007", &summary, &[])
}

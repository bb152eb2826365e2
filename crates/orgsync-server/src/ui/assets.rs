//! The stylesheet and script of the UI, compiled into the binary so that
//! pages load nothing from other hosts.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

const STYLESHEET: &str = include_str!("assets/orgsync.css");
const SCRIPT: &str = include_str!("assets/orgsync.js");

/// The stylesheet's URL. The version in the path changes with each release,
/// so browsers may cache the file for a day without serving a stale one
/// after an upgrade.
pub const STYLESHEET_PATH: &str = concat!("/ui/assets/", env!("CARGO_PKG_VERSION"), "/orgsync.css");
/// The script's URL, versioned like [`STYLESHEET_PATH`].
pub const SCRIPT_PATH: &str = concat!("/ui/assets/", env!("CARGO_PKG_VERSION"), "/orgsync.js");

/// The route template both assets are served under.
pub const ROUTE: &str = "/ui/assets/{version}/{file}";

/// `GET /ui/assets/{version}/{file}`: the stylesheet or the script. Any
/// version is accepted, because a page rendered just before an upgrade may
/// still ask for the old one.
pub async fn serve_asset(
    axum::extract::Path((_version, file)): axum::extract::Path<(String, String)>,
) -> Response {
    let (body, content_type) = match file.as_str() {
        "orgsync.css" => (STYLESHEET, "text/css; charset=utf-8"),
        "orgsync.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

//! Servers that are not an Okta org, served at the fake's address in place
//! of the org, so that clients can be tested on telling an Okta org from
//! another server at a mistyped or misrouted org URL.
//!
//! Neither serves the org metadata at `/.well-known/okta-organization`,
//! which every Okta org serves, nor the token endpoint or the API.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// A server that is not an Okta org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherServer {
    /// A website that responds to `GET /` with its home page and to every
    /// other path with `404 Not Found` and an HTML error page.
    Website,
    /// A single-page app whose server responds to every `GET` with `200 OK`
    /// and the app's HTML page, whatever the path.
    SinglePageApp,
}

const HOME_PAGE: &str =
    "<!doctype html>\n<html><head><title>Example Corp</title></head><body>Welcome</body></html>\n";

const NOT_FOUND_PAGE: &str =
    "<!doctype html>\n<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n";

/// Returns the router of `server`.
pub fn router(server: OtherServer) -> Router {
    Router::new().fallback(move |method: Method, uri: axum::http::Uri| async move {
        respond(server, &method, uri.path())
    })
}

fn respond(server: OtherServer, method: &Method, path: &str) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return html(StatusCode::METHOD_NOT_ALLOWED, NOT_FOUND_PAGE);
    }
    match server {
        OtherServer::Website if path != "/" => html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE),
        OtherServer::Website | OtherServer::SinglePageApp => html(StatusCode::OK, HOME_PAGE),
    }
}

fn html(status: StatusCode, page: &'static str) -> Response {
    let mut response = (status, page).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_has_no_org_metadata() {
        let response = respond(
            OtherServer::Website,
            &Method::GET,
            "/.well-known/okta-organization",
        );

        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn website_serves_home_page() {
        let response = respond(OtherServer::Website, &Method::GET, "/");

        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn single_page_app_serves_html_everywhere() {
        let response = respond(
            OtherServer::SinglePageApp,
            &Method::GET,
            "/.well-known/okta-organization",
        );

        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
    }

    #[test]
    fn token_post_is_rejected() {
        let response = respond(
            OtherServer::SinglePageApp,
            &Method::POST,
            "/oauth2/v1/token",
        );

        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}

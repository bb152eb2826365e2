//! Okta's error bodies.
//!
//! The Management API answers errors with
//! `{errorCode, errorSummary, errorLink, errorId, errorCauses}`; the OAuth
//! endpoints answer with `{error, error_description}`. Both are JSON.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Management API error response (`E0000…` codes).
pub fn api_error(status: StatusCode, code: &str, summary: &str, causes: &[String]) -> Response {
    let causes: Vec<_> = causes
        .iter()
        .map(|cause| json!({ "errorSummary": cause }))
        .collect();
    let body = json!({
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": format!("oae{}", uuid::Uuid::new_v4().simple()),
        "errorCauses": causes,
    });
    json_response(status, &body)
}

/// An OAuth 2.0 error response (`invalid_client`, `invalid_scope`, …).
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    json_response(status, &body)
}

/// A JSON response with Okta's content type.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

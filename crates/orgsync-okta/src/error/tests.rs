//! Tests that each Okta error maps to its advice. Error texts come from
//! Okta's published catalogues, read at run time from the reference folder
//! beside the workspace.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::*;

fn reference_file(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/okta-reference/errors")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    serde_json::from_str(&text).expect("catalogue is JSON")
}

/// The `error_description` Okta sends for an internal OAuth error code.
fn oauth_description(internal_code: &str) -> String {
    let catalogue = reference_file("oauth2-error-codes.json");
    let entry = catalogue["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .find(|entry| entry["internalErrorCode"] == internal_code)
        .unwrap_or_else(|| panic!("{internal_code} is not in the catalogue"));
    entry["errorDescription"]
        .as_str()
        .expect("description")
        .to_owned()
}

fn oauth_error_code(internal_code: &str) -> String {
    let catalogue = reference_file("oauth2-error-codes.json");
    let entry = catalogue["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .find(|entry| entry["internalErrorCode"] == internal_code)
        .unwrap_or_else(|| panic!("{internal_code} is not in the catalogue"));
    entry["errorCode"].as_str().expect("code").to_owned()
}

/// A Management API error body as Okta sends it, with the catalogue summary.
fn okta_body(code: &str, causes: &[&str]) -> ErrorBody {
    let catalogue = reference_file("error-codes.json");
    let entry = catalogue["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .find(|entry| entry["errorCode"] == code)
        .unwrap_or_else(|| panic!("{code} is not in the catalogue"));
    let body = json!({
        "errorCode": code,
        "errorSummary": entry["errorSummary"],
        "errorLink": code,
        "errorId": "oaeTestId",
        "errorCauses": causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
    });
    ErrorBody::parse(body.to_string().as_bytes())
}

fn token_message(internal_code: &str) -> String {
    let body = json!({
        "error": oauth_error_code(internal_code),
        "error_description": oauth_description(internal_code),
    });
    OktaError::TokenRejected {
        url: "https://example.okta.com/oauth2/v1/token".to_owned(),
        status: 401,
        body: Box::new(ErrorBody::parse(body.to_string().as_bytes())),
        client_id: "0oa1example".to_owned(),
        scopes: vec!["okta.users.read".to_owned(), "okta.groups.read".to_owned()],
    }
    .to_string()
}

fn api_message_for(endpoint: Endpoint, status: u16, body: ErrorBody, auth: AuthMethod) -> String {
    OktaError::Api {
        endpoint,
        url: "https://example.okta.com/api/v1/users?limit=200".to_owned(),
        status,
        body: Box::new(body),
        search: Some("profile.department eq \"R&D\"".to_owned()),
        auth,
    }
    .to_string()
}

#[test]
fn okta_body_parses_causes() {
    let body = okta_body("E0000031", &["Invalid search: unknown operator"]);
    let ErrorBody::Okta(parsed) = body else {
        panic!("expected an Okta body, got {body:?}");
    };
    assert_eq!(
        parsed.error_causes,
        vec!["Invalid search: unknown operator"]
    );
}

#[test]
fn oauth_body_parses_description() {
    let body = ErrorBody::parse(br#"{"error":"invalid_scope","error_description":"x"}"#);
    assert_eq!(
        body,
        ErrorBody::OAuth(OAuthErrorBody {
            error: "invalid_scope".to_owned(),
            description: Some("x".to_owned()),
        })
    );
}

#[test]
fn html_body_is_unknown() {
    assert_eq!(
        ErrorBody::parse(b"<html>502 Bad Gateway</html>"),
        ErrorBody::Unknown
    );
}

#[test]
fn unknown_client_id_names_client_id() {
    for code in [
        "invalid_client_id",
        "client_assertion_invalid_issuer",
        "client_assertion_invalid_subject",
    ] {
        let message = token_message(code);
        assert!(
            message.contains("does not know client id `0oa1example`"),
            "{code}: {message}"
        );
        assert!(message.contains("check `clientId`"), "{code}: {message}");
    }
}

#[test]
fn client_id_does_not_exist_names_client_id() {
    let body = ErrorBody::parse(
        br#"{"error":"invalid_client","error_description":"The client_id provided does not exist."}"#,
    );
    let message = OktaError::TokenRejected {
        url: "https://example.okta.com/oauth2/v1/token".to_owned(),
        status: 401,
        body: Box::new(body),
        client_id: "0oaMissing".to_owned(),
        scopes: Vec::new(),
    }
    .to_string();
    assert!(
        message.contains("Okta does not know client id `0oaMissing`"),
        "{message}"
    );
}

#[test]
fn bad_signature_or_kid_points_at_key() {
    for code in [
        "client_assertion_invalid_signature",
        "client_assertion_invalid_kid",
        "client_assertion_jwks_not_configured",
        "client_assertion_invalid_signature_algorithm",
    ] {
        let message = token_message(code);
        assert!(
            message.contains(
                "check `keyId` and that the public key registered on the app matches `privateKey`"
            ),
            "{code}: {message}"
        );
    }
}

#[test]
fn secret_auth_method_points_at_public_key_setting() {
    let message = token_message("unsupported_auth_method_client_creds");
    assert!(message.contains("'Public key / Private key'"), "{message}");
}

#[test]
fn expired_assertion_points_at_clock() {
    for code in [
        "client_assertion_expired_token",
        "client_assertion_issued_at_in_future",
    ] {
        let message = token_message(code);
        assert!(message.contains("clock"), "{code}: {message}");
    }
}

#[test]
fn non_service_app_asks_for_api_services_app() {
    let message = token_message("invalid_application_type_client_credentials");
    assert!(message.contains("API Services app"), "{message}");
}

#[test]
fn invalid_scope_names_scope_and_tab() {
    let body = ErrorBody::parse(
        br#"{"error":"invalid_scope","error_description":"The following scopes are not allowed for this request: [okta.groups.read]."}"#,
    );
    let message = OktaError::TokenRejected {
        url: "https://example.okta.com/oauth2/v1/token".to_owned(),
        status: 400,
        body: Box::new(body),
        client_id: "0oa1".to_owned(),
        scopes: vec!["okta.users.read".to_owned(), "okta.groups.read".to_owned()],
    }
    .to_string();
    assert!(message.contains("scope okta.groups.read to"), "{message}");
    assert!(message.contains("Okta API Scopes tab"), "{message}");
}

#[test]
fn invalid_scope_without_list_names_requested() {
    let message = token_message("invalid_scope");
    assert!(
        message.contains("okta.users.read okta.groups.read"),
        "{message}"
    );
}

#[test]
fn dpop_errors_say_uncheck_dpop() {
    for code in ["invalid_dpop_proof_missing_header", "use_dpop_nonce"] {
        let message = token_message(code);
        assert!(
            message.contains("uncheck 'Require Demonstrating Proof of Possession (DPoP) header in token requests'"),
            "{code}: {message}"
        );
    }
}

#[test]
fn unauthorized_client_asks_for_grant_type() {
    let message = token_message("unauthorized_client");
    assert!(
        message.contains("Client Credentials grant type"),
        "{message}"
    );
}

#[test]
fn e0000006_asks_for_admin_role() {
    let message = api_message_for(
        Endpoint::Users,
        403,
        okta_body("E0000006", &[]),
        AuthMethod::OAuth,
    );
    assert!(
        message.contains("assign the Read-only Administrator role (or a custom role with a resource set) to the app under Admin roles"),
        "{message}"
    );
}

#[test]
fn e0000006_with_api_token_blames_token_admin() {
    let message = api_message_for(
        Endpoint::Users,
        403,
        okta_body("E0000006", &[]),
        AuthMethod::ApiToken,
    );
    assert!(message.contains("create `token` as an admin"), "{message}");
}

#[test]
fn e0000031_names_expression_cause_and_setting() {
    let cause = "Invalid search criteria: unknown operator";
    let message = api_message_for(
        Endpoint::Users,
        400,
        okta_body("E0000031", &[cause]),
        AuthMethod::OAuth,
    );
    assert!(
        message.contains("`profile.department eq \"R&D\"`"),
        "{message}"
    );
    assert!(message.contains(cause), "{message}");
    assert!(message.contains("fix `userSearchFilter`"), "{message}");
}

#[test]
fn e0000031_on_groups_names_group_filter() {
    let message = api_message_for(
        Endpoint::Groups,
        400,
        okta_body("E0000031", &[]),
        AuthMethod::OAuth,
    );
    assert!(
        message.contains("fix `groupFilter.searchExpression`"),
        "{message}"
    );
}

#[test]
fn unknown_code_shows_code_and_summary() {
    let message = api_message_for(
        Endpoint::Groups,
        405,
        okta_body("E0000022", &[]),
        AuthMethod::OAuth,
    );
    assert!(message.contains("E0000022"), "{message}");
}

#[test]
fn api_token_401_names_token_setting() {
    let message = OktaError::Unauthorized {
        endpoint: Endpoint::Users,
        url: "https://example.okta.com/api/v1/users".to_owned(),
        body: Box::new(okta_body("E0000011", &[])),
        auth: AuthMethod::ApiToken,
    }
    .to_string();
    assert!(message.contains("check `token`"), "{message}");
}

#[test]
fn insufficient_scope_names_scope() {
    let message = OktaError::InsufficientScope {
        endpoint: Endpoint::Groups,
        url: "https://example.okta.com/api/v1/groups".to_owned(),
        scope: Some("okta.groups.read".to_owned()),
        description: Some(
            "The access token provided does not contain the required scopes.".to_owned(),
        ),
    }
    .to_string();
    assert!(
        message.contains("grant `okta.groups.read` on the app's Okta API Scopes tab"),
        "{message}"
    );
}

#[test]
fn transport_error_names_url() {
    let message = OktaError::Transport {
        endpoint: Endpoint::Users,
        url: "https://typo.okta.com/api/v1/users".to_owned(),
        kind: TransportKind::Dns,
        detail: "failed to lookup address information".to_owned(),
        attempts: 1,
        timeout: Duration::from_secs(30),
    }
    .to_string();
    assert!(
        message.contains("https://typo.okta.com/api/v1/users"),
        "{message}"
    );
}

#[test]
fn display_url_drops_user_info() {
    let url = Url::parse("https://admin:hunter2@example.okta.com/api/v1/users").expect("url");
    assert!(!display_url(&url).contains("hunter2"));
}

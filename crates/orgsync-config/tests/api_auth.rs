//! `backend.auth`: the HTTP API's bearer tokens.

mod common;

use common::Setup;

const READ: &str = "read-3f9c2a71d04b8e65";
const ADMIN: &str = "admin-8d1e0c47b9a2f356";
const PROVIDER: &str = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        token: ${OKTA_API_TOKEN}\n";

fn with_auth(auth: &str) -> Setup {
    Setup::new()
        .config(
            "app-config.yaml",
            &format!("backend:\n  auth:\n{auth}{PROVIDER}"),
        )
        .env("OKTA_API_TOKEN", "00apiTokenForTests")
}

#[test]
fn tokens_come_from_env_substitution() {
    let setup =
        with_auth("    readToken: ${ORGSYNC_READ_TOKEN}\n    adminToken: ${ORGSYNC_ADMIN_TOKEN}\n")
            .env("ORGSYNC_READ_TOKEN", READ)
            .env("ORGSYNC_ADMIN_TOKEN", &format!(" {ADMIN}\n"));
    let auth = setup.loaded().config.auth;
    assert_eq!(auth.read_token.as_deref(), Some(READ));
    assert_eq!(auth.admin_token.as_deref(), Some(ADMIN));
}

#[test]
fn tokens_are_unset_by_default() {
    let setup = Setup::new()
        .config("app-config.yaml", PROVIDER)
        .env("OKTA_API_TOKEN", "00apiTokenForTests");
    let auth = setup.loaded().config.auth;
    assert_eq!(auth.read_token, None);
    assert_eq!(auth.admin_token, None);
}

#[test]
fn auth_debug_hides_tokens() {
    let setup = with_auth(&format!("    adminToken: {ADMIN}\n"));
    let shown = format!("{:?}", setup.loaded().config);
    assert!(!shown.contains(ADMIN), "{shown}");
}

#[test]
fn same_read_and_admin_token_is_rejected() {
    let errors = with_auth(&format!(
        "    readToken: {ADMIN}\n    adminToken: {ADMIN}\n"
    ))
    .errors();
    let error = &errors.0[0];
    assert_eq!(error.key_path, "backend.auth.readToken");
    assert!(error.problem.contains("same as adminToken"), "{error}");
    assert!(!errors.to_string().contains(ADMIN));
}

#[test]
fn token_with_spaces_is_rejected_without_showing_it() {
    let errors = with_auth("    adminToken: two words here\n").errors();
    let error = &errors.0[0];
    assert_eq!(error.key_path, "backend.auth.adminToken");
    assert!(error.problem.contains("spaces"), "{error}");
    assert!(!errors.to_string().contains("two words"));
}

#[test]
fn empty_token_is_rejected() {
    let errors = with_auth("    readToken: ''\n").errors();
    assert_eq!(errors.0[0].key_path, "backend.auth.readToken");
    assert!(errors.0[0].problem.contains("empty"));
}

#[test]
fn short_token_gets_warning() {
    let loaded = with_auth("    readToken: short\n").loaded();
    let warning = loaded
        .warnings
        .iter()
        .find(|warning| warning.key_path == "backend.auth.readToken")
        .expect("a warning about the short token");
    assert!(warning.problem.contains("shorter than 16"), "{warning}");
}

#[test]
fn backstage_auth_keys_are_ignored() {
    let setup = with_auth(
        "    keys:\n      - secret: abc\n    dangerouslyDisableDefaultAuthPolicy: true\n",
    );
    let loaded = setup.loaded();
    assert_eq!(loaded.config.auth.read_token, None);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

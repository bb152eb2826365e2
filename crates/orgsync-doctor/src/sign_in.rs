//! The key, the app and its token: doctor requests one access token and
//! reads Okta's response the way Okta's token endpoint checks a request.
//!
//! Okta checks a `private_key_jwt` token request in this order: the client
//! id, the app's client authentication, the key id, the signature, the
//! assertion's audience and times, the grant type, DPoP, then the scopes.
//! The first problem ends the request with an OAuth error whose
//! `error_description` names it (Okta's OAuth error catalogue lists the
//! texts). Every check before the one that failed has passed.

use orgsync_okta::config::DEFAULT_SCOPES;
use orgsync_okta::{Credentials, ErrorBody, OAuthErrorBody, OktaError, TokenInfo};

use crate::report::CheckId;
use crate::run::Run;

/// The checks a token request confirms, in Okta's order.
const TOKEN_CHECKS: [CheckId; 7] = [
    CheckId::AppClient,
    CheckId::AppType,
    CheckId::KeyKnown,
    CheckId::KeySignature,
    CheckId::AppToken,
    CheckId::AppDpop,
    CheckId::AppScopes,
];

const API_SERVICES_FIX: &str = "in the Okta Admin Console, create an app under Applications > \
    Applications > Create App Integration > API Services, then use its Client ID as clientId";

const PUBLIC_KEY_FIX: &str = "open the app in the Okta Admin Console; under General > Client \
    Credentials > Edit, set Client authentication to 'Public key / Private key', add the public \
    key of privateKey under Public Keys > Add key (`orgsync keygen` prints one to paste), and save";

const DPOP_FIX: &str = "in the app's General settings, uncheck 'Require Demonstrating Proof of \
    Possession (DPoP) header in token requests'; orgsync does not send DPoP proofs";

/// A failed token request, attributed to the check it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenFailure {
    pub(crate) check: CheckId,
    pub(crate) detail: String,
    pub(crate) fix: String,
}

/// Records `key.parse` and the part of `key.id` that needs no request.
pub(crate) fn check_key(run: &mut Run<'_>) {
    let Credentials::PrivateKey { key, key_id, .. } = &run.provider.credentials else {
        return;
    };
    let detail = format!(
        "{} key, public key thumbprint {}",
        key.algorithm(),
        key.fingerprint()
    );
    run.checks.pass(CheckId::KeyParse, detail);

    match key_id.as_deref().or(key.key_id()) {
        Some(kid) => run
            .checks
            .pass(CheckId::KeyId, format!("assertions name key id `{kid}`")),
        None => run.checks.warn(
            CheckId::KeyId,
            "keyId is not set and privateKey has no kid, so assertions name no key; Okta then \
             accepts them only while the app has exactly one public key",
            "set keyId to the KID shown for this key under the app's General > Public Keys",
        ),
    }
}

/// Records the token checks. With an API token there is no token request;
/// the first API call checks the token instead.
pub(crate) async fn check_token(run: &mut Run<'_>) -> Result<(), CheckId> {
    let Credentials::PrivateKey {
        client_id,
        key,
        key_id,
    } = &run.provider.credentials
    else {
        return Ok(());
    };
    let client_id = client_id.clone();
    let kid = key_id.clone().or_else(|| key.key_id().map(str::to_owned));
    let fingerprint = key.fingerprint();

    match run.client.fetch_token().await {
        Ok(info) => {
            for check in TOKEN_CHECKS {
                run.checks
                    .pass(check, passed_detail(check, &client_id, kid.as_deref()));
            }
            check_token_scopes(run, &info)
        }
        Err(error) => {
            let failure = classify(&error, &client_id, kid.as_deref(), &fingerprint);
            tracing::debug!(check = %failure.check, error = %error, "token request failed");
            // Only an error Okta's token endpoint returned shows that the
            // steps before the failed one passed.
            if oauth_rejection(&error).is_some() || failure.check == CheckId::AppDpop {
                for check in checks_before(failure.check) {
                    run.checks
                        .pass(*check, passed_detail(*check, &client_id, kid.as_deref()));
                }
            }
            run.checks.fail(failure.check, failure.detail, failure.fix);
            Err(failure.check)
        }
    }
}

/// Returns the token checks Okta runs before the step `failed` concerns.
/// A missing key id fails where Okta looks up the key.
fn checks_before(failed: CheckId) -> &'static [CheckId] {
    let step = match failed {
        CheckId::KeyId => CheckId::KeyKnown,
        other => other,
    };
    match TOKEN_CHECKS.iter().position(|check| *check == step) {
        Some(index) => &TOKEN_CHECKS[..index],
        None => &[],
    }
}

fn passed_detail(check: CheckId, client_id: &str, kid: Option<&str>) -> String {
    let kid = kid.unwrap_or("(none; the app's only key)");
    match check {
        CheckId::AppClient => format!("Okta recognizes client id `{client_id}`"),
        CheckId::AppType => "the app signs in with client credentials and a private key".into(),
        CheckId::KeyKnown => format!("the app has a public key for key id `{kid}`"),
        CheckId::KeySignature => "the assertion's signature verifies with that public key".into(),
        CheckId::AppToken => "Okta accepted the assertion's audience and times".into(),
        CheckId::AppDpop => "Okta issued a Bearer token without a DPoP proof".into(),
        _ => "Okta granted every requested scope".into(),
    }
}

/// Records `app.token-scopes`: the token must carry every scope orgsync reads with.
fn check_token_scopes(run: &mut Run<'_>, info: &TokenInfo) -> Result<(), CheckId> {
    let missing: Vec<&str> = DEFAULT_SCOPES
        .iter()
        .copied()
        .filter(|needed| !info.scopes.iter().any(|scope| scope == needed))
        .collect();
    if missing.is_empty() {
        let detail = format!(
            "token scopes: {}; it expires in {} s",
            info.scopes.join(" "),
            info.expires_in.as_secs()
        );
        run.checks.pass(CheckId::TokenScopes, detail);
        return Ok(());
    }

    let (detail, fix) = missing_scopes_text(&info.scopes, &missing, &run.provider.scopes);
    run.checks.fail(CheckId::TokenScopes, detail, fix);
    Err(CheckId::TokenScopes)
}

/// Returns the detail and fix for a token without the `missing` scopes.
fn missing_scopes_text(
    granted: &[String],
    missing: &[&str],
    requested: &[String],
) -> (String, String) {
    let not_requested: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|scope| !requested.iter().any(|requested| requested == scope))
        .collect();
    let detail = format!(
        "Okta issued a token with the scopes `{}`, without {}",
        granted.join(" "),
        missing.join(" and ")
    );
    let fix = if not_requested.is_empty() {
        format!(
            "grant {} on the app's Okta API Scopes tab",
            missing.join(" and ")
        )
    } else {
        format!(
            "add {} to `scopes` in the config, and grant it on the app's Okta API Scopes tab",
            not_requested.join(" and ")
        )
    };
    (detail, fix)
}

/// Attributes a failed token request to the check it fails.
pub(crate) fn classify(
    error: &OktaError,
    client_id: &str,
    kid: Option<&str>,
    fingerprint: &str,
) -> TokenFailure {
    if let Some((oauth, scopes)) = oauth_rejection(error) {
        return classify_oauth(oauth, scopes, client_id, kid, fingerprint);
    }
    let failure = |check, fix: &str| TokenFailure {
        check,
        detail: error.to_string(),
        fix: fix.to_owned(),
    };
    match error {
        OktaError::MalformedResponse { reason, .. } if reason.contains("DPoP") => {
            failure(CheckId::AppDpop, DPOP_FIX)
        }
        OktaError::Signing { .. } => failure(
            CheckId::KeyParse,
            "create a new key pair with `orgsync keygen`, add its public key to the app and use its private key",
        ),
        _ => failure(
            CheckId::AppToken,
            "fix what the message names, then run doctor again",
        ),
    }
}

/// Returns the OAuth error body and requested scopes of a rejected token request.
fn oauth_rejection(error: &OktaError) -> Option<(&OAuthErrorBody, &[String])> {
    match error {
        OktaError::TokenRejected { body, scopes, .. } => match &**body {
            ErrorBody::OAuth(oauth) => Some((oauth, scopes.as_slice())),
            _ => None,
        },
        _ => None,
    }
}

fn classify_oauth(
    oauth: &OAuthErrorBody,
    scopes: &[String],
    client_id: &str,
    kid: Option<&str>,
    fingerprint: &str,
) -> TokenFailure {
    let description = oauth.description.clone().unwrap_or_default();
    let okta_error = format!("Okta: {} \"{description}\"", oauth.error);
    let failure = |check, detail: String, fix: &str| TokenFailure {
        check,
        detail,
        fix: fix.to_owned(),
    };
    match oauth.error.as_str() {
        "invalid_client" => {
            classify_invalid_client(&description, &okta_error, client_id, kid, fingerprint)
        }
        "invalid_dpop_proof" | "use_dpop_nonce" => failure(
            CheckId::AppDpop,
            format!("the app requires DPoP ({okta_error})"),
            DPOP_FIX,
        ),
        "unauthorized_client" | "unsupported_grant_type" => failure(
            CheckId::AppType,
            format!("the app may not use the Client Credentials grant ({okta_error})"),
            API_SERVICES_FIX,
        ),
        "invalid_scope" | "consent_required" | "access_denied" => {
            scope_failure(&description, &okta_error, scopes)
        }
        _ => failure(
            CheckId::AppToken,
            format!("Okta rejected the token request ({okta_error})"),
            "check clientId, keyId, privateKey and scopes against the app's settings",
        ),
    }
}

fn classify_invalid_client(
    description: &str,
    okta_error: &str,
    client_id: &str,
    kid: Option<&str>,
    fingerprint: &str,
) -> TokenFailure {
    let text = description.to_ascii_lowercase();
    app_failure(&text, okta_error, client_id)
        .or_else(|| key_failure(&text, okta_error, kid, fingerprint))
        .or_else(|| claims_failure(&text, okta_error))
        .unwrap_or_else(|| TokenFailure {
            check: CheckId::AppClient,
            detail: format!(
                "Okta does not accept client id `{client_id}` with this key ({okta_error}); the \
                 client id is unknown in this org, or the app does not use public key / private \
                 key authentication (Okta returns the same error for both)"
            ),
            fix: "set clientId to the Client ID (0oa…) on the app's General tab, check that \
                  oktaUrl is the org of that app, and that its Client authentication is \
                  'Public key / Private key'"
                .to_owned(),
        })
}

/// Reads an `invalid_client` description (lower case) that names the app's type
/// or client authentication.
fn app_failure(text: &str, okta_error: &str, client_id: &str) -> Option<TokenFailure> {
    if text.contains("does not have a jwkset configured")
        || text.contains("private_key_jwt token_endpoint_auth_method")
    {
        Some(TokenFailure {
            check: CheckId::AppType,
            detail: format!(
                "the app does not use public key / private key client authentication ({okta_error})"
            ),
            fix: PUBLIC_KEY_FIX.to_owned(),
        })
    } else if text.contains("application_type") {
        Some(TokenFailure {
            check: CheckId::AppType,
            detail: format!("client id `{client_id}` is not an API Services app ({okta_error})"),
            fix: API_SERVICES_FIX.to_owned(),
        })
    } else {
        None
    }
}

/// Reads an `invalid_client` description (lower case) that names the key id,
/// the registered key or the signature.
fn key_failure(
    text: &str,
    okta_error: &str,
    kid: Option<&str>,
    fingerprint: &str,
) -> Option<TokenFailure> {
    let registered = kid.unwrap_or("(none)");
    if text.contains("jwt kid is invalid") {
        Some(kid_failure(okta_error, kid))
    } else if text.contains("jwkset is invalid")
        || text.contains("'use' parameter")
        || text.contains("signing key")
    {
        Some(TokenFailure {
            check: CheckId::KeyKnown,
            detail: format!("the public key registered on the app is unusable ({okta_error})"),
            fix: "under the app's General > Public Keys, delete the key and add it again as a \
                  signing key (use: sig)"
                .to_owned(),
        })
    } else if text.contains("signature algorithm is invalid") {
        Some(TokenFailure {
            check: CheckId::KeySignature,
            detail: format!(
                "Okta does not accept this key's signing algorithm for the registered key \
                 `{registered}`: the public key registered under that id is of another type \
                 than privateKey ({okta_error})"
            ),
            fix: "register privateKey's own public key (same type: RSA or EC P-256/P-384) and \
                  set keyId to its KID"
                .to_owned(),
        })
    } else if text.contains("signature is invalid") {
        Some(TokenFailure {
            check: CheckId::KeySignature,
            detail: format!(
                "privateKey is not the private half of the public key `{registered}` registered \
                 on the app; privateKey's public key has the thumbprint {fingerprint} ({okta_error})"
            ),
            fix: "use the private key of the registered pair, or add privateKey's public key \
                  under General > Public Keys and set keyId to its KID"
                .to_owned(),
        })
    } else {
        None
    }
}

/// Reads an `invalid_client` description (lower case) that names the
/// assertion's audience or times.
fn claims_failure(text: &str, okta_error: &str) -> Option<TokenFailure> {
    if text.contains("audience") {
        Some(TokenFailure {
            check: CheckId::AppToken,
            detail: format!("Okta rejected the assertion's audience ({okta_error})"),
            fix: "set oktaUrl to the URL the org serves its token endpoint on: the org URL, or \
                  its custom domain"
                .to_owned(),
        })
    } else if ["expired", "issued before", "too far into the future"]
        .iter()
        .any(|needle| text.contains(needle))
    {
        Some(TokenFailure {
            check: CheckId::AppToken,
            detail: format!("Okta rejected the assertion's times ({okta_error})"),
            fix: "synchronize this machine's clock with NTP; see url.clock".to_owned(),
        })
    } else {
        None
    }
}

fn kid_failure(okta_error: &str, kid: Option<&str>) -> TokenFailure {
    match kid {
        Some(kid) => TokenFailure {
            check: CheckId::KeyKnown,
            detail: format!("the app has no public key with key id `{kid}` ({okta_error})"),
            fix: "compare keyId with the KID column under the app's General > Public Keys, and \
                  add privateKey's public key there if it is missing"
                .to_owned(),
        },
        None => TokenFailure {
            check: CheckId::KeyId,
            detail: format!(
                "assertions name no key id, and the app has several public keys, so Okta \
                 cannot tell which one verifies them ({okta_error})"
            ),
            fix: "set keyId to the KID shown for this key under the app's General > Public Keys"
                .to_owned(),
        },
    }
}

fn scope_failure(description: &str, okta_error: &str, requested: &[String]) -> TokenFailure {
    let named = named_scopes(description).unwrap_or_else(|| requested.join(" "));
    TokenFailure {
        check: CheckId::AppScopes,
        detail: format!("Okta did not grant the scope {named} to the app ({okta_error})"),
        fix: format!(
            "on the app's Okta API Scopes tab, click Grant for {named}; or remove it from \
             `scopes` if orgsync does not need it (it needs okta.users.read and okta.groups.read)"
        ),
    }
}

/// Extracts the scopes from a description like `… for this request: [a, b].`
fn named_scopes(description: &str) -> Option<String> {
    let start = description.find('[')?;
    let end = description[start..].find(']')? + start;
    let named = description[start + 1..end].trim();
    (!named.is_empty()).then(|| named.replace(',', ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Okta's OAuth error for `error` with `description`, as the client reports it.
    fn rejected(error: &str, description: &str) -> OktaError {
        OktaError::TokenRejected {
            url: "https://acme.okta.com/oauth2/v1/token".into(),
            status: 401,
            body: Box::new(ErrorBody::OAuth(OAuthErrorBody {
                error: error.into(),
                description: Some(description.into()),
            })),
            client_id: "0oa1".into(),
            scopes: vec!["okta.users.read".into(), "okta.groups.read".into()],
        }
    }

    fn check_for(error: &str, description: &str, kid: Option<&str>) -> TokenFailure {
        classify(&rejected(error, description), "0oa1", kid, "thumb")
    }

    #[test]
    fn service_type_error_means_wrong_app_type() {
        let failure = check_for(
            "invalid_client",
            "Only clients with 'application_type' of 'service' may use the client_credentials 'grant_type' with the Org Authorization Server.",
            Some("k1"),
        );
        assert_eq!(failure.check, CheckId::AppType);
        assert!(failure.fix.contains("API Services"), "{}", failure.fix);
    }

    #[test]
    fn secret_auth_error_means_wrong_auth() {
        let failure = check_for(
            "invalid_client",
            "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.",
            Some("k1"),
        );
        assert_eq!(failure.check, CheckId::AppType);
        assert!(
            failure.fix.contains("Public key / Private key"),
            "{}",
            failure.fix
        );
    }

    #[test]
    fn grant_type_error_means_wrong_app_type() {
        let failure = check_for(
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. Configured grant types: [authorization_code].",
            Some("k1"),
        );
        assert_eq!(failure.check, CheckId::AppType);
    }

    #[test]
    fn unknown_kid_names_kid() {
        let failure = check_for(
            "invalid_client",
            "The client_assertion JWT kid is invalid.",
            Some("k9"),
        );
        assert_eq!(failure.check, CheckId::KeyKnown);
        assert!(failure.detail.contains("`k9`"), "{}", failure.detail);
    }

    #[test]
    fn missing_kid_fails_key_id() {
        let failure = check_for(
            "invalid_client",
            "The client_assertion JWT kid is invalid.",
            None,
        );
        assert_eq!(failure.check, CheckId::KeyId);
    }

    #[test]
    fn algorithm_error_fails_signature() {
        let failure = check_for(
            "invalid_client",
            "The client_assertion JWT signature algorithm is invalid.",
            Some("k1"),
        );
        assert_eq!(failure.check, CheckId::KeySignature);
        assert!(failure.detail.contains("algorithm"), "{}", failure.detail);
    }

    #[test]
    fn expired_assertion_points_at_clock() {
        let failure = check_for(
            "invalid_client",
            "The client_assertion token is expired.",
            Some("k1"),
        );
        assert_eq!(failure.check, CheckId::AppToken);
        assert!(failure.fix.contains("clock"), "{}", failure.fix);
    }

    #[test]
    fn scopes_named_in_brackets() {
        let failure = check_for(
            "invalid_scope",
            "The following scopes are not allowed for this request: [okta.groups.read, okta.apps.read].",
            Some("k1"),
        );
        assert_eq!(failure.check, CheckId::AppScopes);
        assert!(
            failure.detail.contains("okta.groups.read okta.apps.read"),
            "{}",
            failure.detail
        );
    }

    #[test]
    fn missing_kid_passes_checks_before_key_lookup() {
        assert_eq!(
            checks_before(CheckId::KeyId),
            [CheckId::AppClient, CheckId::AppType]
        );
    }

    #[test]
    fn local_failure_passes_no_token_check() {
        assert!(checks_before(CheckId::KeyParse).is_empty());
    }

    #[test]
    fn server_error_fails_token_check() {
        let error = OktaError::ServerError {
            endpoint: orgsync_okta::Endpoint::Token,
            url: "https://acme.okta.com/oauth2/v1/token".into(),
            status: 503,
            body: Box::new(ErrorBody::Unknown),
            attempts: 2,
        };
        let failure = classify(&error, "0oa1", Some("k1"), "thumb");
        assert_eq!(failure.check, CheckId::AppToken);
    }
}

//! A provider's sign-in settings: `clientId`, `privateKey` and `keyId` for
//! an OAuth 2.0 service app, or `token` for an SSWS API token.

use orgsync_okta::{ApiToken, Credentials, KeyError, PrivateKey};
use serde_json::Value;

use crate::context::{show, show_secret, Context, KeyPath, Secret};
use crate::read::Field;

/// The sign-in fields of one provider, as found (current or Roadie keys).
pub(crate) struct CredentialFields<'a> {
    pub(crate) client_id: Option<Field<'a>>,
    pub(crate) private_key: Option<Field<'a>>,
    pub(crate) key_id: Option<Field<'a>>,
    pub(crate) token: Option<Field<'a>>,
    /// Sign-in fields whose substitution failed; they already have errors.
    pub(crate) failed: bool,
}

/// Builds the credentials, reporting missing, conflicting or invalid values.
pub(crate) fn read_credentials(
    context: &mut Context,
    provider: &KeyPath,
    fields: CredentialFields<'_>,
) -> Option<Credentials> {
    let oauth_set = fields.client_id.is_some() || fields.private_key.is_some();
    match (&fields.token, oauth_set) {
        (Some(_), true) => {
            context.error(
                provider,
                None,
                "sets both token and clientId/privateKey",
                "sign in one way: remove token to use the OAuth service app (recommended), or remove clientId, privateKey and keyId",
            );
            None
        }
        (Some(token), false) => {
            warn_key_id_unused(context, fields.key_id.as_ref());
            read_token(context, token)
        }
        (None, true) => read_oauth(context, provider, &fields),
        (None, false) => {
            if !fields.failed {
                context.error(
                    provider,
                    None,
                    "has no credentials",
                    "set clientId and privateKey (an Okta API service app that signs in with a private key), or token (an SSWS API token)",
                );
            }
            None
        }
    }
}

fn read_oauth(
    context: &mut Context,
    provider: &KeyPath,
    fields: &CredentialFields<'_>,
) -> Option<Credentials> {
    let client_id = match &fields.client_id {
        Some(field) => read_client_id(context, field),
        None => {
            if !fields.failed {
                context.error(
                    provider,
                    None,
                    "sets privateKey but no clientId",
                    "add clientId: the client ID (0oa…) on the service app's General tab",
                );
            }
            None
        }
    };
    let key = match &fields.private_key {
        Some(field) => read_private_key(context, field),
        None => {
            if !fields.failed {
                context.error(
                    provider,
                    None,
                    "sets clientId but no privateKey",
                    "add privateKey: the private key whose public key is registered on the app, such as ${OKTA_PRIVATE_KEY} or { $file: okta-key.pem }",
                );
            }
            None
        }
    };
    let key_id = match (&fields.key_id, &key) {
        (Some(field), Some(key)) => read_key_id(context, field, key),
        (None, Some(key)) => Some(key.key_id().map(str::to_string)),
        (Some(field), None) => {
            field.string(context);
            None
        }
        (None, None) => None,
    };
    Some(Credentials::PrivateKey {
        client_id: client_id?,
        key: key?,
        key_id: key_id?,
    })
}

fn read_client_id(context: &mut Context, field: &Field<'_>) -> Option<String> {
    let client_id = field.string(context)?;
    let trimmed = client_id.trim();
    let problem = if trimmed.is_empty() {
        Some((
            "is empty",
            "set the client ID (0oa…) from the service app's General tab",
        ))
    } else if trimmed.contains(char::is_whitespace) {
        Some((
            "contains spaces",
            "copy the client ID (0oa…) again from the service app's General tab",
        ))
    } else if trimmed.contains("://") {
        Some((
            "is a URL, not a client ID",
            "set the client ID (0oa…) from the service app's General tab; the URL goes in oktaUrl",
        ))
    } else {
        None
    };
    if let Some((problem, fix)) = problem {
        context.error(&field.path, Some(show(field.value)), problem, fix);
        return None;
    }
    Some(trimmed.to_string())
}

fn read_key_id(
    context: &mut Context,
    field: &Field<'_>,
    key: &PrivateKey,
) -> Option<Option<String>> {
    let key_id = field.string(context)?.trim().to_string();
    match key.key_id() {
        Some(own) if own != key_id => {
            context.error(
                &field.path,
                Some(show(&Value::String(key_id.clone()))),
                format!("differs from the kid \"{own}\" inside the private key JWK"),
                "remove keyId to use the JWK's kid, or make them match the key ID shown on the app's Public Keys list",
            );
            None
        }
        _ => Some(Some(key_id)),
    }
}

fn read_private_key(context: &mut Context, field: &Field<'_>) -> Option<PrivateKey> {
    // A JWK written as a YAML map instead of a JSON string is still a JWK.
    let text = match field.value {
        Value::Object(map) if map.contains_key("kty") => field.value.to_string(),
        _ => field.secret(context, Secret::PrivateKey)?,
    };
    let placeholder = show_secret(Secret::PrivateKey, &Value::String(text.clone()));

    if let Some(path) = looks_like_file_path(&text) {
        context.error(
            &field.path,
            Some(format!("\"{path}\"")),
            "is a file path, not a key",
            format!("write privateKey: {{ $file: {path} }} to read the key from the file"),
        );
        return None;
    }
    match PrivateKey::parse(&text) {
        Ok(key) => Some(key),
        Err(error) => {
            let (problem, fix) = key_error_text(&error);
            context.error(&field.path, Some(placeholder), problem, fix);
            None
        }
    }
}

/// Returns the text when it is a single-line path to a key file rather than a key.
fn looks_like_file_path(text: &str) -> Option<&str> {
    let text = text.trim();
    if text.contains('\n') || text.contains("-----") || text.starts_with('{') {
        return None;
    }
    let has_key_extension = [".pem", ".key", ".json", ".p8", ".jwk"]
        .iter()
        .any(|extension| text.to_ascii_lowercase().ends_with(extension));
    let starts_like_path =
        text.starts_with('/') || text.starts_with("./") || text.starts_with("~/");
    (has_key_extension || starts_like_path).then_some(text)
}

fn key_error_text(error: &KeyError) -> (String, String) {
    match error {
        KeyError::NotAKey { found } => (
            format!("is not a private key (found {found})"),
            "paste a PEM private key (BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY) or a private JWK, or read it from a file with { $file: okta-key.pem }".to_string(),
        ),
        KeyError::PublicKeyGiven { format } => (
            format!("is a public key, not a private key: {format}"),
            "use the private key of the pair, the one you kept when you added the public key to the Okta app".to_string(),
        ),
        KeyError::Encrypted { format } => (
            format!("is encrypted: {format}"),
            "decrypt it with `openssl pkey -in key.pem -out key-decrypted.pem` (it asks for the passphrase) and use the decrypted key".to_string(),
        ),
        KeyError::UnsupportedCurve { curve } => (
            format!("uses {curve}, which orgsync cannot sign with"),
            "create an RSA (2048 bits or more) or P-256 key pair, add its public key to the Okta app and use its private key".to_string(),
        ),
        KeyError::Malformed { format, reason } => (
            format!("is an invalid {format} private key: {reason}"),
            "copy the whole key again, including the BEGIN and END lines".to_string(),
        ),
    }
}

fn read_token(context: &mut Context, field: &Field<'_>) -> Option<Credentials> {
    let token = field.secret(context, Secret::ApiToken)?;
    let trimmed = token.trim();
    let placeholder = Some(show_secret(Secret::ApiToken, field.value));
    let prefix = ["SSWS ", "Bearer "].into_iter().find(|prefix| {
        trimmed
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    });

    if trimmed.is_empty() {
        context.error(
            &field.path,
            placeholder,
            "is empty",
            "set the API token, such as ${OKTA_API_TOKEN}",
        );
        return None;
    }
    if let Some(prefix) = prefix {
        context.error(
            &field.path,
            placeholder,
            format!("starts with `{}`", prefix.trim()),
            "remove the prefix; orgsync adds `SSWS` itself",
        );
        return None;
    }
    if trimmed.contains(char::is_whitespace) {
        context.error(
            &field.path,
            placeholder,
            "contains spaces",
            "copy the token again as one word",
        );
        return None;
    }
    Some(Credentials::ApiToken(ApiToken::new(trimmed)))
}

fn warn_key_id_unused(context: &mut Context, key_id: Option<&Field<'_>>) {
    if let Some(field) = key_id {
        context.warn(
            &field.path,
            Some(show(field.value)),
            "has no effect with an API token",
            "remove keyId, or sign in with clientId and privateKey instead of token",
        );
    }
}

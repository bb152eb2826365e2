//! `backend.auth`: the bearer tokens that guard orgsync's HTTP API.
//!
//! The *read token* guards the catalog, provider status and metrics; the
//! *admin token* guards write requests and also allows reads. Other keys of
//! a Backstage `backend.auth` section (`keys`, `externalAccess`, …) are
//! ignored, so a Backstage app-config can be reused.

use std::fmt;

use serde_json::{Map, Value};

use crate::context::{show_secret, Context, KeyPath, Secret};
use crate::read::{Fields, Strictness};

pub(crate) const AUTH_KEYS: &[&str] = &["readToken", "adminToken"];

/// Tokens shorter than this get a warning, because they can be guessed.
const MIN_TOKEN_CHARS: usize = 16;

/// The API tokens set in the config. `Debug` shows only which are set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiAuth {
    /// `backend.auth.readToken`, trimmed.
    pub read_token: Option<String>,
    /// `backend.auth.adminToken`, trimmed.
    pub admin_token: Option<String>,
}

impl fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |token: &Option<String>| token.as_ref().map(|_| "***");
        f.debug_struct("ApiAuth")
            .field("read_token", &shown(&self.read_token))
            .field("admin_token", &shown(&self.admin_token))
            .finish()
    }
}

/// Reads `backend.auth`.
pub(crate) fn read_auth(
    context: &mut Context,
    path: &KeyPath,
    map: &Map<String, Value>,
) -> ApiAuth {
    let fields = Fields::new(path, map);
    fields.check_keys(context, AUTH_KEYS, &[], Strictness::Shared);

    let auth = ApiAuth {
        read_token: read_token(context, &fields, "readToken"),
        admin_token: read_token(context, &fields, "adminToken"),
    };
    if auth.read_token.is_some() && auth.read_token == auth.admin_token {
        context.error(
            &path.key("readToken"),
            None,
            "is the same as adminToken, so every reader could also write",
            "use two different tokens, such as two outputs of `openssl rand -hex 32`",
        );
    }
    auth
}

fn read_token(context: &mut Context, fields: &Fields<'_>, key: &str) -> Option<String> {
    let field = fields.field(key)?;
    let token = field.secret(context, Secret::AccessToken)?;
    let token = token.trim();
    let placeholder = Some(show_secret(Secret::AccessToken, field.value));

    if token.is_empty() {
        context.error(
            &field.path,
            placeholder,
            "is empty",
            "set a token, such as ${ORGSYNC_ADMIN_TOKEN}, or remove the key",
        );
        return None;
    }
    if token.contains(char::is_whitespace) {
        context.error(
            &field.path,
            placeholder,
            "contains spaces",
            "use a token without spaces, such as the output of `openssl rand -hex 32`",
        );
        return None;
    }
    if token.chars().count() < MIN_TOKEN_CHARS {
        context.warn(
            &field.path,
            placeholder,
            format!("is shorter than {MIN_TOKEN_CHARS} characters, so it is easy to guess"),
            "use a longer random token, such as the output of `openssl rand -hex 32`",
        );
    }
    Some(token.to_string())
}

//! Sign-in credentials for Okta: OAuth 2.0 client credentials with a signed
//! client assertion (`private_key_jwt`), or an SSWS API token.

use std::fmt;

use crate::key::PrivateKey;

/// The credentials of the Okta app (or API token) that orgsync acts as.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// OAuth 2.0 client credentials with a `private_key_jwt` assertion: the
    /// recommended way, with scopes limited to what orgsync reads.
    PrivateKey {
        /// The app's client id (`0oa…`).
        client_id: String,
        /// The private key whose public half is registered on the app.
        key: PrivateKey,
        /// The `kid` of the registered public key. When `None`, the key's
        /// own JWK `kid` is used, if any.
        key_id: Option<String>,
    },
    /// An SSWS API token, which acts with the permissions of the admin who
    /// created it.
    ApiToken(ApiToken),
}

impl Credentials {
    /// Returns the `kid` to put in assertion headers: the configured key id, else
    /// the key's own.
    pub(crate) fn assertion_key_id<'a>(
        key_id: &'a Option<String>,
        key: &'a PrivateKey,
    ) -> Option<&'a str> {
        key_id.as_deref().or_else(|| key.key_id())
    }
}

/// An Okta SSWS API token. `Debug` and `Display` never print it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps a token as shown once by Okta's admin console.
    pub fn new(token: impl Into<String>) -> ApiToken {
        ApiToken(token.into().trim().to_owned())
    }

    /// Returns the `Authorization` header value.
    pub(crate) fn authorization(&self) -> String {
        format!("SSWS {}", self.0)
    }

    /// Returns whether the token is empty, which Okta would reject.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ApiToken(<redacted, {} characters>)",
            self.0.chars().count()
        )
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted API token>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_token_debug_is_redacted() {
        let token = ApiToken::new("00abcdefSECRET");
        assert!(!format!("{token:?}").contains("SECRET"));
    }

    #[test]
    fn api_token_display_is_redacted() {
        let token = ApiToken::new("00abcdefSECRET");
        assert!(!token.to_string().contains("SECRET"));
    }

    #[test]
    fn api_token_header_uses_ssws() {
        let token = ApiToken::new(" 00abc \n");
        assert_eq!(token.authorization(), "SSWS 00abc");
    }
}

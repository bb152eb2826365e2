//! Client assertions for `private_key_jwt` (RFC 7523): a JWT signed with
//! the app's private key that proves the client's identity to Okta's token
//! endpoint.
//!
//! Okta consumes each assertion's `jti` on use, failed requests included,
//! so every token request, retries included, gets a fresh assertion.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Header};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::OktaError;
use crate::key::PrivateKey;

/// How long an assertion is valid; Okta accepts at most one hour.
pub(crate) const ASSERTION_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// The claims of a client assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AssertionClaims {
    /// The client id.
    pub(crate) iss: String,
    /// The client id again, as RFC 7523 requires.
    pub(crate) sub: String,
    /// The full token endpoint URL.
    pub(crate) aud: String,
    /// Issued at, epoch seconds.
    pub(crate) iat: u64,
    /// Expiry, epoch seconds.
    pub(crate) exp: u64,
    /// A random id, unique per assertion.
    pub(crate) jti: String,
}

impl AssertionClaims {
    /// Claims for `client_id` at `token_url`, issued `now`, with a new `jti`.
    pub(crate) fn new(client_id: &str, token_url: &Url, now: SystemTime) -> AssertionClaims {
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or_default();
        AssertionClaims {
            iss: client_id.to_owned(),
            sub: client_id.to_owned(),
            aud: token_url.as_str().to_owned(),
            iat,
            exp: iat + ASSERTION_LIFETIME.as_secs(),
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// Signs `claims` with `key`, naming `key_id` in the header when known.
pub(crate) fn sign(
    key: &PrivateKey,
    key_id: Option<&str>,
    claims: &AssertionClaims,
) -> Result<String, OktaError> {
    let mut header = Header::new(key.algorithm().jwt_algorithm());
    header.kid = key_id.map(str::to_owned);
    encode(&header, claims, key.encoding_key()).map_err(|err| OktaError::Signing {
        algorithm: key.algorithm().to_string(),
        fingerprint: key.fingerprint(),
        reason: err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};

    use super::*;

    fn ec_key() -> PrivateKey {
        use p256::elliptic_curve::Generate as _;
        use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
        let pem = p256::SecretKey::generate()
            .to_pkcs8_pem(LineEnding::LF)
            .expect("encode test key");
        PrivateKey::parse(&pem).expect("parse test key")
    }

    fn token_url() -> Url {
        Url::parse("https://example.okta.com/oauth2/v1/token").expect("URL")
    }

    fn verify(key: &PrivateKey, token: &str) -> AssertionClaims {
        let jwk: Jwk = serde_json::from_value(key.public_jwk()).expect("JWK");
        let decoding = DecodingKey::from_jwk(&jwk).expect("decoding key");
        let mut validation = Validation::new(key.algorithm().jwt_algorithm());
        validation.set_audience(&[token_url().as_str()]);
        decode::<AssertionClaims>(token, &decoding, &validation)
            .expect("signature verifies")
            .claims
    }

    #[test]
    fn claims_name_client_and_endpoint() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let claims = AssertionClaims::new("0oa1client", &token_url(), now);
        assert_eq!(claims.iss, "0oa1client");
        assert_eq!(claims.sub, "0oa1client");
        assert_eq!(claims.aud, "https://example.okta.com/oauth2/v1/token");
        assert_eq!(claims.iat, 1_700_000_000);
        assert_eq!(claims.exp, 1_700_000_300);
    }

    #[test]
    fn each_assertion_gets_new_jti() {
        let now = SystemTime::now();
        let first = AssertionClaims::new("0oa1", &token_url(), now);
        let second = AssertionClaims::new("0oa1", &token_url(), now);
        assert_ne!(first.jti, second.jti);
    }

    #[test]
    fn signed_assertion_verifies_with_public_key() {
        let key = ec_key();
        let claims = AssertionClaims::new("0oa1", &token_url(), SystemTime::now());
        let token = sign(&key, Some("kid-1"), &claims).expect("sign");
        assert_eq!(verify(&key, &token), claims);
    }

    #[test]
    fn header_carries_kid_and_alg() {
        let key = ec_key();
        let claims = AssertionClaims::new("0oa1", &token_url(), SystemTime::now());
        let token = sign(&key, Some("configured-kid"), &claims).expect("sign");
        let header = decode_header(&token).expect("header");
        assert_eq!(header.kid.as_deref(), Some("configured-kid"));
        assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    }

    #[test]
    fn header_omits_unknown_kid() {
        let key = ec_key();
        let claims = AssertionClaims::new("0oa1", &token_url(), SystemTime::now());
        let token = sign(&key, None, &claims).expect("sign");
        assert_eq!(decode_header(&token).expect("header").kid, None);
    }
}

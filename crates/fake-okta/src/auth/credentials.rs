//! Service-app credentials for tests, demos and `--print-credentials`: a
//! client id, a key pair in PKCS#8 PEM with its public JWK, and signing of
//! client assertions and other JWTs with that key.
//!
//! Generation is deterministic for a given seed, so a fixed seed gives the
//! same client id and key on every run.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::fmt;
use std::time::{Duration, SystemTime};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::{json, Value};

use super::clock::unix_seconds;
use super::jose;
use super::{
    AdminScope, ApplicationType, ClientRegistration, TokenEndpointAuthMethod, CLIENT_CREDENTIALS,
};

/// The RSA modulus size Okta recommends for client keys.
const RSA_BITS: usize = 2048;

/// Lifetime of assertions made by [`GeneratedCredentials::client_assertion`].
const ASSERTION_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Builds `(PKCS#8 PEM, public JWK)` for a new EC key on one curve crate.
macro_rules! generate_ec {
    ($curve:ident, $name:literal, $rng:expr) => {{
        let key = <$curve::ecdsa::SigningKey as rsa::Generate>::generate_from_rng($rng);
        let point = key.verifying_key().to_sec1_point(false);
        let jwk = match (point.x(), point.y()) {
            (Some(x), Some(y)) => jose::ec_public_jwk($name, x, y),
            // An uncompressed point always has both coordinates.
            _ => Value::Null,
        };
        (pkcs8_pem(&key), jwk)
    }};
}

/// Signs a JWS with a PKCS#8 EC key of one curve crate.
macro_rules! sign_ec {
    ($curve:ident, $pem:expr, $header:expr, $claims:expr, $invalid:expr) => {{
        let key = $curve::ecdsa::SigningKey::from_pkcs8_pem($pem)
            .map_err(|error| $invalid(error.to_string()))?;
        Ok(jose::encode(&$header, $claims, |message| {
            use $curve::ecdsa::signature::Signer;
            let signature: $curve::ecdsa::Signature = key.sign(message);
            signature.to_bytes().to_vec()
        }))
    }};
}

/// The kind of key pair to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// RSA with a 2048-bit modulus, signing with RS256.
    Rsa2048,
    /// ECDSA on P-256, signing with ES256.
    EcP256,
    /// ECDSA on P-384, signing with ES384.
    EcP384,
    /// ECDSA on P-521, signing with ES512.
    EcP521,
}

impl KeyKind {
    /// Returns the JWS algorithm this key signs with.
    pub fn algorithm(self) -> &'static str {
        match self {
            Self::Rsa2048 => "RS256",
            Self::EcP256 => "ES256",
            Self::EcP384 => "ES384",
            Self::EcP521 => "ES512",
        }
    }
}

/// A client id with a freshly generated key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedCredentials {
    /// An Okta-style client id, `0oa` and 17 letters and digits.
    pub client_id: String,
    /// The key id: the JWK SHA-256 thumbprint of the public key (RFC 7638).
    pub key_id: String,
    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub private_key_pem: String,
    /// The public key as a JWK with `kid`, `alg` and `use`.
    pub public_jwk: Value,
}

/// A failure to sign with [`GeneratedCredentials`].
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The public JWK does not name a supported key type or curve.
    #[error("public_jwk of client {client_id} is not an RSA, P-256, P-384 or P-521 key")]
    UnsupportedKey {
        /// The client the credentials belong to.
        client_id: String,
    },
    /// The PEM is not a PKCS#8 private key of the kind the JWK names.
    #[error("private_key_pem of client {client_id} is not a PKCS#8 {kind:?} key: {reason}")]
    InvalidPrivateKey {
        /// The client the credentials belong to.
        client_id: String,
        /// The key kind named by the public JWK.
        kind: KeyKind,
        /// The decoder's message.
        reason: String,
    },
    /// The JWT header is not a JSON object.
    #[error("a JWT header must be a JSON object")]
    HeaderNotObject,
}

/// Generates a client id and key pair. With `rng_seed`, the same seed gives
/// the same credentials; without it they are random.
///
/// RSA keys are the slow case: one took about 0.25 s in a debug test build
/// (dependencies at opt-level 2) on a loaded 2-core VM, so tests that need
/// several should generate each once and share it.
pub fn generate_credentials(kind: KeyKind, rng_seed: Option<u64>) -> GeneratedCredentials {
    let mut rng = seeded_rng(rng_seed);
    let (private_key_pem, jwk) = match kind {
        KeyKind::Rsa2048 => generate_rsa(&mut rng),
        KeyKind::EcP256 => generate_ec!(p256, "P-256", &mut rng),
        KeyKind::EcP384 => generate_ec!(p384, "P-384", &mut rng),
        KeyKind::EcP521 => generate_ec!(p521, "P-521", &mut rng),
    };

    // The thumbprint exists for every JWK built above, which all carry the
    // members RFC 7638 requires.
    let key_id = jose::thumbprint(&jwk).unwrap_or_default();
    let mut public_jwk = jwk;
    if let Value::Object(members) = &mut public_jwk {
        members.insert("kid".to_owned(), json!(key_id));
        members.insert("alg".to_owned(), json!(kind.algorithm()));
        members.insert("use".to_owned(), json!("sig"));
    }

    GeneratedCredentials {
        client_id: client_id(&mut rng),
        key_id,
        private_key_pem,
        public_jwk,
    }
}

fn generate_rsa(rng: &mut SeededRng) -> (String, Value) {
    // Generation only fails for unsupported sizes or exponents, and 2048
    // bits with the default exponent is supported.
    let key = rsa::PrivateKey::new(rng, RSA_BITS)
        .expect("RSA-2048 key generation with the default exponent cannot fail");
    let jwk = jose::rsa_public_jwk(key.as_public_key());
    (pkcs8_pem(&key), jwk)
}

fn pkcs8_pem(key: &impl EncodePrivateKey) -> String {
    // Encoding a key that was just generated in memory cannot fail.
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .expect("PKCS#8 encoding of a generated key cannot fail")
}

fn client_id(rng: &mut SeededRng) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let suffix: String = (0..17)
        .map(|_| char::from(ALPHABET[rng.0.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("0oa{suffix}")
}

impl GeneratedCredentials {
    /// Returns a registration for these credentials with `scopes` granted:
    /// an API Services app with public key authentication, no DPoP, no API
    /// tokens and an org-wide admin role.
    pub fn registration(&self, scopes: &[&str]) -> ClientRegistration {
        ClientRegistration {
            client_id: self.client_id.clone(),
            jwks: vec![self.public_jwk.clone()],
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            dpop_required: false,
            api_tokens: Vec::new(),
            admin_scope: AdminScope::Everything,
            application_type: ApplicationType::Service,
            token_endpoint_auth_method: TokenEndpointAuthMethod::PrivateKeyJwt,
            grant_types: BTreeSet::from([CLIENT_CREDENTIALS.to_owned()]),
        }
    }

    /// Returns the kind of the key, read from the public JWK.
    pub fn key_kind(&self) -> Option<KeyKind> {
        let kty = self.public_jwk.get("kty").and_then(Value::as_str);
        let crv = self.public_jwk.get("crv").and_then(Value::as_str);
        match (kty, crv) {
            (Some("RSA"), _) => Some(KeyKind::Rsa2048),
            (Some("EC"), Some("P-256")) => Some(KeyKind::EcP256),
            (Some("EC"), Some("P-384")) => Some(KeyKind::EcP384),
            (Some("EC"), Some("P-521")) => Some(KeyKind::EcP521),
            _ => None,
        }
    }

    /// Signs a client assertion for the token endpoint at `token_url`, valid
    /// for five minutes from `issued_at`, with a random `jti`.
    pub fn client_assertion(
        &self,
        token_url: &str,
        issued_at: SystemTime,
    ) -> Result<String, CredentialsError> {
        let issued = unix_seconds(issued_at);
        let claims = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME.as_secs(),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        self.sign_jwt(json!({ "kid": self.key_id, "typ": "JWT" }), &claims)
    }

    /// Signs `claims` as a compact JWS with this key. `header` gets the
    /// `alg` of the key; its other members are kept as given.
    pub fn sign_jwt(&self, header: Value, claims: &Value) -> Result<String, CredentialsError> {
        let kind = self
            .key_kind()
            .ok_or_else(|| CredentialsError::UnsupportedKey {
                client_id: self.client_id.clone(),
            })?;
        let Value::Object(mut header) = header else {
            return Err(CredentialsError::HeaderNotObject);
        };
        header.insert("alg".to_owned(), json!(kind.algorithm()));
        let header = Value::Object(header);

        let invalid = |reason: String| CredentialsError::InvalidPrivateKey {
            client_id: self.client_id.clone(),
            kind,
            reason,
        };
        let pem = self.private_key_pem.as_str();
        match kind {
            KeyKind::Rsa2048 => {
                let key = rsa::PrivateKey::from_pkcs8_pem(pem)
                    .map_err(|error| invalid(error.to_string()))?;
                let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
                Ok(jose::encode(&header, claims, |message| {
                    use rsa::signature::{SignatureEncoding, Signer};
                    key.sign(message).to_vec()
                }))
            }
            KeyKind::EcP256 => sign_ec!(p256, pem, header, claims, invalid),
            KeyKind::EcP384 => sign_ec!(p384, pem, header, claims, invalid),
            KeyKind::EcP521 => sign_ec!(p521, pem, header, claims, invalid),
        }
    }
}

impl fmt::Debug for GeneratedCredentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("GeneratedCredentials")
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("private_key_pem", &"<redacted>")
            .field("public_jwk", &self.public_jwk)
            .finish()
    }
}

/// A ChaCha20 random number generator for the RustCrypto key types, seeded
/// from `seed` or from the thread's random generator.
///
/// The workspace's `rand` 0.8 and the RustCrypto crates' `rand_core` 0.10
/// are different major versions, so this adapter implements the newer
/// traits over the older generator.
pub(crate) struct SeededRng(ChaCha20Rng);

pub(crate) fn seeded_rng(seed: Option<u64>) -> SeededRng {
    let generator = match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_seed(rand::random()),
    };
    SeededRng(generator)
}

impl rsa::rand_core::TryRng for SeededRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, destination: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(destination);
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for SeededRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn same_seed_gives_same_credentials() {
        let first = generate_credentials(KeyKind::EcP256, Some(42));
        let second = generate_credentials(KeyKind::EcP256, Some(42));

        assert_eq!(first, second);
    }

    #[test]
    fn other_seed_gives_other_credentials() {
        let first = generate_credentials(KeyKind::EcP256, Some(42));
        let second = generate_credentials(KeyKind::EcP256, Some(43));

        assert_ne!(first.client_id, second.client_id);
        assert_ne!(first.key_id, second.key_id);
    }

    #[test]
    fn unseeded_credentials_differ() {
        let first = generate_credentials(KeyKind::EcP384, None);
        let second = generate_credentials(KeyKind::EcP384, None);

        assert_ne!(first.key_id, second.key_id);
    }

    #[test]
    fn client_id_looks_like_okta() {
        let credentials = generate_credentials(KeyKind::EcP256, Some(1));

        assert_eq!(credentials.client_id.len(), 20);
        assert!(credentials.client_id.starts_with("0oa"));
        assert!(credentials
            .client_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn public_jwk_names_kid_and_alg() {
        for kind in [KeyKind::EcP256, KeyKind::EcP384, KeyKind::EcP521] {
            let credentials = generate_credentials(kind, Some(5));

            assert_eq!(credentials.public_jwk["kid"], credentials.key_id.as_str());
            assert_eq!(credentials.public_jwk["alg"], kind.algorithm());
            assert_eq!(credentials.key_kind(), Some(kind));
        }
    }

    #[test]
    fn rsa_credentials_are_pkcs8_and_registrable() {
        let started = Instant::now();
        let credentials = generate_credentials(KeyKind::Rsa2048, Some(9));
        eprintln!("RSA-2048 generation took {:?}", started.elapsed());

        assert!(credentials
            .private_key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(
            credentials.registration(&["okta.users.read"]).validate(),
            Ok(())
        );
    }

    #[test]
    fn debug_redacts_private_key() {
        let credentials = generate_credentials(KeyKind::EcP256, Some(3));

        let debug = format!("{credentials:?}");

        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    }

    #[test]
    fn assertion_is_signed_with_key_alg() {
        let credentials = generate_credentials(KeyKind::EcP521, Some(4));

        let assertion = credentials
            .client_assertion("http://127.0.0.1:1/oauth2/v1/token", SystemTime::now())
            .unwrap();

        let jws = jose::CompactJws::parse(&assertion).unwrap();
        let key = jose::PublicKey::from_jwk(&credentials.public_jwk).unwrap();
        assert_eq!(jws.header_str("alg"), Some("ES512"));
        assert_eq!(jws.verify(&key, jose::Algorithm::Es512), Ok(()));
    }

    #[test]
    fn non_object_header_rejected() {
        let credentials = generate_credentials(KeyKind::EcP256, Some(6));

        let result = credentials.sign_jwt(json!("JWT"), &json!({}));

        assert!(matches!(result, Err(CredentialsError::HeaderNotObject)));
    }
}

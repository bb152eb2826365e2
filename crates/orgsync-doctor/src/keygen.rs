//! Key pairs for Okta apps: the private key orgsync signs client assertions
//! with (PKCS#8 PEM) and its public JWK to paste into the app's Public Keys
//! ("Add key", then "Paste your own key").
//!
//! RSA keys have 3072 bits, the `rsa` crate's default size; Okta requires at
//! least 2048. The key id defaults to the public key's RFC 7638 thumbprint,
//! which identifies the pair without revealing anything secret.

use std::fmt;

use orgsync_okta::{KeyError, PrivateKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
use serde_json::Value;

/// The algorithm of a generated key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA (3072 bits), signing with RS256.
    Rs256,
    /// ECDSA on P-256, signing with ES256.
    Es256,
}

impl KeyAlgorithm {
    /// Returns the JWS algorithm name, such as `RS256`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rs256 => "RS256",
            KeyAlgorithm::Es256 => "ES256",
        }
    }
}

/// A failure to generate a key pair.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// The requested key id cannot be used.
    #[error("invalid key id {key_id:?}: {problem}; use letters, digits, '-', '_' or '.', such as orgsync-2025")]
    InvalidKeyId {
        /// The key id given.
        key_id: String,
        /// The problem.
        problem: &'static str,
    },
    /// The system's random number generator failed.
    #[error("generating the {algorithm} key failed: {reason}; run keygen again")]
    Generate {
        /// The algorithm requested.
        algorithm: &'static str,
        /// The underlying error.
        reason: String,
    },
    /// The key could not be written as PKCS#8 PEM.
    #[error("encoding the {algorithm} key as PKCS#8 PEM failed: {reason}")]
    Encode {
        /// The algorithm requested.
        algorithm: &'static str,
        /// The underlying error.
        reason: String,
    },
    /// orgsync cannot read the key it generated; a bug, since every
    /// generated key is of a type orgsync signs with.
    #[error("orgsync cannot read the generated key ({0}); please report this bug")]
    Unreadable(#[from] KeyError),
}

/// A generated key pair. `Debug` leaves out the private key.
pub struct GeneratedKey {
    /// The key id for `keyId` in the config and the JWK's `kid`.
    pub key_id: String,
    /// The public JWK with `kid`, `alg` and `use: sig`, to paste into Okta.
    pub public_jwk: Value,
    /// The private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`) for `privateKey`.
    /// It is wiped from memory when dropped.
    pub private_key_pem: Zeroizing<String>,
    /// The signing algorithm.
    pub algorithm: KeyAlgorithm,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("public_jwk", &self.public_jwk)
            .finish_non_exhaustive()
    }
}

/// Generates a key pair. `key_id` defaults to the public key's thumbprint.
pub fn generate_key(
    algorithm: KeyAlgorithm,
    key_id: Option<&str>,
) -> Result<GeneratedKey, KeygenError> {
    if let Some(key_id) = key_id {
        validate_key_id(key_id)?;
    }
    let private_key_pem = match algorithm {
        KeyAlgorithm::Rs256 => rsa_pem()?,
        KeyAlgorithm::Es256 => p256_pem()?,
    };

    // Parsing the PEM back proves orgsync can sign with it and gives the
    // public JWK in the form orgsync registers everywhere else.
    let key = PrivateKey::parse(&private_key_pem)?;
    let key_id = key_id.map_or_else(|| key.fingerprint(), str::to_owned);
    let mut public_jwk = key.public_jwk();
    if let Value::Object(members) = &mut public_jwk {
        members.insert("kid".to_owned(), Value::String(key_id.clone()));
    }
    tracing::info!(algorithm = algorithm.as_str(), key_id = %key_id, "generated a key pair");
    Ok(GeneratedKey {
        key_id,
        public_jwk,
        private_key_pem,
        algorithm,
    })
}

fn rsa_pem() -> Result<Zeroizing<String>, KeygenError> {
    let key = <rsa::PrivateKey as rsa::Generate>::try_generate().map_err(|error| {
        KeygenError::Generate {
            algorithm: "RS256",
            reason: error.to_string(),
        }
    })?;
    rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, rsa::pkcs8::LineEnding::LF).map_err(|error| {
        KeygenError::Encode {
            algorithm: "RS256",
            reason: error.to_string(),
        }
    })
}

fn p256_pem() -> Result<Zeroizing<String>, KeygenError> {
    let key = p256::SecretKey::try_generate().map_err(|error| KeygenError::Generate {
        algorithm: "ES256",
        reason: error.to_string(),
    })?;
    key.to_pkcs8_pem(LineEnding::LF)
        .map_err(|error| KeygenError::Encode {
            algorithm: "ES256",
            reason: error.to_string(),
        })
}

/// Accepts key ids that read the same in a JWT header, a YAML config and
/// Okta's admin console: printable ASCII without spaces or quotes.
fn validate_key_id(key_id: &str) -> Result<(), KeygenError> {
    let problem = if key_id.is_empty() {
        Some("it is empty")
    } else if !key_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("it contains a character other than a letter, digit, '-', '_' or '.'")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(KeygenError::InvalidKeyId {
            key_id: key_id.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es256_key_parses_back() {
        let key = generate_key(KeyAlgorithm::Es256, None).expect("key");
        let parsed = PrivateKey::parse(&key.private_key_pem).expect("parse");
        assert_eq!(parsed.algorithm().as_str(), "ES256");
        assert_eq!(key.key_id, parsed.fingerprint());
    }

    #[test]
    fn jwk_carries_given_kid() {
        let key = generate_key(KeyAlgorithm::Es256, Some("orgsync-1")).expect("key");
        assert_eq!(key.public_jwk["kid"], "orgsync-1");
        assert_eq!(key.public_jwk["alg"], "ES256");
        assert_eq!(key.public_jwk["use"], "sig");
        assert!(
            key.public_jwk.get("d").is_none(),
            "public JWK has no private part"
        );
    }

    #[test]
    fn pem_is_pkcs8() {
        let key = generate_key(KeyAlgorithm::Es256, None).expect("key");
        assert!(key
            .private_key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn debug_leaves_out_private_key() {
        let key = generate_key(KeyAlgorithm::Es256, None).expect("key");
        let debug = format!("{key:?}");
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    }

    #[test]
    fn key_id_with_space_is_rejected() {
        let error = generate_key(KeyAlgorithm::Es256, Some("my key")).expect_err("space");
        assert!(matches!(error, KeygenError::InvalidKeyId { .. }), "{error}");
    }
}

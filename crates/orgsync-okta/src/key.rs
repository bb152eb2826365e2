//! Private keys for signing `private_key_jwt` client assertions.
//!
//! Users paste keys from many tools. [`PrivateKey::parse`] accepts PKCS#8
//! PEM (`BEGIN PRIVATE KEY`), PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), SEC1 PEM
//! (`BEGIN EC PRIVATE KEY`), and a private JWK or a one-key JWK Set (what
//! Okta's admin console offers to download). It also accepts PEM text whose
//! line breaks were lost in copy-paste: all on one line, spaces in place of
//! newlines, or literal `\n` escapes. Every key is normalized at parse time into the DER form that
//! `jsonwebtoken` signs with, plus its public JWK and RFC 7638 thumbprint.
//!
//! Supported algorithms: RS256 for RSA keys of at least 2048 bits (Okta's
//! minimum), ES256 for P-256 and ES384 for P-384. P-521 and Ed25519 keys are
//! rejected because `jsonwebtoken` 12 cannot sign with them.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::EncodingKey;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::der::Decode as _;
use p256::pkcs8::{EncodePrivateKey as _, ObjectIdentifier, PrivateKeyInfoRef};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

/// The formats [`PrivateKey::parse`] accepts, for error messages.
const ACCEPTED_FORMATS: &str =
    "PKCS#8 PEM (BEGIN PRIVATE KEY), PKCS#1 PEM (BEGIN RSA PRIVATE KEY), \
     SEC1 PEM (BEGIN EC PRIVATE KEY) or a private JWK";

/// Okta rejects RSA keys shorter than this for client authentication.
const MIN_RSA_BITS: usize = 2048;

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

/// The JWS algorithm a key signs client assertions with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, for RSA keys.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
}

impl SigningAlgorithm {
    /// Returns the JWS `alg` name, e.g. `RS256`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::Es384 => "ES384",
        }
    }

    pub(crate) fn jwt_algorithm(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
            SigningAlgorithm::Es256 => jsonwebtoken::Algorithm::ES256,
            SigningAlgorithm::Es384 => jsonwebtoken::Algorithm::ES384,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that makes a text unusable as a private key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is not a key in any accepted format.
    #[error("expected a private key in {ACCEPTED_FORMATS}, but found {found}")]
    NotAKey {
        /// A description of the text, which does not quote it.
        found: String,
    },

    /// The text is the public half of a key pair.
    #[error(
        "this is a public key ({format}); Okta needs the private key of the pair, \
         the one you kept when you added the public key to the app"
    )]
    PublicKeyGiven {
        /// The public key format found, e.g. `PEM (BEGIN PUBLIC KEY)`.
        format: String,
    },

    /// The PEM is protected by a passphrase.
    #[error(
        "the private key is encrypted ({format}); decrypt it with \
         `openssl pkey -in key.pem -out key-decrypted.pem` (it asks for the passphrase) \
         and use the decrypted key"
    )]
    Encrypted {
        /// The encrypted format found.
        format: String,
    },

    /// The key's curve cannot sign client assertions.
    #[error(
        "the private key uses {curve}, which orgsync cannot sign with \
         (jsonwebtoken supports RSA, P-256 and P-384); create an RSA (2048 bits or more) \
         or P-256 key pair, add its public key to the Okta app and use its private key"
    )]
    UnsupportedCurve {
        /// The curve name, e.g. `P-521`.
        curve: String,
    },

    /// The format was recognized but its content is invalid.
    #[error("the {format} private key is invalid: {reason}")]
    Malformed {
        /// The format recognized, e.g. `PKCS#1 PEM`.
        format: String,
        /// The problem found.
        reason: String,
    },
}

/// A private key for signing client assertions.
///
/// Cloning is cheap (the key is shared). `Debug` prints only the algorithm,
/// the key id and the public key's fingerprint.
#[derive(Clone)]
pub struct PrivateKey {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    algorithm: SigningAlgorithm,
    key_id: Option<String>,
    encoding_key: EncodingKey,
    /// The public JWK without `kid`, `alg` or `use`.
    public_members: Map<String, Value>,
    fingerprint: String,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.inner.algorithm)
            .field("key_id", &self.inner.key_id)
            .field("fingerprint", &self.inner.fingerprint)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Parses a private key from PEM (PKCS#8, PKCS#1 or SEC1) or JWK text.
    ///
    /// Accepts PKCS#8 PEM, PKCS#1 PEM (RSA), SEC1 PEM (EC), a private JWK
    /// (JSON), and a PEM whose line breaks were lost in copy-paste (all on
    /// one line, or spaces instead of newlines).
    pub fn parse(text: &str) -> Result<PrivateKey, KeyError> {
        let trimmed = trim_quotes(text.trim());
        if trimmed.is_empty() {
            return Err(KeyError::NotAKey {
                found: "empty text".to_owned(),
            });
        }

        let material = if trimmed.contains("-----BEGIN") {
            parse_pem(trimmed)?
        } else if trimmed.starts_with('{') {
            parse_jwk_text(trimmed)?
        } else {
            parse_bare_base64(trimmed)?
        };

        material.into_private_key()
    }

    /// Returns the JWS algorithm this key signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.inner.algorithm
    }

    /// Returns the key id from a JWK's `kid` member. PEM keys have none.
    pub fn key_id(&self) -> Option<&str> {
        self.inner.key_id.as_deref()
    }

    /// Returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
    ///
    /// Okta's admin console shows no thumbprint, but it identifies the key
    /// pair in logs and `doctor` output without revealing anything secret.
    pub fn fingerprint(&self) -> String {
        self.inner.fingerprint.clone()
    }

    /// Returns the public key as a JWK, with `kid` when known, `alg` and `use: sig`,
    /// ready to be added to the Okta app's public keys.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.inner.public_members.clone();
        if let Some(kid) = &self.inner.key_id {
            jwk.insert("kid".to_owned(), Value::String(kid.clone()));
        }
        jwk.insert("alg".to_owned(), json!(self.inner.algorithm.as_str()));
        jwk.insert("use".to_owned(), json!("sig"));
        Value::Object(jwk)
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.inner.encoding_key
    }
}

/// A decoded key before it is turned into signing material.
enum KeyMaterial {
    Rsa {
        key: Box<rsa::PrivateKey>,
        key_id: Option<String>,
    },
    P256 {
        key: p256::SecretKey,
        key_id: Option<String>,
    },
    P384 {
        key: p384::SecretKey,
        key_id: Option<String>,
    },
}

impl KeyMaterial {
    fn into_private_key(self) -> Result<PrivateKey, KeyError> {
        let inner = match self {
            KeyMaterial::Rsa { key, key_id } => rsa_inner(&key, key_id)?,
            KeyMaterial::P256 { key, key_id } => {
                let der = key
                    .to_pkcs8_der()
                    .map_err(|err| encode_error("P-256", err))?;
                let point = key.public_key().to_sec1_point(false);
                let members = ec_members("P-256", point.x(), point.y())?;
                ec_inner(SigningAlgorithm::Es256, der.as_bytes(), members, key_id)
            }
            KeyMaterial::P384 { key, key_id } => {
                let der = key
                    .to_pkcs8_der()
                    .map_err(|err| encode_error("P-384", err))?;
                let point = key.public_key().to_sec1_point(false);
                let members = ec_members("P-384", point.x(), point.y())?;
                ec_inner(SigningAlgorithm::Es384, der.as_bytes(), members, key_id)
            }
        };
        Ok(PrivateKey {
            inner: Arc::new(inner),
        })
    }
}

fn rsa_inner(key: &rsa::PrivateKey, key_id: Option<String>) -> Result<KeyInner, KeyError> {
    let bits = key.size() * 8;
    if bits < MIN_RSA_BITS {
        return Err(KeyError::Malformed {
            format: "RSA".to_owned(),
            reason: format!(
                "the key has {bits} bits but Okta requires at least {MIN_RSA_BITS}; \
                 create a 2048-bit or larger key pair"
            ),
        });
    }

    let der = key.to_pkcs1_der().map_err(|err| encode_error("RSA", err))?;
    let mut members = Map::new();
    members.insert("kty".to_owned(), json!("RSA"));
    members.insert("n".to_owned(), json!(URL_SAFE_NO_PAD.encode(key.n_bytes())));
    members.insert("e".to_owned(), json!(URL_SAFE_NO_PAD.encode(key.e_bytes())));
    let fingerprint = thumbprint(&members);

    Ok(KeyInner {
        algorithm: SigningAlgorithm::Rs256,
        key_id,
        encoding_key: EncodingKey::from_rsa_der(der.as_bytes()),
        public_members: members,
        fingerprint,
    })
}

fn ec_inner(
    algorithm: SigningAlgorithm,
    pkcs8_der: &[u8],
    members: Map<String, Value>,
    key_id: Option<String>,
) -> KeyInner {
    let fingerprint = thumbprint(&members);
    KeyInner {
        algorithm,
        key_id,
        encoding_key: EncodingKey::from_ec_der(pkcs8_der),
        public_members: members,
        fingerprint,
    }
}

fn ec_members<N: AsRef<[u8]>>(
    curve: &str,
    x: Option<N>,
    y: Option<N>,
) -> Result<Map<String, Value>, KeyError> {
    let (Some(x), Some(y)) = (x, y) else {
        return Err(KeyError::Malformed {
            format: curve.to_owned(),
            reason: "the public point is the identity".to_owned(),
        });
    };
    let mut members = Map::new();
    members.insert("kty".to_owned(), json!("EC"));
    members.insert("crv".to_owned(), json!(curve));
    members.insert("x".to_owned(), json!(URL_SAFE_NO_PAD.encode(x.as_ref())));
    members.insert("y".to_owned(), json!(URL_SAFE_NO_PAD.encode(y.as_ref())));
    Ok(members)
}

fn encode_error(format: &str, err: impl fmt::Display) -> KeyError {
    KeyError::Malformed {
        format: format.to_owned(),
        reason: format!("could not re-encode the key for signing: {err}"),
    }
}

/// Computes the RFC 7638 thumbprint: SHA-256 over the required public
/// members in lexicographic order, without whitespace.
fn thumbprint(members: &Map<String, Value>) -> String {
    let required: &[&str] = match members.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["e", "kty", "n"],
        _ => &["crv", "kty", "x", "y"],
    };
    let canonical: Map<String, Value> = required
        .iter()
        .map(|name| {
            let value = members.get(*name).cloned().unwrap_or(Value::Null);
            ((*name).to_owned(), value)
        })
        .collect();
    // serde_json keeps insertion order here (preserve_order), and `required`
    // is already sorted, so the output is the canonical form.
    let text = Value::Object(canonical).to_string();
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// Removes one pair of surrounding quotes left over from YAML or shell.
fn trim_quotes(text: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = text
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner.trim();
        }
    }
    text
}

/// One `-----BEGIN label----- … -----END label-----` block.
struct PemBlock<'a> {
    label: &'a str,
    body: &'a str,
}

/// Finds the PEM blocks in `text`, tolerating any separator (newlines,
/// spaces, literal `\n`) between the armor lines and the base64 body.
fn pem_blocks(text: &str) -> Vec<PemBlock<'_>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after_begin = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after_begin.find("-----") else {
            break;
        };
        let label = after_begin[..label_end].trim();
        let after_label = &after_begin[label_end + "-----".len()..];
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = after_label.find(&end_marker) else {
            blocks.push(PemBlock {
                label,
                body: after_label,
            });
            break;
        };
        blocks.push(PemBlock {
            label,
            body: &after_label[..body_end],
        });
        rest = &after_label[body_end + end_marker.len()..];
    }
    blocks
}

fn parse_pem(text: &str) -> Result<KeyMaterial, KeyError> {
    let blocks = pem_blocks(text);
    // `openssl ecparam -genkey` writes an EC PARAMETERS block before the key,
    // and some tools bundle a certificate, so prefer the private key block.
    let block = blocks
        .iter()
        .find(|block| block.label.ends_with("PRIVATE KEY"))
        .or_else(|| blocks.first())
        .ok_or_else(|| KeyError::NotAKey {
            found: "a PEM header without a complete BEGIN line".to_owned(),
        })?;

    let format = format!("PEM (BEGIN {})", block.label);
    match block.label {
        "PRIVATE KEY" => parse_pkcs8(&pem_body(block, "PKCS#8 PEM")?, "PKCS#8 PEM"),
        "RSA PRIVATE KEY" => parse_pkcs1(&pem_body(block, "PKCS#1 PEM")?, "PKCS#1 PEM"),
        "EC PRIVATE KEY" => parse_sec1(&pem_body(block, "SEC1 PEM")?),
        "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted { format }),
        "PUBLIC KEY" | "RSA PUBLIC KEY" | "EC PUBLIC KEY" => {
            Err(KeyError::PublicKeyGiven { format })
        }
        "CERTIFICATE" => Err(KeyError::PublicKeyGiven {
            format: "an X.509 certificate, which contains only the public key".to_owned(),
        }),
        "OPENSSH PRIVATE KEY" => Err(KeyError::NotAKey {
            found: "an OpenSSH private key; convert it with \
                    `ssh-keygen -p -m PKCS8 -f KEYFILE` (this rewrites the file in PKCS#8)"
                .to_owned(),
        }),
        other => Err(KeyError::NotAKey {
            found: format!("a PEM block labelled `{other}`"),
        }),
    }
}

/// Decodes a PEM body, rejecting legacy encrypted PEM (`Proc-Type` headers).
fn pem_body(block: &PemBlock<'_>, format: &str) -> Result<Vec<u8>, KeyError> {
    if block.body.contains("Proc-Type:") && block.body.contains("ENCRYPTED") {
        return Err(KeyError::Encrypted {
            format: format!("{format} with a Proc-Type: 4,ENCRYPTED header"),
        });
    }
    decode_base64(block.body).map_err(|reason| KeyError::Malformed {
        format: format.to_owned(),
        reason,
    })
}

/// Decodes base64 that may be split by whitespace or literal `\n`/`\r`
/// escapes (common when a key passes through an environment variable).
fn decode_base64(body: &str) -> Result<Vec<u8>, String> {
    let cleaned: String = body
        .replace("\\n", "\n")
        .replace("\\r", "\r")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if cleaned.is_empty() {
        return Err("the PEM body is empty".to_owned());
    }
    STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|err| format!("the body is not valid base64 ({err})"))
}

fn parse_pkcs8(der: &[u8], format: &str) -> Result<KeyMaterial, KeyError> {
    let malformed = |reason: String| KeyError::Malformed {
        format: format.to_owned(),
        reason,
    };
    let info = PrivateKeyInfoRef::from_der(der)
        .map_err(|err| malformed(format!("not a PKCS#8 structure ({err})")))?;

    let algorithm = info.algorithm.oid;
    if algorithm == OID_RSA {
        let key = rsa::PrivateKey::from_pkcs8_der(der)
            .map_err(|err| malformed(format!("invalid RSA key ({err})")))?;
        return Ok(KeyMaterial::Rsa {
            key: Box::new(key),
            key_id: None,
        });
    }
    if algorithm == OID_ED25519 || algorithm == OID_ED448 {
        return Err(KeyError::UnsupportedCurve {
            curve: if algorithm == OID_ED25519 {
                "Ed25519"
            } else {
                "Ed448"
            }
            .to_owned(),
        });
    }
    if algorithm != OID_EC {
        return Err(malformed(format!(
            "the key algorithm {algorithm} is neither RSA nor elliptic curve"
        )));
    }

    let curve = info
        .algorithm
        .parameters_oid()
        .map_err(|err| malformed(format!("the EC key names no curve ({err})")))?;
    match curve {
        c if c == OID_P256 => p256::SecretKey::from_pkcs8_der(der)
            .map(|key| KeyMaterial::P256 { key, key_id: None })
            .map_err(|err| malformed(format!("invalid P-256 key ({err})"))),
        c if c == OID_P384 => p384::SecretKey::from_pkcs8_der(der)
            .map(|key| KeyMaterial::P384 { key, key_id: None })
            .map_err(|err| malformed(format!("invalid P-384 key ({err})"))),
        c => Err(KeyError::UnsupportedCurve {
            curve: curve_name(c),
        }),
    }
}

fn parse_pkcs1(der: &[u8], format: &str) -> Result<KeyMaterial, KeyError> {
    let key = rsa::PrivateKey::from_pkcs1_der(der).map_err(|err| KeyError::Malformed {
        format: format.to_owned(),
        reason: format!("invalid RSA key ({err})"),
    })?;
    Ok(KeyMaterial::Rsa {
        key: Box::new(key),
        key_id: None,
    })
}

fn parse_sec1(der: &[u8]) -> Result<KeyMaterial, KeyError> {
    if let Ok(key) = p256::SecretKey::from_sec1_der(der) {
        return Ok(KeyMaterial::P256 { key, key_id: None });
    }
    if let Ok(key) = p384::SecretKey::from_sec1_der(der) {
        return Ok(KeyMaterial::P384 { key, key_id: None });
    }
    if p521::SecretKey::from_sec1_der(der).is_ok() {
        return Err(KeyError::UnsupportedCurve {
            curve: "P-521".to_owned(),
        });
    }
    Err(KeyError::Malformed {
        format: "SEC1 PEM".to_owned(),
        reason: "not a P-256, P-384 or P-521 EC private key".to_owned(),
    })
}

fn curve_name(oid: ObjectIdentifier) -> String {
    if oid == OID_P521 {
        "P-521".to_owned()
    } else {
        format!("the curve with OID {oid}")
    }
}

/// Accepts the base64 body of a PKCS#8 or PKCS#1 key pasted without its
/// armor lines; anything else is reported as not a key.
fn parse_bare_base64(text: &str) -> Result<KeyMaterial, KeyError> {
    let not_a_key = || KeyError::NotAKey {
        found: format!(
            "{} characters of text that are neither PEM nor JSON",
            text.chars().count()
        ),
    };
    let der = decode_base64(text).map_err(|_| not_a_key())?;
    if PrivateKeyInfoRef::from_der(&der).is_ok() {
        return parse_pkcs8(&der, "PKCS#8 (base64 without PEM lines)");
    }
    if let Ok(key) = rsa::PrivateKey::from_pkcs1_der(&der) {
        return Ok(KeyMaterial::Rsa {
            key: Box::new(key),
            key_id: None,
        });
    }
    Err(not_a_key())
}

fn parse_jwk_text(text: &str) -> Result<KeyMaterial, KeyError> {
    let value: Value = serde_json::from_str(text).map_err(|err| KeyError::Malformed {
        format: "JWK".to_owned(),
        reason: format!("not valid JSON ({err})"),
    })?;
    let jwk = select_jwk(&value)?;
    parse_jwk(jwk)
}

/// Picks the key out of a JWK or a JWK Set (`{"keys": [...]}`).
fn select_jwk(value: &Value) -> Result<&Map<String, Value>, KeyError> {
    let object = value.as_object().ok_or_else(|| KeyError::NotAKey {
        found: "JSON that is not an object".to_owned(),
    })?;
    let Some(keys) = object.get("keys") else {
        return Ok(object);
    };

    let keys: Vec<&Map<String, Value>> = keys
        .as_array()
        .map(|keys| keys.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let private: Vec<_> = keys.iter().filter(|key| key.contains_key("d")).collect();
    match (private.as_slice(), keys.as_slice()) {
        ([only], _) => Ok(only),
        ([], []) => Err(KeyError::NotAKey {
            found: "a JWK Set without keys".to_owned(),
        }),
        ([], _) => Err(KeyError::PublicKeyGiven {
            format: "a JWK Set with only public keys".to_owned(),
        }),
        (several, _) => Err(KeyError::Malformed {
            format: "JWK Set".to_owned(),
            reason: format!(
                "it contains {} private keys; use the single key whose public half is on the Okta app",
                several.len()
            ),
        }),
    }
}

fn parse_jwk(jwk: &Map<String, Value>) -> Result<KeyMaterial, KeyError> {
    let key_id = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
    let kty = jwk
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| KeyError::NotAKey {
            found: "JSON without a \"kty\" member".to_owned(),
        })?;

    match kty {
        "RSA" => parse_rsa_jwk(jwk, key_id),
        "EC" => parse_ec_jwk(jwk, key_id),
        "OKP" => Err(KeyError::UnsupportedCurve {
            curve: jwk
                .get("crv")
                .and_then(Value::as_str)
                .unwrap_or("an OKP curve")
                .to_owned(),
        }),
        "oct" => Err(KeyError::NotAKey {
            found: "a symmetric (\"kty\": \"oct\") JWK; private_key_jwt needs an RSA or EC key"
                .to_owned(),
        }),
        other => Err(KeyError::NotAKey {
            found: format!("a JWK with unknown \"kty\": \"{other}\""),
        }),
    }
}

/// Decodes a base64url JWK member (padding tolerated).
fn jwk_member(
    jwk: &Map<String, Value>,
    name: &str,
    format: &str,
) -> Result<Option<Vec<u8>>, KeyError> {
    let Some(value) = jwk.get(name) else {
        return Ok(None);
    };
    let text = value.as_str().ok_or_else(|| KeyError::Malformed {
        format: format.to_owned(),
        reason: format!("member \"{name}\" is not a string"),
    })?;
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map(Some)
        .map_err(|err| KeyError::Malformed {
            format: format.to_owned(),
            reason: format!("member \"{name}\" is not base64url ({err})"),
        })
}

fn required_member(
    jwk: &Map<String, Value>,
    name: &str,
    format: &str,
) -> Result<Vec<u8>, KeyError> {
    jwk_member(jwk, name, format)?.ok_or_else(|| KeyError::Malformed {
        format: format.to_owned(),
        reason: format!("member \"{name}\" is missing"),
    })
}

fn parse_rsa_jwk(
    jwk: &Map<String, Value>,
    key_id: Option<String>,
) -> Result<KeyMaterial, KeyError> {
    const FORMAT: &str = "RSA JWK";
    let Some(d) = jwk_member(jwk, "d", FORMAT)? else {
        return Err(KeyError::PublicKeyGiven {
            format: "an RSA JWK without the private member \"d\"".to_owned(),
        });
    };
    let n = required_member(jwk, "n", FORMAT)?;
    let e = required_member(jwk, "e", FORMAT)?;
    let mut primes = Vec::new();
    if let (Some(p), Some(q)) = (jwk_member(jwk, "p", FORMAT)?, jwk_member(jwk, "q", FORMAT)?) {
        primes = vec![big_uint(&p, FORMAT)?, big_uint(&q, FORMAT)?];
    }

    let key = rsa::PrivateKey::from_components(
        big_uint(&n, FORMAT)?,
        big_uint(&e, FORMAT)?,
        big_uint(&d, FORMAT)?,
        primes,
    )
    .map_err(|err| KeyError::Malformed {
        format: FORMAT.to_owned(),
        reason: format!("the members do not form a valid RSA key ({err})"),
    })?;
    Ok(KeyMaterial::Rsa {
        key: Box::new(key),
        key_id,
    })
}

fn big_uint(bytes: &[u8], format: &str) -> Result<rsa::BoxedUint, KeyError> {
    let bits = u32::try_from(bytes.len().max(1) * 8).map_err(|_| KeyError::Malformed {
        format: format.to_owned(),
        reason: "a member is too large".to_owned(),
    })?;
    rsa::BoxedUint::from_be_slice(bytes, bits).map_err(|err| KeyError::Malformed {
        format: format.to_owned(),
        reason: format!("a member is not a big-endian integer ({err:?})"),
    })
}

fn parse_ec_jwk(jwk: &Map<String, Value>, key_id: Option<String>) -> Result<KeyMaterial, KeyError> {
    let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or_default();
    let format = format!("EC JWK ({crv})");
    let Some(d) = jwk_member(jwk, "d", &format)? else {
        return Err(KeyError::PublicKeyGiven {
            format: format!("an {format} without the private member \"d\""),
        });
    };
    let malformed = |reason: String| KeyError::Malformed {
        format: format.clone(),
        reason,
    };

    let material = match crv {
        "P-256" => p256::SecretKey::from_slice(&d)
            .map(|key| KeyMaterial::P256 { key, key_id })
            .map_err(|_| malformed("member \"d\" is not a P-256 scalar".to_owned()))?,
        "P-384" => p384::SecretKey::from_slice(&d)
            .map(|key| KeyMaterial::P384 { key, key_id })
            .map_err(|_| malformed("member \"d\" is not a P-384 scalar".to_owned()))?,
        "P-521" => {
            return Err(KeyError::UnsupportedCurve {
                curve: "P-521".to_owned(),
            })
        }
        other => {
            return Err(KeyError::UnsupportedCurve {
                curve: format!("the curve \"{other}\""),
            })
        }
    };

    check_ec_public_members(jwk, &material, &format)?;
    Ok(material)
}

/// Rejects a JWK whose `x`/`y` do not belong to its `d`, which would make
/// Okta reject every signature with a hard-to-explain error.
fn check_ec_public_members(
    jwk: &Map<String, Value>,
    material: &KeyMaterial,
    format: &str,
) -> Result<(), KeyError> {
    let (x, y) = match material {
        KeyMaterial::P256 { key, .. } => {
            let point = key.public_key().to_sec1_point(false);
            (point.x().map(|x| x.to_vec()), point.y().map(|y| y.to_vec()))
        }
        KeyMaterial::P384 { key, .. } => {
            let point = key.public_key().to_sec1_point(false);
            (point.x().map(|x| x.to_vec()), point.y().map(|y| y.to_vec()))
        }
        KeyMaterial::Rsa { .. } => return Ok(()),
    };
    for (name, derived) in [("x", x), ("y", y)] {
        if let Some(given) = jwk_member(jwk, name, format)? {
            if Some(given) != derived {
                return Err(KeyError::Malformed {
                    format: format.to_owned(),
                    reason: format!(
                        "member \"{name}\" does not match the private key \"d\"; \
                         the JWK mixes members of two different keys"
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

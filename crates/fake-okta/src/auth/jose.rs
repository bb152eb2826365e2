//! The JOSE pieces the fake needs: compact JWS parsing (RFC 7515), public
//! JWKs (RFC 7517) for RSA and the NIST curves, signature checks for the
//! algorithms Okta accepts, JWK thumbprints (RFC 7638) and signing.
//!
//! Only the asymmetric algorithms RS256/384/512 and ES256/384/512 exist here.
//! `none`, the HMAC algorithms and RSASSA-PSS are rejected by
//! [`Algorithm::parse`], as Okta rejects them for client assertions and DPoP.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// A JWS signature algorithm that the fake accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
    Es256,
    Es384,
    Es512,
}

impl Algorithm {
    /// Returns the algorithm named by a JWS `alg` header, or `None` for any
    /// algorithm outside the allow-list.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "RS384" => Some(Self::Rs384),
            "RS512" => Some(Self::Rs512),
            "ES256" => Some(Self::Es256),
            "ES384" => Some(Self::Es384),
            "ES512" => Some(Self::Es512),
            _ => None,
        }
    }

    /// Returns the JWS `alg` name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
        }
    }
}

/// A compact JWS that failed to parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum MalformedJws {
    #[error("a compact JWS has 3 dot-separated parts, found {parts}")]
    PartCount { parts: usize },
    #[error("the {part} is not base64url without padding")]
    Base64 { part: &'static str },
    #[error("the {part} is not a JSON object")]
    NotAnObject { part: &'static str },
}

/// A parsed but not yet verified compact JWS.
#[derive(Debug)]
pub(crate) struct CompactJws {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, the signed bytes.
    signing_input: String,
    signature: Vec<u8>,
}

impl CompactJws {
    /// Splits and decodes a compact JWS. The signature may be empty, so an
    /// unsigned `alg: none` token parses and is rejected by its algorithm.
    pub(crate) fn parse(token: &str) -> Result<Self, MalformedJws> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts[..] else {
            return Err(MalformedJws::PartCount { parts: parts.len() });
        };

        Ok(Self {
            header: decode_object(header, "header")?,
            claims: decode_object(payload, "payload")?,
            signing_input: format!("{header}.{payload}"),
            signature: decode_part(signature, "signature")?,
        })
    }

    /// Returns a string header parameter, such as `alg`, `kid` or `typ`.
    pub(crate) fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// Returns a string claim, such as `iss` or `jti`.
    pub(crate) fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// Returns a `NumericDate` claim, such as `exp`, as whole seconds.
    ///
    /// Fractional seconds are allowed by RFC 7519 and are rounded down.
    pub(crate) fn claim_seconds(&self, name: &str) -> Option<NumericClaim> {
        let value = self.claims.get(name)?;
        let seconds = value.as_u64().or_else(|| {
            value
                .as_f64()
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                .map(|seconds| seconds as u64)
        });
        Some(seconds.map_or(NumericClaim::Invalid, NumericClaim::Seconds))
    }

    /// Checks the signature with `key` under `algorithm`.
    pub(crate) fn verify(&self, key: &PublicKey, algorithm: Algorithm) -> Result<(), VerifyError> {
        key.verify(algorithm, self.signing_input.as_bytes(), &self.signature)
    }
}

/// A JWT time claim that is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumericClaim {
    Seconds(u64),
    /// Present but not a non-negative number.
    Invalid,
}

/// A failed signature check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum VerifyError {
    #[error("algorithm {algorithm} cannot be used with a {key} key")]
    KeyMismatch {
        algorithm: &'static str,
        key: &'static str,
    },
    #[error("the signature does not verify")]
    BadSignature,
}

/// A JWK that cannot verify signatures.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum JwkError {
    /// The JWK is not a JSON object.
    #[error("the JWK is not a JSON object")]
    NotAnObject,
    /// `kty` is missing or not `RSA` or `EC`.
    #[error("unsupported key type {kty:?}; use \"RSA\" or \"EC\"")]
    UnsupportedKeyType {
        /// The `kty` found, if any.
        kty: Option<String>,
    },
    /// `crv` is missing or not one of the NIST curves.
    #[error("unsupported curve {crv:?}; use \"P-256\", \"P-384\" or \"P-521\"")]
    UnsupportedCurve {
        /// The `crv` found, if any.
        crv: Option<String>,
    },
    /// A required member is missing or not base64url.
    #[error("member {member:?} is missing or not base64url without padding")]
    BadMember {
        /// The JWK member, such as `n` or `x`.
        member: &'static str,
    },
    /// The members do not form a valid public key.
    #[error("the {kty} key members do not form a valid public key")]
    InvalidKey {
        /// The key type.
        kty: &'static str,
    },
    /// The JWK contains a private key member, which a public JWK must not.
    #[error("the JWK contains the private member {member:?}; publish only the public key")]
    PrivateMember {
        /// The private member found.
        member: &'static str,
    },
}

/// A public key that verifies JWS signatures.
#[derive(Debug, Clone)]
pub(crate) enum PublicKey {
    Rsa(rsa::PublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

/// Members that only private JWKs carry (RFC 7518, sections 6.2.2 and 6.3.2).
const PRIVATE_MEMBERS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

impl PublicKey {
    /// Reads a public RSA or EC JWK.
    pub(crate) fn from_jwk(jwk: &Value) -> Result<Self, JwkError> {
        let jwk = jwk.as_object().ok_or(JwkError::NotAnObject)?;
        if let Some(member) = PRIVATE_MEMBERS
            .iter()
            .find(|member| jwk.contains_key(**member))
        {
            return Err(JwkError::PrivateMember { member });
        }

        match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => rsa_from_jwk(jwk),
            Some("EC") => ec_from_jwk(jwk),
            other => Err(JwkError::UnsupportedKeyType {
                kty: other.map(str::to_owned),
            }),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RSA",
            Self::P256(_) => "P-256",
            Self::P384(_) => "P-384",
            Self::P521(_) => "P-521",
        }
    }

    /// Checks a JWS signature over `message`.
    fn verify(
        &self,
        algorithm: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        use rsa::signature::Verifier;

        let verified = match (self, algorithm) {
            (Self::Rsa(key), Algorithm::Rs256) => verify_rsa::<Sha256>(key, message, signature),
            (Self::Rsa(key), Algorithm::Rs384) => verify_rsa::<Sha384>(key, message, signature),
            (Self::Rsa(key), Algorithm::Rs512) => verify_rsa::<Sha512>(key, message, signature),
            (Self::P256(key), Algorithm::Es256) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            (Self::P384(key), Algorithm::Es384) => p384::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            (Self::P521(key), Algorithm::Es512) => p521::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            _ => {
                return Err(VerifyError::KeyMismatch {
                    algorithm: algorithm.name(),
                    key: self.kind(),
                });
            }
        };

        if verified {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }
}

fn verify_rsa<D>(key: &rsa::PublicKey, message: &[u8], signature: &[u8]) -> bool
where
    D: Digest + rsa::pkcs8::AssociatedOid,
{
    use rsa::signature::Verifier;

    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
        return false;
    };
    let key = rsa::pkcs1v15::VerifyingKey::<D>::new(key.clone());
    key.verify(message, &signature).is_ok()
}

fn rsa_from_jwk(jwk: &Map<String, Value>) -> Result<PublicKey, JwkError> {
    let modulus = jwk_bytes(jwk, "n")?;
    let exponent = jwk_bytes(jwk, "e")?;
    let modulus = rsa::BoxedUint::from_be_slice_vartime(&modulus);
    let exponent = rsa::BoxedUint::from_be_slice_vartime(&exponent);

    rsa::PublicKey::new(modulus, exponent)
        .map(PublicKey::Rsa)
        .map_err(|_| JwkError::InvalidKey { kty: "RSA" })
}

/// Builds a public key from an uncompressed SEC1 point on one curve.
type PointParser = fn(&[u8]) -> Option<PublicKey>;

fn ec_from_jwk(jwk: &Map<String, Value>) -> Result<PublicKey, JwkError> {
    let curve = jwk.get("crv").and_then(Value::as_str);
    let (size, make): (usize, PointParser) = match curve {
        Some("P-256") => (32, |point| {
            p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .ok()
                .map(PublicKey::P256)
        }),
        Some("P-384") => (48, |point| {
            p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .ok()
                .map(PublicKey::P384)
        }),
        Some("P-521") => (66, |point| {
            p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .ok()
                .map(PublicKey::P521)
        }),
        other => {
            return Err(JwkError::UnsupportedCurve {
                crv: other.map(str::to_owned),
            });
        }
    };

    let x = jwk_bytes(jwk, "x")?;
    let y = jwk_bytes(jwk, "y")?;
    if x.len() != size || y.len() != size {
        return Err(JwkError::InvalidKey { kty: "EC" });
    }

    // An uncompressed SEC1 point is 0x04 followed by both coordinates.
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    make(&point).ok_or(JwkError::InvalidKey { kty: "EC" })
}

fn jwk_bytes(jwk: &Map<String, Value>, member: &'static str) -> Result<Vec<u8>, JwkError> {
    jwk.get(member)
        .and_then(Value::as_str)
        .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
        .filter(|bytes| !bytes.is_empty())
        .ok_or(JwkError::BadMember { member })
}

/// Returns the RFC 7638 JWK SHA-256 thumbprint, base64url-encoded: the hash
/// of the required members in lexicographic order with no whitespace.
pub(crate) fn thumbprint(jwk: &Value) -> Result<String, JwkError> {
    let members: &[&'static str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        other => {
            return Err(JwkError::UnsupportedKeyType {
                kty: other.map(str::to_owned),
            });
        }
    };

    let mut canonical = String::from("{");
    for (position, member) in members.iter().enumerate() {
        let value = jwk
            .get(*member)
            .and_then(Value::as_str)
            .ok_or(JwkError::BadMember { member })?;
        if position > 0 {
            canonical.push(',');
        }
        // Serializing a &str gives a JSON string with RFC 8259 escaping.
        canonical.push_str(&json!(member).to_string());
        canonical.push(':');
        canonical.push_str(&json!(value).to_string());
    }
    canonical.push('}');

    Ok(base64url(&Sha256::digest(canonical.as_bytes())))
}

/// Encodes bytes as base64url without padding.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Returns the public JWK of an RSA key, without `kid`, `alg` or `use`.
pub(crate) fn rsa_public_jwk(key: &rsa::PublicKey) -> Value {
    json!({
        "kty": "RSA",
        "n": base64url(&key.n_bytes()),
        "e": base64url(&key.e_bytes()),
    })
}

/// Returns the public JWK of an EC key from its uncompressed coordinates.
pub(crate) fn ec_public_jwk(curve: &str, x: &[u8], y: &[u8]) -> Value {
    json!({
        "kty": "EC",
        "crv": curve,
        "x": base64url(x),
        "y": base64url(y),
    })
}

/// Builds a compact JWS: `header` and `claims` are serialized as given and
/// `sign` returns the signature over the signing input.
pub(crate) fn encode(
    header: &Value,
    claims: &Value,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let signing_input = format!(
        "{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    );
    let signature = sign(signing_input.as_bytes());
    format!("{signing_input}.{}", base64url(&signature))
}

fn decode_part(part: &str, name: &'static str) -> Result<Vec<u8>, MalformedJws> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| MalformedJws::Base64 { part: name })
}

fn decode_object(part: &str, name: &'static str) -> Result<Map<String, Value>, MalformedJws> {
    let bytes = decode_part(part, name)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(MalformedJws::NotAnObject { part: name }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p256_jwk() -> Value {
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let point = key.verifying_key().to_sec1_point(false);
        ec_public_jwk("P-256", point.x().unwrap(), point.y().unwrap())
    }

    #[test]
    fn thumbprint_matches_jsonwebtoken() {
        let mut jwk = p256_jwk();
        jwk["kid"] = json!("key-1");
        let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();

        let expected = parsed
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();

        assert_eq!(thumbprint(&jwk).unwrap(), expected);
    }

    #[test]
    fn thumbprint_ignores_optional_members() {
        let plain = p256_jwk();
        let mut decorated = plain.clone();
        decorated["kid"] = json!("key-1");
        decorated["use"] = json!("sig");

        assert_eq!(thumbprint(&plain).unwrap(), thumbprint(&decorated).unwrap());
    }

    #[test]
    fn private_jwk_rejected() {
        let mut jwk = p256_jwk();
        jwk["d"] = json!("AAAA");

        let error = PublicKey::from_jwk(&jwk).unwrap_err();

        assert_eq!(error, JwkError::PrivateMember { member: "d" });
    }

    #[test]
    fn unknown_curve_rejected() {
        let mut jwk = p256_jwk();
        jwk["crv"] = json!("secp256k1");

        let error = PublicKey::from_jwk(&jwk).unwrap_err();

        assert!(matches!(error, JwkError::UnsupportedCurve { .. }));
    }

    #[test]
    fn point_off_curve_rejected() {
        let mut jwk = p256_jwk();
        jwk["y"] = json!(base64url(&[1u8; 32]));

        let error = PublicKey::from_jwk(&jwk).unwrap_err();

        assert_eq!(error, JwkError::InvalidKey { kty: "EC" });
    }

    #[test]
    fn octet_key_rejected() {
        let jwk = json!({ "kty": "oct", "k": "c2VjcmV0" });

        let error = PublicKey::from_jwk(&jwk).unwrap_err();

        assert!(matches!(error, JwkError::UnsupportedKeyType { .. }));
    }

    #[test]
    fn jws_with_two_parts_rejected() {
        let error = CompactJws::parse("abc.def").unwrap_err();

        assert_eq!(error, MalformedJws::PartCount { parts: 2 });
    }

    #[test]
    fn jws_with_array_payload_rejected() {
        let token = format!("{}.{}.", base64url(b"{}"), base64url(b"[1]"));

        let error = CompactJws::parse(&token).unwrap_err();

        assert_eq!(error, MalformedJws::NotAnObject { part: "payload" });
    }

    #[test]
    fn signed_jws_verifies() {
        use p256::ecdsa::signature::Signer;
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let token = encode(
            &json!({ "alg": "ES256" }),
            &json!({ "sub": "x" }),
            |message| {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_bytes().to_vec()
            },
        );
        let jws = CompactJws::parse(&token).unwrap();
        let public = PublicKey::from_jwk(&p256_jwk()).unwrap();

        assert_eq!(jws.verify(&public, Algorithm::Es256), Ok(()));
    }

    #[test]
    fn es384_on_p256_key_is_mismatch() {
        let token = encode(&json!({ "alg": "ES384" }), &json!({}), |_| vec![0; 96]);
        let jws = CompactJws::parse(&token).unwrap();
        let public = PublicKey::from_jwk(&p256_jwk()).unwrap();

        let error = jws.verify(&public, Algorithm::Es384).unwrap_err();

        assert!(matches!(error, VerifyError::KeyMismatch { .. }));
    }

    #[test]
    fn fractional_time_claim_rounds_down() {
        let token = format!("{}.{}.", base64url(b"{}"), base64url(br#"{"exp":10.9}"#));
        let jws = CompactJws::parse(&token).unwrap();

        assert_eq!(jws.claim_seconds("exp"), Some(NumericClaim::Seconds(10)));
    }

    #[test]
    fn negative_time_claim_is_invalid() {
        let token = format!("{}.{}.", base64url(b"{}"), base64url(br#"{"exp":-5}"#));
        let jws = CompactJws::parse(&token).unwrap();

        assert_eq!(jws.claim_seconds("exp"), Some(NumericClaim::Invalid));
    }

    #[test]
    fn allow_list_excludes_none_hmac_and_pss() {
        for name in ["none", "HS256", "PS256", "EdDSA", "rs256"] {
            assert_eq!(Algorithm::parse(name), None, "{name}");
        }
    }
}

//! Tests for key parsing. Keys are generated here (RSA 2048, P-256, P-384,
//! P-521) and encoded in every format users paste.

use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use p256::elliptic_curve::common::getrandom::SysRng;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::EncodePrivateKey as _;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::EncodePublicKey as _;
use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
use serde_json::{json, Value};

use super::*;

fn rsa_key() -> &'static rsa::PrivateKey {
    static KEY: OnceLock<rsa::PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::PrivateKey::new(&mut SysRng, 2048).expect("generate RSA key"))
}

fn p256_key() -> &'static p256::SecretKey {
    static KEY: OnceLock<p256::SecretKey> = OnceLock::new();
    KEY.get_or_init(p256::SecretKey::generate)
}

fn p384_key() -> &'static p384::SecretKey {
    static KEY: OnceLock<p384::SecretKey> = OnceLock::new();
    KEY.get_or_init(p384::SecretKey::generate)
}

/// Wraps DER in PEM armor with 64-character lines.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn rsa_pkcs8_pem() -> String {
    let der = rsa_key().to_pkcs8_der().expect("encode PKCS#8");
    pem("PRIVATE KEY", der.as_bytes())
}

fn rsa_pkcs1_pem() -> String {
    let der = rsa_key().to_pkcs1_der().expect("encode PKCS#1");
    pem("RSA PRIVATE KEY", der.as_bytes())
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_jwk(with_primes: bool) -> Value {
    let key = rsa_key();
    let mut jwk = json!({
        "kty": "RSA",
        "kid": "key-2024",
        "n": b64url(&key.n_bytes()),
        "e": b64url(&key.e_bytes()),
        "d": b64url(&key.d().to_be_bytes_trimmed_vartime()),
    });
    if with_primes {
        let primes = key.primes();
        jwk["p"] = json!(b64url(&primes[0].as_ref().to_be_bytes_trimmed_vartime()));
        jwk["q"] = json!(b64url(&primes[1].as_ref().to_be_bytes_trimmed_vartime()));
    }
    jwk
}

fn p256_jwk() -> Value {
    let key = p256_key();
    let point = key.public_key().to_sec1_point(false);
    json!({
        "kty": "EC",
        "crv": "P-256",
        "kid": "ec-key",
        "x": b64url(point.x().expect("x")),
        "y": b64url(point.y().expect("y")),
        "d": b64url(&key.to_bytes()),
    })
}

fn parse_err(text: &str) -> KeyError {
    match PrivateKey::parse(text) {
        Ok(key) => panic!("expected an error, parsed {key:?}"),
        Err(err) => err,
    }
}

#[test]
fn pkcs8_rsa_pem_signs_rs256() {
    let key = PrivateKey::parse(&rsa_pkcs8_pem()).expect("parse");
    assert_eq!(key.algorithm(), SigningAlgorithm::Rs256);
}

#[test]
fn pkcs1_rsa_pem_matches_pkcs8() {
    let pkcs1 = PrivateKey::parse(&rsa_pkcs1_pem()).expect("parse PKCS#1");
    let pkcs8 = PrivateKey::parse(&rsa_pkcs8_pem()).expect("parse PKCS#8");
    assert_eq!(pkcs1.fingerprint(), pkcs8.fingerprint());
}

#[test]
fn pkcs8_p256_pem_signs_es256() {
    let der = p256_key().to_pkcs8_der().expect("encode");
    let key = PrivateKey::parse(&pem("PRIVATE KEY", der.as_bytes())).expect("parse");
    assert_eq!(key.algorithm(), SigningAlgorithm::Es256);
}

#[test]
fn pkcs8_p384_pem_signs_es384() {
    let der = p384_key().to_pkcs8_der().expect("encode");
    let key = PrivateKey::parse(&pem("PRIVATE KEY", der.as_bytes())).expect("parse");
    assert_eq!(key.algorithm(), SigningAlgorithm::Es384);
}

#[test]
fn sec1_p256_pem_matches_pkcs8() {
    let sec1 = p256_key().to_sec1_der().expect("encode SEC1");
    let pkcs8 = p256_key().to_pkcs8_der().expect("encode PKCS#8");
    let from_sec1 = PrivateKey::parse(&pem("EC PRIVATE KEY", &sec1)).expect("parse SEC1");
    let from_pkcs8 = PrivateKey::parse(&pem("PRIVATE KEY", pkcs8.as_bytes())).expect("parse");
    assert_eq!(from_sec1.fingerprint(), from_pkcs8.fingerprint());
}

#[test]
fn sec1_p384_pem_signs_es384() {
    let sec1 = p384_key().to_sec1_der().expect("encode SEC1");
    let key = PrivateKey::parse(&pem("EC PRIVATE KEY", &sec1)).expect("parse");
    assert_eq!(key.algorithm(), SigningAlgorithm::Es384);
}

#[test]
fn sec1_with_ec_parameters_block_parses() {
    // `openssl ecparam -genkey` output: a parameters block, then the key.
    let sec1 = p256_key().to_sec1_der().expect("encode SEC1");
    let text = format!(
        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
        pem("EC PRIVATE KEY", &sec1)
    );
    let key = PrivateKey::parse(&text).expect("parse");
    assert_eq!(key.algorithm(), SigningAlgorithm::Es256);
}

#[test]
fn one_line_pem_with_spaces_parses() {
    let expected = PrivateKey::parse(&rsa_pkcs8_pem()).expect("parse");
    let one_line = rsa_pkcs8_pem().replace('\n', " ");
    let key = PrivateKey::parse(&one_line).expect("parse one line");
    assert_eq!(key.fingerprint(), expected.fingerprint());
}

#[test]
fn pem_without_any_separators_parses() {
    let expected = PrivateKey::parse(&rsa_pkcs1_pem()).expect("parse");
    let joined = rsa_pkcs1_pem().replace('\n', "");
    let key = PrivateKey::parse(&joined).expect("parse joined");
    assert_eq!(key.fingerprint(), expected.fingerprint());
}

#[test]
fn pem_with_escaped_newlines_parses() {
    let expected = PrivateKey::parse(&rsa_pkcs8_pem()).expect("parse");
    let escaped = format!("\"{}\"", rsa_pkcs8_pem().replace('\n', "\\n"));
    let key = PrivateKey::parse(&escaped).expect("parse escaped");
    assert_eq!(key.fingerprint(), expected.fingerprint());
}

#[test]
fn pem_with_crlf_parses() {
    let expected = PrivateKey::parse(&rsa_pkcs8_pem()).expect("parse");
    let crlf = rsa_pkcs8_pem().replace('\n', "\r\n");
    let key = PrivateKey::parse(&crlf).expect("parse CRLF");
    assert_eq!(key.fingerprint(), expected.fingerprint());
}

#[test]
fn bare_base64_pkcs8_parses() {
    let der = rsa_key().to_pkcs8_der().expect("encode");
    let key = PrivateKey::parse(&STANDARD.encode(der.as_bytes())).expect("parse");
    assert_eq!(key.algorithm(), SigningAlgorithm::Rs256);
}

#[test]
fn rsa_jwk_matches_pem_fingerprint() {
    let from_jwk = PrivateKey::parse(&rsa_jwk(true).to_string()).expect("parse JWK");
    let from_pem = PrivateKey::parse(&rsa_pkcs8_pem()).expect("parse PEM");
    assert_eq!(from_jwk.fingerprint(), from_pem.fingerprint());
}

#[test]
fn rsa_jwk_keeps_kid() {
    let key = PrivateKey::parse(&rsa_jwk(true).to_string()).expect("parse JWK");
    assert_eq!(key.key_id(), Some("key-2024"));
}

#[test]
fn rsa_jwk_without_primes_parses() {
    let key = PrivateKey::parse(&rsa_jwk(false).to_string()).expect("parse JWK");
    assert_eq!(key.algorithm(), SigningAlgorithm::Rs256);
}

#[test]
fn ec_jwk_signs_es256() {
    let key = PrivateKey::parse(&p256_jwk().to_string()).expect("parse JWK");
    assert_eq!(key.algorithm(), SigningAlgorithm::Es256);
}

#[test]
fn jwk_set_with_one_key_parses() {
    let set = json!({ "keys": [p256_jwk()] });
    let key = PrivateKey::parse(&set.to_string()).expect("parse JWK Set");
    assert_eq!(key.key_id(), Some("ec-key"));
}

#[test]
fn jwk_set_with_two_private_keys_is_malformed() {
    let set = json!({ "keys": [p256_jwk(), rsa_jwk(false)] });
    let err = parse_err(&set.to_string());
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
}

#[test]
fn ec_jwk_with_foreign_x_is_malformed() {
    let mut jwk = p256_jwk();
    let other = p256::SecretKey::generate()
        .public_key()
        .to_sec1_point(false);
    jwk["x"] = json!(b64url(other.x().expect("x")));
    let err = parse_err(&jwk.to_string());
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
}

#[test]
fn public_pem_is_rejected() {
    let der = rsa_key()
        .to_public_key()
        .to_public_key_der()
        .expect("encode");
    let err = parse_err(&pem("PUBLIC KEY", der.as_bytes()));
    assert!(matches!(err, KeyError::PublicKeyGiven { .. }), "{err:?}");
}

#[test]
fn public_key_message_explains_pair() {
    let der = rsa_key()
        .to_public_key()
        .to_public_key_der()
        .expect("encode");
    let message = parse_err(&pem("PUBLIC KEY", der.as_bytes())).to_string();
    assert!(message.contains("the one you kept"), "{message}");
}

#[test]
fn public_jwk_is_rejected() {
    let key = PrivateKey::parse(&p256_jwk().to_string()).expect("parse");
    let err = parse_err(&key.public_jwk().to_string());
    assert!(matches!(err, KeyError::PublicKeyGiven { .. }), "{err:?}");
}

#[test]
fn certificate_is_rejected_as_public() {
    let err = parse_err("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
    assert!(matches!(err, KeyError::PublicKeyGiven { .. }), "{err:?}");
}

#[test]
fn garbage_is_not_a_key() {
    let err = parse_err("0oa1b2c3d4e5f6g7h8i9");
    assert!(matches!(err, KeyError::NotAKey { .. }), "{err:?}");
}

#[test]
fn garbage_is_not_echoed() {
    let message = parse_err("s3cr3t-value-that-is-no-key").to_string();
    assert!(!message.contains("s3cr3t"), "{message}");
}

#[test]
fn empty_text_is_not_a_key() {
    let err = parse_err("  \n ");
    assert!(matches!(err, KeyError::NotAKey { .. }), "{err:?}");
}

#[test]
fn json_without_kty_is_not_a_key() {
    let err = parse_err(r#"{"clientId": "0oa123"}"#);
    assert!(matches!(err, KeyError::NotAKey { .. }), "{err:?}");
}

#[test]
fn openssh_key_is_not_a_key() {
    let err = parse_err(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----",
    );
    assert!(matches!(err, KeyError::NotAKey { .. }), "{err:?}");
}

#[test]
fn encrypted_pkcs8_is_rejected() {
    let err = parse_err(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG\n-----END ENCRYPTED PRIVATE KEY-----",
    );
    assert!(matches!(err, KeyError::Encrypted { .. }), "{err:?}");
}

#[test]
fn encrypted_message_names_openssl() {
    let message = parse_err(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----",
    )
    .to_string();
    assert!(message.contains("openssl pkey"), "{message}");
}

#[test]
fn proc_type_encrypted_pem_is_rejected() {
    let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\nMIIE\n\
                -----END RSA PRIVATE KEY-----";
    let err = parse_err(text);
    assert!(matches!(err, KeyError::Encrypted { .. }), "{err:?}");
}

#[test]
fn p521_sec1_is_unsupported() {
    let key = p521::SecretKey::generate();
    let err = parse_err(&pem("EC PRIVATE KEY", &key.to_sec1_der().expect("encode")));
    assert_eq!(
        err,
        KeyError::UnsupportedCurve {
            curve: "P-521".to_owned()
        }
    );
}

#[test]
fn p521_pkcs8_is_unsupported() {
    let key = p521::SecretKey::generate();
    let der = key.to_pkcs8_der().expect("encode");
    let err = parse_err(&pem("PRIVATE KEY", der.as_bytes()));
    assert!(matches!(err, KeyError::UnsupportedCurve { .. }), "{err:?}");
}

#[test]
fn p521_jwk_is_unsupported() {
    let jwk = json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "d": "AA"});
    let err = parse_err(&jwk.to_string());
    assert!(matches!(err, KeyError::UnsupportedCurve { .. }), "{err:?}");
}

#[test]
fn unsupported_curve_suggests_rsa_or_p256() {
    let jwk = json!({"kty": "EC", "crv": "P-521", "d": "AA"});
    let message = parse_err(&jwk.to_string()).to_string();
    assert!(message.contains("P-256"), "{message}");
}

#[test]
fn short_rsa_key_is_malformed() {
    let small = rsa::PrivateKey::new(&mut SysRng, 1024).expect("generate");
    let der = small.to_pkcs1_der().expect("encode");
    let err = parse_err(&pem("RSA PRIVATE KEY", der.as_bytes()));
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
}

#[test]
fn bad_base64_body_is_malformed() {
    let err = parse_err("-----BEGIN PRIVATE KEY-----\nnot*base64!\n-----END PRIVATE KEY-----");
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
}

#[test]
fn truncated_der_is_malformed() {
    let der = rsa_key().to_pkcs8_der().expect("encode");
    let cut = &der.as_bytes()[..der.as_bytes().len() / 2];
    let err = parse_err(&pem("PRIVATE KEY", cut));
    assert!(matches!(err, KeyError::Malformed { .. }), "{err:?}");
}

#[test]
fn fingerprint_matches_jsonwebtoken_thumbprint() {
    for text in [rsa_pkcs8_pem(), p256_jwk().to_string()] {
        let key = PrivateKey::parse(&text).expect("parse");
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(key.public_jwk()).expect("public JWK deserializes");
        let expected = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .expect("thumbprint");
        assert_eq!(key.fingerprint(), expected);
    }
}

#[test]
fn public_jwk_names_alg_and_kid() {
    let key = PrivateKey::parse(&rsa_jwk(true).to_string()).expect("parse");
    let jwk = key.public_jwk();
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["kid"], "key-2024");
    assert_eq!(jwk.get("d"), None);
}

#[test]
fn debug_output_hides_key_material() {
    let jwk = rsa_jwk(true);
    let key = PrivateKey::parse(&jwk.to_string()).expect("parse");
    let debug = format!("{key:?}");
    let d = jwk["d"].as_str().expect("d");
    assert!(!debug.contains(&d[..16]), "{debug}");
    assert!(debug.contains(&key.fingerprint()), "{debug}");
}

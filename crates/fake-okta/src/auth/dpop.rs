//! DPoP proofs (RFC 9449) as Okta checks them.
//!
//! The token endpoint requires a server-issued nonce in the proof: a proof
//! without one, or with an unknown or stale one, is rejected with
//! `400 use_dpop_nonce` and a `dpop-nonce` header. Okta renews its nonce
//! every 24 hours and accepts each one for three days; [`NonceBook`] does the
//! same. API requests need no nonce, but their proof must carry `ath`, the
//! hash of the access token.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::clock::unix_seconds;
use super::jose::{self, Algorithm, CompactJws, NumericClaim};
use super::replay::JtiKind;
use super::{lock, AuthState};

/// The `typ` header every DPoP proof must carry.
const PROOF_TYPE: &str = "dpop+jwt";

/// How far in the past a proof's `iat` may be, as at Okta.
const MAX_PROOF_AGE: Duration = Duration::from_secs(5 * 60);

/// How often a new nonce is issued.
const NONCE_RENEWAL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a nonce is accepted after it was issued.
const NONCE_LIFETIME: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// A rejected DPoP proof, or a request that needs one.
///
/// `Display` is the log message; [`DpopError::description`] is the exact
/// `error_description` Okta sends.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub(crate) enum DpopError {
    #[error("no DPoP header; send a DPoP proof JWT with the request")]
    Missing,
    #[error("{count} DPoP headers; send exactly one")]
    Multiple { count: usize },
    #[error("DPoP proof is not a compact JWS: {reason}")]
    Unparsable { reason: String },
    #[error("DPoP proof typ is {typ:?}; set the typ header to \"dpop+jwt\"")]
    WrongType { typ: Option<String> },
    #[error("DPoP proof alg {alg:?} is not allowed; use RS256/384/512 or ES256/384/512")]
    Algorithm { alg: Option<String> },
    #[error("DPoP proof jwk header is unusable: {reason}")]
    Jwk { reason: String },
    #[error("DPoP proof signature does not verify with the key in its jwk header")]
    Signature,
    #[error("DPoP proof htm is {found:?} but the request method is {expected}")]
    Htm {
        found: Option<String>,
        expected: String,
    },
    #[error("DPoP proof htu is {found:?} but the request URL is {expected}")]
    Htu {
        found: Option<String>,
        expected: String,
    },
    #[error("DPoP proof iat is missing or not a number")]
    IatInvalid,
    #[error("DPoP proof iat {iat} is after the server time {now}")]
    IssuedInFuture { iat: u64, now: u64 },
    #[error("DPoP proof iat {iat} is more than 5 minutes before the server time {now}")]
    TooOld { iat: u64, now: u64 },
    #[error("DPoP proof exp {exp} is before the server time {now}")]
    Expired { exp: u64, now: u64 },
    #[error("DPoP proof jti is missing or empty")]
    JtiInvalid,
    #[error("DPoP proof jti {jti:?} was already used; make a new proof for every request")]
    Replayed { jti: String },
    #[error("DPoP proof has no valid nonce; retry with the nonce from the dpop-nonce header")]
    NonceRequired { nonce: String },
    #[error("DPoP proof ath does not match the SHA-256 hash of the access token")]
    Ath,
}

impl DpopError {
    /// Returns the OAuth `error` code.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::NonceRequired { .. } => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }

    /// Returns Okta's `error_description` for this failure.
    pub(crate) fn description(&self) -> &'static str {
        match self {
            Self::Missing => "The DPoP proof JWT header is missing.",
            Self::Multiple { .. } => "Multiple DPoP proof JWT headers are not allowed.",
            Self::Unparsable { .. } => "The DPoP proof JWT cannot be parsed.",
            Self::WrongType { .. } => "'typ' must be 'dpop+jwt' in the DPoP proof JWT.",
            Self::Algorithm { .. } => "The DPoP proof JWT signature algorithm is invalid.",
            Self::Jwk { .. } => "The DPoP proof JWT is invalid.",
            Self::Signature => "The DPoP proof JWT signature is invalid.",
            Self::Htm { .. } => "'htm' claim in the DPoP proof JWT is invalid.",
            Self::Htu { .. } => "'htu' claim in the DPoP proof JWT is invalid.",
            Self::IatInvalid => "'iat' claim in the DPoP proof JWT is invalid.",
            Self::IssuedInFuture { .. } => "The DPoP proof JWT is issued in the future.",
            Self::TooOld { .. } => {
                "The DPoP proof JWT is issued more than five minutes in the past."
            }
            Self::Expired { .. } => "The DPoP proof JWT is expired.",
            Self::JtiInvalid => "'jti' claim in the DPoP proof JWT is invalid.",
            Self::Replayed { .. } => "The DPoP proof JWT has already been used.",
            Self::NonceRequired { .. } => "Authorization server requires nonce in DPoP proof.",
            Self::Ath => "'ath' claim in the DPoP proof does not match the presented access_token.",
        }
    }

    /// Returns the nonce to send in a `dpop-nonce` header, if any.
    pub(crate) fn nonce(&self) -> Option<&str> {
        match self {
            Self::NonceRequired { nonce } => Some(nonce),
            _ => None,
        }
    }
}

/// The request a proof must match.
pub(crate) struct ProofTarget<'a> {
    pub(crate) method: &'a Method,
    /// The request URL without query or fragment.
    pub(crate) url: &'a str,
    /// The access token the proof must hash into `ath`, for API requests.
    pub(crate) access_token: Option<&'a str>,
    /// Whether the proof must carry a current server nonce.
    pub(crate) require_nonce: bool,
}

/// Checks the DPoP header of a request against `target` and returns the
/// proof key's JWK thumbprint (`jkt`).
pub(crate) fn verify(
    state: &AuthState,
    headers: &HeaderMap,
    target: &ProofTarget<'_>,
) -> Result<String, DpopError> {
    let proof = single_proof(headers)?;
    let jws = CompactJws::parse(proof).map_err(|error| DpopError::Unparsable {
        reason: error.to_string(),
    })?;

    let jkt = verify_signature(&jws)?;
    let now = state.now();
    check_request_binding(&jws, target)?;
    check_times(&jws, now)?;
    let jti = jws
        .claim_str("jti")
        .filter(|jti| !jti.is_empty())
        .ok_or(DpopError::JtiInvalid)?;

    if target.require_nonce {
        check_nonce(state, &jws, now)?;
    }
    if let Some(token) = target.access_token {
        check_ath(&jws, token)?;
    }

    let forget_after = now + MAX_PROOF_AGE + Duration::from_secs(1);
    let first_use =
        lock(&state.inner.replay).first_use(JtiKind::DpopProof, &jkt, jti, forget_after, now);
    if !first_use {
        return Err(DpopError::Replayed {
            jti: jti.to_owned(),
        });
    }
    Ok(jkt)
}

/// Returns the current nonce, issuing a new one when the last is 24 hours
/// old.
pub(crate) fn current_nonce(state: &AuthState) -> String {
    lock(&state.inner.nonces).current(state.now())
}

fn single_proof(headers: &HeaderMap) -> Result<&str, DpopError> {
    let values: Vec<_> = headers.get_all("dpop").iter().collect();
    match values[..] {
        [] => Err(DpopError::Missing),
        [value] => value.to_str().map_err(|_| DpopError::Unparsable {
            reason: "the header is not visible ASCII".to_owned(),
        }),
        _ => Err(DpopError::Multiple {
            count: values.len(),
        }),
    }
}

fn verify_signature(jws: &CompactJws) -> Result<String, DpopError> {
    let typ = jws.header_str("typ");
    if typ != Some(PROOF_TYPE) {
        return Err(DpopError::WrongType {
            typ: typ.map(str::to_owned),
        });
    }

    let alg = jws.header_str("alg");
    let algorithm = alg
        .and_then(Algorithm::parse)
        .ok_or_else(|| DpopError::Algorithm {
            alg: alg.map(str::to_owned),
        })?;

    let jwk = jws.header.get("jwk").ok_or_else(|| DpopError::Jwk {
        reason: "the jwk header is missing".to_owned(),
    })?;
    let key = jose::PublicKey::from_jwk(jwk).map_err(|error| DpopError::Jwk {
        reason: error.to_string(),
    })?;

    jws.verify(&key, algorithm).map_err(|error| match error {
        jose::VerifyError::KeyMismatch { .. } => DpopError::Algorithm {
            alg: alg.map(str::to_owned),
        },
        jose::VerifyError::BadSignature => DpopError::Signature,
    })?;

    jose::thumbprint(jwk).map_err(|error| DpopError::Jwk {
        reason: error.to_string(),
    })
}

fn check_request_binding(jws: &CompactJws, target: &ProofTarget<'_>) -> Result<(), DpopError> {
    let htm = jws.claim_str("htm");
    if htm != Some(target.method.as_str()) {
        return Err(DpopError::Htm {
            found: htm.map(str::to_owned),
            expected: target.method.to_string(),
        });
    }

    let htu = jws.claim_str("htu");
    if !htu.is_some_and(|htu| same_resource(htu, target.url)) {
        return Err(DpopError::Htu {
            found: htu.map(str::to_owned),
            expected: target.url.to_owned(),
        });
    }
    Ok(())
}

/// Compares two URLs the way RFC 9449 section 4.3 requires: scheme and host
/// case-insensitively, default ports made explicit, and query and fragment
/// ignored.
fn same_resource(htu: &str, expected: &str) -> bool {
    let (Ok(htu), Ok(expected)) = (url::Url::parse(htu), url::Url::parse(expected)) else {
        return false;
    };
    htu.scheme() == expected.scheme()
        && htu.host() == expected.host()
        && htu.port_or_known_default() == expected.port_or_known_default()
        && htu.path() == expected.path()
}

fn check_times(jws: &CompactJws, now: SystemTime) -> Result<(), DpopError> {
    let now_seconds = unix_seconds(now);
    let Some(NumericClaim::Seconds(iat)) = jws.claim_seconds("iat") else {
        return Err(DpopError::IatInvalid);
    };

    if iat > now_seconds {
        return Err(DpopError::IssuedInFuture {
            iat,
            now: now_seconds,
        });
    }
    if iat + MAX_PROOF_AGE.as_secs() < now_seconds {
        return Err(DpopError::TooOld {
            iat,
            now: now_seconds,
        });
    }

    match jws.claim_seconds("exp") {
        Some(NumericClaim::Seconds(exp)) if exp < now_seconds => Err(DpopError::Expired {
            exp,
            now: now_seconds,
        }),
        Some(NumericClaim::Invalid) => Err(DpopError::Unparsable {
            reason: "exp is not a number".to_owned(),
        }),
        _ => Ok(()),
    }
}

fn check_nonce(state: &AuthState, jws: &CompactJws, now: SystemTime) -> Result<(), DpopError> {
    let mut nonces = lock(&state.inner.nonces);
    let accepted = jws
        .claim_str("nonce")
        .is_some_and(|nonce| nonces.accepts(nonce, now));
    if accepted {
        return Ok(());
    }
    Err(DpopError::NonceRequired {
        nonce: nonces.current(now),
    })
}

fn check_ath(jws: &CompactJws, access_token: &str) -> Result<(), DpopError> {
    let expected = access_token_hash(access_token);
    if jws.claim_str("ath") == Some(expected.as_str()) {
        Ok(())
    } else {
        Err(DpopError::Ath)
    }
}

/// Returns the `ath` value for an access token: the base64url SHA-256 hash
/// of its ASCII bytes.
pub(crate) fn access_token_hash(access_token: &str) -> String {
    jose::base64url(&Sha256::digest(access_token.as_bytes()))
}

/// Nonces issued for DPoP proofs at the token endpoint, newest last.
#[derive(Debug, Default)]
pub(crate) struct NonceBook {
    issued: VecDeque<(String, SystemTime)>,
}

impl NonceBook {
    /// Returns the newest nonce, issuing a new one if there is none or the
    /// newest is older than a day.
    pub(crate) fn current(&mut self, now: SystemTime) -> String {
        self.forget_expired(now);
        match self.issued.back() {
            Some((nonce, issued_at)) if !older_than(*issued_at, now, NONCE_RENEWAL) => {
                nonce.clone()
            }
            _ => {
                let nonce = random_nonce();
                self.issued.push_back((nonce.clone(), now));
                nonce
            }
        }
    }

    /// Returns whether `nonce` was issued here within the last three days.
    fn accepts(&mut self, nonce: &str, now: SystemTime) -> bool {
        self.forget_expired(now);
        self.issued.iter().any(|(issued, _)| issued == nonce)
    }

    fn forget_expired(&mut self, now: SystemTime) {
        while let Some((_, issued_at)) = self.issued.front() {
            if !older_than(*issued_at, now, NONCE_LIFETIME) {
                break;
            }
            self.issued.pop_front();
        }
    }
}

fn older_than(then: SystemTime, now: SystemTime, age: Duration) -> bool {
    now.duration_since(then).is_ok_and(|elapsed| elapsed >= age)
}

fn random_nonce() -> String {
    rand::thread_rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    const DAY: u64 = 24 * 60 * 60;

    #[test]
    fn nonce_is_stable_within_a_day() {
        let mut book = NonceBook::default();

        let first = book.current(at(1_000));
        let later = book.current(at(1_000 + DAY - 1));

        assert_eq!(first, later);
    }

    #[test]
    fn nonce_is_renewed_after_a_day() {
        let mut book = NonceBook::default();

        let first = book.current(at(1_000));
        let renewed = book.current(at(1_000 + DAY));

        assert_ne!(first, renewed);
    }

    #[test]
    fn old_nonce_accepted_for_three_days() {
        let mut book = NonceBook::default();
        let first = book.current(at(1_000));
        book.current(at(1_000 + DAY));

        assert!(book.accepts(&first, at(1_000 + 3 * DAY - 1)));
        assert!(!book.accepts(&first, at(1_000 + 3 * DAY)));
    }

    #[test]
    fn unknown_nonce_rejected() {
        let mut book = NonceBook::default();
        book.current(at(1_000));

        assert!(!book.accepts("not-issued-here", at(1_001)));
    }

    #[test]
    fn htu_ignores_query_and_host_case() {
        assert!(same_resource(
            "http://LOCALHOST:8080/api/v1/users?limit=1#frag",
            "http://localhost:8080/api/v1/users"
        ));
    }

    #[test]
    fn htu_with_other_path_differs() {
        assert!(!same_resource(
            "http://localhost:8080/api/v1/groups",
            "http://localhost:8080/api/v1/users"
        ));
    }

    #[test]
    fn htu_with_default_port_matches() {
        assert!(same_resource(
            "https://example.com:443/x",
            "https://example.com/x"
        ));
    }
}

//! `private_key_jwt` client assertions (RFC 7523), checked as Okta checks
//! them.
//!
//! The client is the one named by the `client_id` form parameter or, without
//! it, by the assertion's `iss`. Then, in this order:
//! - `iss` and `sub` must equal the client id;
//! - the app must authenticate with `private_key_jwt`;
//! - `alg` must be on the allow-list and the key named by `kid` must verify
//!   the signature;
//! - `aud` must be the token endpoint URL;
//! - `exp` must be present, in the future and at most an hour ahead, and
//!   `iat`, if present, must not be in the future;
//! - a `jti`, if present, may be used once.

use std::time::Duration;

use serde_json::Value;

use super::clock::unix_seconds;
use super::jose::{self, Algorithm, CompactJws, NumericClaim, VerifyError};
use super::replay::JtiKind;
use super::{lock, AuthState, ClientRegistration, TokenEndpointAuthMethod};

/// How far ahead of the server time an assertion's `exp` may be.
const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// A rejected client assertion.
///
/// `Display` is the log message; [`AssertionError::description`] is Okta's
/// `error_description`. Every variant is `401 invalid_client`.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub(crate) enum AssertionError {
    #[error("client_assertion is not a compact JWS: {reason}")]
    Unparsable { reason: String },
    #[error("client {client_id:?} is not registered; register it or fix the client id")]
    UnknownClient { client_id: String },
    #[error("iss {iss:?} is not the client id {client_id}; set iss to the client id")]
    Issuer {
        iss: Option<String>,
        client_id: String,
    },
    #[error("sub {sub:?} is not the client id {client_id}; set sub to the client id")]
    Subject {
        sub: Option<String>,
        client_id: String,
    },
    #[error("client {client_id} authenticates with {method:?}, not private_key_jwt; set its client authentication to public key / private key")]
    AuthMethod {
        client_id: String,
        method: TokenEndpointAuthMethod,
    },
    #[error("alg {alg:?} is not allowed for client {client_id}; sign with RS256/384/512 or ES256/384/512 matching the key")]
    Algorithm {
        alg: Option<String>,
        client_id: String,
    },
    #[error("client {client_id} has no JWKs registered; register its public key")]
    NoJwks { client_id: String },
    #[error("kid {kid:?} is not a key of client {client_id}; set kid to a registered key id")]
    Kid {
        kid: Option<String>,
        client_id: String,
    },
    #[error("registered JWK {kid:?} of client {client_id} is unusable: {reason}")]
    Jwks {
        kid: Option<String>,
        client_id: String,
        reason: String,
    },
    #[error("signature does not verify with key {kid:?} of client {client_id}")]
    Signature {
        kid: Option<String>,
        client_id: String,
    },
    #[error("aud is {aud} but must be the token endpoint {expected}")]
    Audience { aud: String, expected: String },
    #[error("exp is missing or not a number; set exp to at most one hour from now")]
    ExpirationRequired,
    #[error("exp {exp} is not after the server time {now}; make a new assertion")]
    Expired { exp: u64, now: u64 },
    #[error("exp {exp} is more than one hour after the server time {now}")]
    ExpiresTooLate { exp: u64, now: u64 },
    #[error("iat {iat} is after the server time {now}; check the client clock")]
    IssuedInFuture { iat: u64, now: u64 },
    #[error("jti {jti:?} of client {client_id} was already used; make a new assertion for every request")]
    Replayed { jti: String, client_id: String },
}

impl AssertionError {
    /// Returns Okta's `error_description` for this failure.
    pub(crate) fn description(&self) -> &'static str {
        match self {
            Self::Unparsable { .. } => "The parsing of the client_assertion failed.",
            Self::UnknownClient { .. } => {
                "Client authentication failed. Either the client or the client credentials are invalid."
            }
            // Okta's catalogue lists this text for a request whose client
            // authentication differs from the app's
            // (`invalid_token_endpoint_auth_method`), the same as for an
            // unknown client.
            Self::AuthMethod { .. } => {
                "Client authentication failed. Either the client or the client credentials are invalid."
            }
            Self::Issuer { .. } => "The issuer claim for client_assertion is not a valid client_id.",
            Self::Subject { .. } => {
                "The subject claim for client_assertion is not a valid client_id."
            }
            Self::Algorithm { .. } => "The client_assertion JWT signature algorithm is invalid.",
            Self::NoJwks { .. } => {
                "The client does not have a JWKSet configured, but the client_assertion requires one."
            }
            Self::Kid { .. } => "The client_assertion JWT kid is invalid.",
            Self::Jwks { .. } => "The client JWKSet is invalid.",
            Self::Signature { .. } => "The client_assertion signature is invalid.",
            Self::Audience { .. } => {
                "The audience claim for client_assertion must be the endpoint invoked for the request."
            }
            Self::ExpirationRequired => {
                "The client_assertion must contain the 'exp' claim as seconds since epoch."
            }
            Self::Expired { .. } => "The client_assertion token is expired.",
            Self::ExpiresTooLate { .. } => {
                "The client_assertion token has an expiration too far into the future."
            }
            Self::IssuedInFuture { .. } => {
                "The client_assertion token must be issued before the current time."
            }
            Self::Replayed { .. } => "The client_assertion token has already been used.",
        }
    }
}

/// Verifies `assertion` and returns the registration of the client it
/// authenticates. `client_id` is the optional `client_id` form parameter.
pub(crate) fn verify(
    state: &AuthState,
    assertion: &str,
    client_id: Option<&str>,
) -> Result<ClientRegistration, AssertionError> {
    let jws = CompactJws::parse(assertion).map_err(|error| AssertionError::Unparsable {
        reason: error.to_string(),
    })?;

    let client = identify_client(state, &jws, client_id)?;
    if client.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
        return Err(AssertionError::AuthMethod {
            client_id: client.client_id,
            method: client.token_endpoint_auth_method,
        });
    }
    verify_signature(&jws, &client)?;
    check_audience(state, &jws)?;
    check_times(state, &jws)?;
    use_jti(state, &jws, &client)?;
    Ok(client)
}

fn identify_client(
    state: &AuthState,
    jws: &CompactJws,
    client_id: Option<&str>,
) -> Result<ClientRegistration, AssertionError> {
    let iss = jws.claim_str("iss");
    let sub = jws.claim_str("sub");
    let Some(named) = client_id.or(iss) else {
        return Err(AssertionError::Issuer {
            iss: None,
            client_id: String::new(),
        });
    };

    let client = state
        .client(named)
        .ok_or_else(|| AssertionError::UnknownClient {
            client_id: named.to_owned(),
        })?;

    if iss != Some(client.client_id.as_str()) {
        return Err(AssertionError::Issuer {
            iss: iss.map(str::to_owned),
            client_id: client.client_id,
        });
    }
    if sub != Some(client.client_id.as_str()) {
        return Err(AssertionError::Subject {
            sub: sub.map(str::to_owned),
            client_id: client.client_id,
        });
    }
    Ok(client)
}

fn verify_signature(jws: &CompactJws, client: &ClientRegistration) -> Result<(), AssertionError> {
    let alg = jws.header_str("alg");
    let algorithm = alg
        .and_then(Algorithm::parse)
        .ok_or_else(|| AssertionError::Algorithm {
            alg: alg.map(str::to_owned),
            client_id: client.client_id.clone(),
        })?;

    let kid = jws.header_str("kid");
    let jwk = select_key(client, kid)?;
    let key = jose::PublicKey::from_jwk(jwk).map_err(|error| AssertionError::Jwks {
        kid: kid.map(str::to_owned),
        client_id: client.client_id.clone(),
        reason: error.to_string(),
    })?;

    jws.verify(&key, algorithm).map_err(|error| match error {
        VerifyError::KeyMismatch { .. } => AssertionError::Algorithm {
            alg: alg.map(str::to_owned),
            client_id: client.client_id.clone(),
        },
        VerifyError::BadSignature => AssertionError::Signature {
            kid: kid.map(str::to_owned),
            client_id: client.client_id.clone(),
        },
    })
}

/// Returns the JWK named by `kid`, or the only JWK when `kid` is absent.
fn select_key<'a>(
    client: &'a ClientRegistration,
    kid: Option<&str>,
) -> Result<&'a Value, AssertionError> {
    if client.jwks.is_empty() {
        return Err(AssertionError::NoJwks {
            client_id: client.client_id.clone(),
        });
    }

    let found = match kid {
        Some(kid) => client
            .jwks
            .iter()
            .find(|jwk| jwk.get("kid").and_then(Value::as_str) == Some(kid)),
        None if client.jwks.len() == 1 => client.jwks.first(),
        None => None,
    };
    found.ok_or_else(|| AssertionError::Kid {
        kid: kid.map(str::to_owned),
        client_id: client.client_id.clone(),
    })
}

/// Accepts `aud` as the token URL or as an array that contains it.
fn check_audience(state: &AuthState, jws: &CompactJws) -> Result<(), AssertionError> {
    let expected = state.token_url();
    let accepted = match jws.claims.get("aud") {
        Some(Value::String(aud)) => *aud == expected,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(&expected)),
        _ => false,
    };
    if accepted {
        return Ok(());
    }
    Err(AssertionError::Audience {
        aud: jws
            .claims
            .get("aud")
            .map_or_else(|| "missing".to_owned(), Value::to_string),
        expected,
    })
}

fn check_times(state: &AuthState, jws: &CompactJws) -> Result<(), AssertionError> {
    let now = unix_seconds(state.now());

    let Some(NumericClaim::Seconds(exp)) = jws.claim_seconds("exp") else {
        return Err(AssertionError::ExpirationRequired);
    };
    if exp <= now {
        return Err(AssertionError::Expired { exp, now });
    }
    if exp > now + MAX_ASSERTION_LIFETIME.as_secs() {
        return Err(AssertionError::ExpiresTooLate { exp, now });
    }

    match jws.claim_seconds("iat") {
        Some(NumericClaim::Seconds(iat)) if iat > now => {
            Err(AssertionError::IssuedInFuture { iat, now })
        }
        Some(NumericClaim::Invalid) => Err(AssertionError::Unparsable {
            reason: "iat is not a number".to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Records the assertion's `jti`. The id is remembered until the assertion
/// expires, after which the `exp` check rejects it anyway.
fn use_jti(
    state: &AuthState,
    jws: &CompactJws,
    client: &ClientRegistration,
) -> Result<(), AssertionError> {
    let Some(jti) = jws.claims.get("jti") else {
        return Ok(());
    };
    let Some(jti) = jti.as_str() else {
        return Err(AssertionError::Unparsable {
            reason: "jti is not a string".to_owned(),
        });
    };

    let now = state.now();
    let forget_after = now + MAX_ASSERTION_LIFETIME;
    let first_use = lock(&state.inner.replay).first_use(
        JtiKind::ClientAssertion,
        &client.client_id,
        jti,
        forget_after,
        now,
    );
    if first_use {
        Ok(())
    } else {
        Err(AssertionError::Replayed {
            jti: jti.to_owned(),
            client_id: client.client_id.clone(),
        })
    }
}

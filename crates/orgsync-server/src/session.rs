//! Sign-in for the web UI: the admin credentials, sessions and CSRF tokens.
//!
//! An admin signs in with the admin password (kept only as an Argon2 hash)
//! or the admin token. Signing in creates a *session*: a random id in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` when `backend.baseUrl` is
//! https) that expires after [`SESSION_LIFETIME`]. Each session has a
//! random *CSRF token* that every form of a signed-in page carries and
//! every POST must send back. The sign-in form itself is protected by a
//! separate double-submit token: a cookie and a form field that must match.
//!
//! NOTE: sessions live in this process's memory, so a restart signs
//! everyone out, and behind a load balancer each replica needs sticky
//! sessions.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::auth::Token;

/// The cookie that carries the session id.
pub const SESSION_COOKIE: &str = "orgsync_session";
/// The cookie that carries the sign-in form's CSRF token.
pub const SIGN_IN_COOKIE: &str = "orgsync_sign_in";
/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// How long the sign-in form may be open before it is submitted.
const SIGN_IN_FORM_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// The maximum number of sessions kept at once. Signing in beyond it ends
/// the session closest to expiry, so a flood of sign-ins cannot exhaust
/// memory.
const MAX_SESSIONS: usize = 10_000;

/// The environment variable with the admin password, or its Argon2 hash.
pub const ADMIN_PASSWORD_VAR: &str = "ORGSYNC_ADMIN_PASSWORD";

/// An error in the admin password setting.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The value looks like an Argon2 PHC string but does not parse.
    #[error(
        "the admin password hash is not a valid Argon2 PHC string ({reason}); write a hash \
         such as the output of the argon2 command (it starts with $argon2id$), or the password"
    )]
    InvalidHash { reason: String },
    /// The password is empty.
    #[error("the admin password is empty; set a password or remove the setting")]
    Empty,
    /// Hashing failed.
    #[error("hashing the admin password failed: {reason}")]
    Hashing { reason: String },
}

/// The admin password as an Argon2 PHC string. `Debug` never shows it.
#[derive(Clone)]
pub struct AdminPassword {
    hash: String,
}

impl fmt::Debug for AdminPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminPassword(***)")
    }
}

impl AdminPassword {
    /// Reads a password setting: an Argon2 PHC string (`$argon2id$…`) is
    /// used as it is, anything else is a password and is hashed now, so
    /// that only the hash stays in memory.
    pub fn from_setting(text: &str) -> Result<AdminPassword, PasswordError> {
        if text.is_empty() {
            return Err(PasswordError::Empty);
        }
        if text.starts_with("$argon2") {
            PasswordHash::new(text).map_err(|error| PasswordError::InvalidHash {
                reason: error.to_string(),
            })?;
            return Ok(AdminPassword {
                hash: text.to_string(),
            });
        }
        let hash = Argon2::default()
            .hash_password(text.as_bytes())
            .map_err(|error| PasswordError::Hashing {
                reason: error.to_string(),
            })?;
        Ok(AdminPassword {
            hash: hash.to_string(),
        })
    }

    /// Checks `candidate` against the hash.
    pub fn verify(&self, candidate: &str) -> bool {
        Argon2::default()
            .verify_password(candidate.as_bytes(), self.hash.as_str())
            .is_ok()
    }
}

/// The credentials an admin may sign in with.
#[derive(Debug, Clone, Default)]
pub struct AdminCredentials {
    pub password: Option<AdminPassword>,
    pub token: Option<Token>,
}

impl AdminCredentials {
    /// Returns whether any admin credential is set. Without one, sign-in is
    /// disabled.
    pub fn is_enabled(&self) -> bool {
        self.password.is_some() || self.token.is_some()
    }

    /// Checks a secret typed into the sign-in form: the admin password or
    /// the admin token.
    pub fn verify(&self, candidate: &str) -> bool {
        if candidate.is_empty() {
            return false;
        }
        let token_matches = self
            .token
            .as_ref()
            .is_some_and(|token| token.matches(candidate.trim()));
        let password_matches = self
            .password
            .as_ref()
            .is_some_and(|password| password.verify(candidate));
        token_matches || password_matches
    }
}

/// A signed-in admin's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token every form of the session carries.
    pub csrf_token: String,
    expires_at: Instant,
}

/// The sessions of this process.
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
    lifetime: Duration,
    /// Whether cookies get `Secure`, because people reach orgsync over https.
    secure_cookies: bool,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("lifetime", &self.lifetime)
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Creates an empty set of sessions.
    pub fn new(lifetime: Duration, secure_cookies: bool) -> Sessions {
        Sessions {
            sessions: Mutex::new(HashMap::new()),
            lifetime,
            secure_cookies,
        }
    }

    /// Starts a session and returns its id.
    pub fn start(&self) -> (String, Session) {
        let id = random_token();
        let session = Session {
            csrf_token: random_token(),
            expires_at: Instant::now() + self.lifetime,
        };
        let mut sessions = self.lock();
        let now = Instant::now();
        sessions.retain(|_, session| session.expires_at > now);
        if sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, session)| session.expires_at)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
                tracing::warn!(max = MAX_SESSIONS, "too many sessions; ended the oldest");
            }
        }
        sessions.insert(id.clone(), session.clone());
        (id, session)
    }

    /// Returns the live session of a request, from its session cookie.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut sessions = self.lock();
        let session = sessions.get(&id)?;
        if session.expires_at <= Instant::now() {
            sessions.remove(&id);
            return None;
        }
        Some(session.clone())
    }

    /// Ends the session of a request, if it has one.
    pub fn end(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers, SESSION_COOKIE) {
            self.lock().remove(&id);
        }
    }

    /// Returns the `Set-Cookie` value that stores a session id.
    pub fn session_cookie(&self, id: &str) -> HeaderValue {
        self.cookie_header(SESSION_COOKIE, id, self.lifetime)
    }

    /// Returns the `Set-Cookie` value that removes the session cookie.
    pub fn expired_session_cookie(&self) -> HeaderValue {
        self.cookie_header(SESSION_COOKIE, "", Duration::ZERO)
    }

    /// Returns a new sign-in form token and the `Set-Cookie` value that
    /// carries it.
    pub fn sign_in_token(&self) -> (String, HeaderValue) {
        let token = random_token();
        let header = self.cookie_header(SIGN_IN_COOKIE, &token, SIGN_IN_FORM_LIFETIME);
        (token, header)
    }

    fn cookie_header(&self, name: &str, value: &str, max_age: Duration) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let text = format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            max_age.as_secs()
        );
        // Names and values are ASCII: constants and base64url tokens.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Returns whether the sign-in form's token matches its cookie.
pub fn sign_in_token_matches(headers: &HeaderMap, form_token: &str) -> bool {
    cookie(headers, SIGN_IN_COOKIE).is_some_and(|cookie| tokens_equal(&cookie, form_token))
}

/// Returns whether a form's CSRF token is the session's.
pub fn csrf_matches(session: &Session, form_token: &str) -> bool {
    tokens_equal(&session.csrf_token, form_token)
}

/// Returns whether a form's CSRF token equals the session's token
/// `expected`, compared in constant time.
pub fn csrf_matches_token(expected: &str, form_token: &str) -> bool {
    tokens_equal(expected, form_token)
}

fn tokens_equal(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// 32 random bytes in base64url: session ids and CSRF tokens.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads a cookie's value from the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// Adds a `Set-Cookie` header to a response's headers.
pub fn set_cookie(headers: &mut HeaderMap, value: HeaderValue) {
    headers.append(SET_COOKIE, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(text: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(text).unwrap());
        headers
    }

    #[test]
    fn plain_password_is_hashed_and_verified() {
        let password = AdminPassword::from_setting("correct horse").unwrap();
        assert!(password.hash.starts_with("$argon2id$"));
        assert!(!password.hash.contains("correct horse"));
        assert!(password.verify("correct horse"));
        assert!(!password.verify("wrong horse"));
    }

    #[test]
    fn argon2_hash_is_taken_as_is() {
        let hashed = AdminPassword::from_setting("s3cret").unwrap();
        let again = AdminPassword::from_setting(&hashed.hash).unwrap();
        assert!(again.verify("s3cret"));
    }

    #[test]
    fn broken_hash_is_rejected() {
        let result = AdminPassword::from_setting("$argon2id$v=19$garbage");
        assert!(matches!(result, Err(PasswordError::InvalidHash { .. })));
    }

    #[test]
    fn password_debug_is_redacted() {
        let password = AdminPassword::from_setting("s3cret").unwrap();
        assert_eq!(format!("{password:?}"), "AdminPassword(***)");
    }

    #[test]
    fn token_or_password_signs_in() {
        let credentials = AdminCredentials {
            password: Some(AdminPassword::from_setting("pw").unwrap()),
            token: Token::new("admin-token"),
        };
        assert!(credentials.verify("pw"));
        assert!(credentials.verify("admin-token"));
        assert!(!credentials.verify("admin"));
        assert!(!credentials.verify(""));
    }

    #[test]
    fn sign_in_needs_credentials() {
        let credentials = AdminCredentials::default();
        assert!(!credentials.is_enabled());
        assert!(!credentials.verify("anything"));
    }

    #[test]
    fn session_is_found_by_cookie() {
        let sessions = Sessions::new(SESSION_LIFETIME, false);
        let (id, session) = sessions.start();
        let headers = with_cookie(&format!("other=1; {SESSION_COOKIE}={id}"));
        let found = sessions.find(&headers).unwrap();
        assert_eq!(found.csrf_token, session.csrf_token);
    }

    #[test]
    fn ended_session_is_gone() {
        let sessions = Sessions::new(SESSION_LIFETIME, false);
        let (id, _) = sessions.start();
        let headers = with_cookie(&format!("{SESSION_COOKIE}={id}"));
        sessions.end(&headers);
        assert!(sessions.find(&headers).is_none());
    }

    #[test]
    fn expired_session_is_gone() {
        let sessions = Sessions::new(Duration::ZERO, false);
        let (id, _) = sessions.start();
        let headers = with_cookie(&format!("{SESSION_COOKIE}={id}"));
        assert!(sessions.find(&headers).is_none());
    }

    #[test]
    fn unknown_session_id_is_rejected() {
        let sessions = Sessions::new(SESSION_LIFETIME, false);
        sessions.start();
        let headers = with_cookie(&format!("{SESSION_COOKIE}=forged"));
        assert!(sessions.find(&headers).is_none());
    }

    #[test]
    fn session_cookie_is_http_only_and_strict() {
        let sessions = Sessions::new(SESSION_LIFETIME, true);
        let cookie = sessions.session_cookie("abc");
        let text = cookie.to_str().unwrap();
        assert!(text.contains("HttpOnly"), "{text}");
        assert!(text.contains("SameSite=Strict"), "{text}");
        assert!(text.contains("Secure"), "{text}");
        assert!(text.contains("Max-Age=28800"), "{text}");
    }

    #[test]
    fn plain_http_cookie_is_not_secure() {
        let sessions = Sessions::new(SESSION_LIFETIME, false);
        let text = sessions.session_cookie("abc").to_str().unwrap().to_string();
        assert!(!text.contains("Secure"), "{text}");
    }

    #[test]
    fn csrf_token_must_match() {
        let sessions = Sessions::new(SESSION_LIFETIME, false);
        let (_, session) = sessions.start();
        assert!(csrf_matches(&session, &session.csrf_token.clone()));
        assert!(!csrf_matches(&session, "forged"));
        assert!(!csrf_matches(&session, ""));
    }

    #[test]
    fn sign_in_token_must_match_cookie() {
        let sessions = Sessions::new(SESSION_LIFETIME, false);
        let (token, _) = sessions.sign_in_token();
        let headers = with_cookie(&format!("{SIGN_IN_COOKIE}={token}"));
        assert!(sign_in_token_matches(&headers, &token));
        assert!(!sign_in_token_matches(&headers, "other"));
        assert!(!sign_in_token_matches(&HeaderMap::new(), &token));
    }

    #[test]
    fn session_ids_are_random() {
        let sessions = Sessions::new(SESSION_LIFETIME, false);
        let (first, _) = sessions.start();
        let (second, _) = sessions.start();
        assert_ne!(first, second);
        assert_eq!(first.len(), 43);
    }
}

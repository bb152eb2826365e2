//! orgsync-okta: reads users, groups and group memberships from an Okta org.
//!
//! The client signs in with OAuth 2.0 client credentials and a signed
//! `private_key_jwt` assertion (or an SSWS API token), follows Okta's `Link`
//! paging, keeps within a configured share of each rate-limit bucket, and
//! retries 429 and 5xx responses and network failures with backoff.
//!
//! Modules:
//! - [`key`]: parsing private keys from PEM and JWK text.
//! - [`credentials`]: client credentials and API tokens.
//! - [`config`]: client settings and their defaults.

pub mod config;
pub mod credentials;
pub mod key;

pub use config::ClientConfig;
pub use credentials::{ApiToken, Credentials};
pub use key::{KeyError, PrivateKey, SigningAlgorithm};

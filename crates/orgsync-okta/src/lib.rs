//! orgsync-okta: reads users, groups and group memberships from an Okta org.
//!
//! The client signs in with OAuth 2.0 client credentials and a signed
//! `private_key_jwt` assertion (or an SSWS API token), follows Okta's `Link`
//! paging, keeps within a configured share of each rate-limit bucket, and
//! retries 429 and 5xx responses and network failures with backoff.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use orgsync_okta::{ClientConfig, Credentials, OktaClient, PrivateKey};
//!
//! let key = PrivateKey::parse(&std::fs::read_to_string("okta-private-key.pem")?)?;
//! let credentials = Credentials::PrivateKey {
//!     client_id: "0oa1example".to_owned(),
//!     key,
//!     key_id: Some("my-key-id".to_owned()),
//! };
//! let config = ClientConfig::new("https://example.okta.com".parse()?, credentials);
//! let client = OktaClient::new(config)?;
//! let users = client.list_users(Some(r#"status eq "ACTIVE""#)).await?;
//! println!("{} users in {} requests", users.len(), client.stats().api_calls);
//! # Ok(())
//! # }
//! ```
//!
//! Modules:
//! - [`key`]: parsing private keys from PEM and JWK text.
//! - [`credentials`]: client credentials and API tokens.
//! - [`config`]: client settings and their defaults.
//! - [`error`]: errors and the advice their messages give.
//! - [`observer`]: endpoints and progress hooks.
//! - [`stats`]: counters of requests, retries and waits.
//! - `client`: [`OktaClient`] and its listings.
//! - `request`: the request loop (budget, concurrency, retries).
//! - `token`: access tokens and their cache.
//! - `assertion`: signed client assertions.
//! - `budget`: the rate-limit budget.
//! - `paging`: `Link` headers and paging checks.
//! - `probe`: single requests and group member counts for diagnostics.
//! - `retry`: backoff timing.

mod assertion;
mod budget;
mod client;
pub mod config;
pub mod credentials;
pub mod error;
pub mod key;
pub mod observer;
mod paging;
mod probe;
mod request;
mod retry;
pub mod stats;
mod token;

pub use client::{OktaClient, GROUPS_PAGE_SIZE, MEMBERS_PAGE_SIZE, USERS_PAGE_SIZE};
pub use config::ClientConfig;
pub use credentials::{ApiToken, Credentials};
pub use error::{AuthMethod, ErrorBody, OAuthErrorBody, OktaError, OktaErrorBody, TransportKind};
pub use key::{KeyError, PrivateKey, SigningAlgorithm};
pub use observer::{ClientObserver, Endpoint};
pub use probe::{ApiResponse, GroupWithStats, RateLimit};
pub use stats::ClientStats;
pub use token::TokenInfo;

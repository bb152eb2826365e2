//! Settings of an Okta client and their defaults.

use std::time::Duration;

use url::Url;

use crate::credentials::Credentials;

/// The scopes orgsync requests by default: read access to users and groups.
pub const DEFAULT_SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

/// Default share of each rate-limit bucket: Okta's default for one OAuth app.
pub const DEFAULT_RATE_LIMIT_SHARE: f64 = 0.5;

/// Default number of retries after the first attempt of a request.
pub const DEFAULT_MAX_RETRIES: u32 = 6;

/// Default timeout of one HTTP request, body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Default number of requests in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Settings of an Okta client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The org URL, e.g. `https://example.okta.com`. `http` is accepted here;
    /// the config loader allows it only for loopback addresses.
    pub base_url: Url,
    /// How to sign in.
    pub credentials: Credentials,
    /// OAuth scopes to request; ignored for API tokens.
    pub scopes: Vec<String>,
    /// The share (0, 1] of any rate-limit bucket this client may use.
    pub rate_limit_share: f64,
    /// Retries after the first attempt of a request (429, 5xx, network errors).
    pub max_retries: u32,
    /// Timeout of one HTTP request, reading the body included.
    pub request_timeout: Duration,
    /// Requests in flight at once, at most.
    pub concurrency: usize,
    /// The `User-Agent` header value.
    pub user_agent: String,
}

impl ClientConfig {
    /// Creates a config with the default scopes, limits and timeouts.
    pub fn new(base_url: Url, credentials: Credentials) -> ClientConfig {
        ClientConfig {
            base_url,
            credentials,
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            rate_limit_share: DEFAULT_RATE_LIMIT_SHARE,
            max_retries: DEFAULT_MAX_RETRIES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
            user_agent: default_user_agent(),
        }
    }
}

/// `orgsync/<version>`, so Okta's system log shows which tool called.
pub fn default_user_agent() -> String {
    format!("orgsync/{}", env!("CARGO_PKG_VERSION"))
}

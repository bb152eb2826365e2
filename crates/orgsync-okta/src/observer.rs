//! Progress reporting: the endpoints the client calls and the
//! [`ClientObserver`] hooks that the sync engine uses to show progress.

use std::fmt;
use std::time::Duration;

/// An Okta endpoint the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `GET /api/v1/users`
    Users,
    /// `GET /api/v1/groups`
    Groups,
    /// `GET /api/v1/groups/{id}/users`
    GroupMembers,
    /// `POST /oauth2/v1/token`
    Token,
    /// `GET /.well-known/okta-organization`
    Organization,
}

impl Endpoint {
    /// Method and path template, e.g. `GET /api/v1/groups/{id}/users`.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Users => "GET /api/v1/users",
            Endpoint::Groups => "GET /api/v1/groups",
            Endpoint::GroupMembers => "GET /api/v1/groups/{id}/users",
            Endpoint::Token => "POST /oauth2/v1/token",
            Endpoint::Organization => "GET /.well-known/okta-organization",
        }
    }

    /// The HTTP method.
    pub(crate) fn method(self) -> reqwest::Method {
        match self {
            Endpoint::Token => reqwest::Method::POST,
            _ => reqwest::Method::GET,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hooks called as the client works. All methods default to doing nothing;
/// they run on the request's task, so they must return quickly.
pub trait ClientObserver: Send + Sync {
    /// Reports that a page of `items` records arrived from `endpoint`.
    fn page_fetched(&self, endpoint: Endpoint, items: usize) {
        let _ = (endpoint, items);
    }

    /// Reports that the client waits `wait` for the rate-limit window of `bucket` (a path
    /// template such as `/api/v1/users`) to reset before sending more.
    fn rate_limit_wait(&self, bucket: &str, wait: Duration) {
        let _ = (bucket, wait);
    }

    /// Reports the outcome of one request to `endpoint` (every attempt
    /// counts): its HTTP status, or `None` when no complete response
    /// arrived (connection error, timeout).
    fn response(&self, endpoint: Endpoint, status: Option<u16>) {
        let _ = (endpoint, status);
    }

    /// Reports that retry number `attempt` (1 for the first retry) of a
    /// request to `endpoint` starts after `wait`, because of `reason`.
    fn retrying(&self, endpoint: Endpoint, attempt: u32, reason: &str, wait: Duration) {
        let _ = (endpoint, attempt, reason, wait);
    }
}

/// The observer used when none is set.
pub(crate) struct NoObserver;

impl ClientObserver for NoObserver {}

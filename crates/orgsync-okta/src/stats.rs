//! Counters of what a client did: requests by endpoint and status, retries,
//! rate-limit waits and token requests.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::observer::Endpoint;

/// A snapshot of a client's counters since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent, every attempt counted, token requests included.
    pub api_calls: u64,
    /// Requests sent per endpoint, keyed by [`Endpoint::as_str`].
    pub calls_by_endpoint: BTreeMap<String, u64>,
    /// Responses received per HTTP status code.
    pub calls_by_status: BTreeMap<u16, u64>,
    /// Requests that got no complete response (connection errors,
    /// timeouts, truncated bodies).
    pub transport_errors: u64,
    /// Attempts after the first one of a request.
    pub retries: u64,
    /// Times the client paused until a rate-limit window reset, either to
    /// stay within its share or after a 429.
    pub rate_limit_waits: u64,
    /// Total length of those pauses. Waits of concurrent requests for the
    /// same window count once.
    pub rate_limit_wait_time: Duration,
    /// Token requests sent, retries included.
    pub token_requests: u64,
}

/// Thread-safe counters behind [`ClientStats`].
#[derive(Debug, Default)]
pub(crate) struct StatsRecorder {
    stats: Mutex<ClientStats>,
}

impl StatsRecorder {
    pub(crate) fn snapshot(&self) -> ClientStats {
        self.with(|stats| stats.clone())
    }

    pub(crate) fn request_sent(&self, endpoint: Endpoint) {
        self.with(|stats| {
            stats.api_calls += 1;
            *stats
                .calls_by_endpoint
                .entry(endpoint.as_str().to_owned())
                .or_default() += 1;
            if endpoint == Endpoint::Token {
                stats.token_requests += 1;
            }
        });
    }

    pub(crate) fn response(&self, status: u16) {
        self.with(|stats| *stats.calls_by_status.entry(status).or_default() += 1);
    }

    pub(crate) fn transport_error(&self) {
        self.with(|stats| stats.transport_errors += 1);
    }

    pub(crate) fn retry(&self) {
        self.with(|stats| stats.retries += 1);
    }

    pub(crate) fn rate_limit_wait(&self, wait: Duration) {
        self.with(|stats| {
            stats.rate_limit_waits += 1;
            stats.rate_limit_wait_time += wait;
        });
    }

    fn with<T>(&self, f: impl FnOnce(&mut ClientStats) -> T) -> T {
        // A panic while holding this lock cannot leave the counters in a
        // state worse than slightly off, so a poisoned lock is still used.
        let mut guard = match self.stats.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_request_counts_as_call() {
        let recorder = StatsRecorder::default();
        recorder.request_sent(Endpoint::Token);
        recorder.request_sent(Endpoint::Users);
        let stats = recorder.snapshot();
        assert_eq!(stats.api_calls, 2);
        assert_eq!(stats.token_requests, 1);
        assert_eq!(stats.calls_by_endpoint.get("GET /api/v1/users"), Some(&1));
    }
}

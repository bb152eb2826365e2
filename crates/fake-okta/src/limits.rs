//! Okta's per-minute rate limits and its concurrency limit.
//!
//! Terms:
//! - A *bucket* is a family of endpoints that shares one counter, such as
//!   "create or list users". [`Bucket::classify`] maps a method and path to
//!   its bucket the way Okta's published Workforce table does.
//! - A *window* is a fixed period (one minute in Okta) that starts with the
//!   first request to a bucket after the previous window ended. The number of
//!   requests a bucket allows per window is its *limit*. When the window ends,
//!   the counter starts again from zero.
//! - The *concurrency limit* caps the requests being processed at once,
//!   across all limited buckets.
//!
//! Every response from a limited bucket carries `X-Rate-Limit-Limit`,
//! `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset` (UTC epoch seconds when
//! the window ends), errors and 429s included. A request over a bucket's
//! limit gets `429` with error code `E0000047` and no `Retry-After`, as Okta
//! sends. A request over the concurrency limit gets the same 429, but with
//! `0` as both limit and remaining and an estimated reset one second ahead.
//! Okta's rate-limit monitoring page documents the two zeros for concurrency
//! errors, and Okta's Python SDK (3.4.6) detects them that way.
//!
//! NOTE: Okta also gives each OAuth client a share of every bucket (half, by
//! default). The fake counts per org only, so one client can use a whole
//! bucket here.
//!
//! Apply [`layer`] outside [`crate::faults::layer`], so that injected faults
//! use up the limits like real requests and injected 429s get real headers.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::auth::{Clock, SystemClock};
use crate::errors::api_error;

/// Okta's error code for a request over a rate or concurrency limit.
pub const RATE_LIMIT_ERROR_CODE: &str = "E0000047";

/// Okta's `errorSummary` for [`RATE_LIMIT_ERROR_CODE`].
pub const RATE_LIMIT_ERROR_SUMMARY: &str = "API call exceeded rate limit due to too many requests.";

/// Header with the limit that applies to the request.
pub const LIMIT_HEADER: &str = "x-rate-limit-limit";
/// Header with the requests left in the current window.
pub const REMAINING_HEADER: &str = "x-rate-limit-remaining";
/// Header with the UTC epoch second at which the current window ends.
pub const RESET_HEADER: &str = "x-rate-limit-reset";

/// A family of endpoints that shares one rate-limit counter.
///
/// The families follow Okta's published Management API limits for Workforce
/// orgs and the buckets seen in recorded Okta responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Bucket {
    /// `/api/v1/users`, writes to `/api/v1/users/{id}`, and every path below
    /// `/api/v1/users/{id}/` (such as `/groups`).
    Users,
    /// `GET /api/v1/users/{idOrLogin}`.
    UserById,
    /// `/api/v1/groups` and every path below `/api/v1/groups/{id}/` (such as
    /// `/users`).
    Groups,
    /// `/api/v1/groups/{id}` only.
    GroupById,
    /// `/oauth2/v1/token`, the org authorization server's token endpoint.
    Token,
    /// Every other path under `/api/v1/`.
    Api,
    /// Paths that are never limited: `/.well-known/`, `/_fake/` and others.
    Other,
}

impl Bucket {
    /// Every bucket that can carry a limit.
    pub const LIMITED: [Bucket; 6] = [
        Bucket::Users,
        Bucket::UserById,
        Bucket::Groups,
        Bucket::GroupById,
        Bucket::Token,
        Bucket::Api,
    ];

    /// Classifies a request by method and path, as Okta's buckets do.
    ///
    /// NOTE: Okta counts `POST`, `PUT` and `DELETE` on `/api/v1/users/{id}` in
    /// a bucket of their own (600 per minute, like [`Bucket::Users`]). The
    /// fake folds them into [`Bucket::Users`] because orgsync only reads.
    pub fn classify(method: &Method, path: &str) -> Bucket {
        let path = path.trim_end_matches('/');
        if let Some(rest) = path.strip_prefix("/api/v1/") {
            return Self::classify_api(method, rest);
        }
        if path == "/oauth2/v1/token" {
            return Bucket::Token;
        }
        Bucket::Other
    }

    fn classify_api(method: &Method, rest: &str) -> Bucket {
        let segments: Vec<&str> = rest.split('/').collect();
        match segments.as_slice() {
            ["users"] => Bucket::Users,
            ["users", _] if method == Method::GET || method == Method::HEAD => Bucket::UserById,
            ["users", ..] => Bucket::Users,
            ["groups", _] => Bucket::GroupById,
            ["groups", ..] => Bucket::Groups,
            _ => Bucket::Api,
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Bucket::Users => "/api/v1/users",
            Bucket::UserById => "GET /api/v1/users/{idOrLogin}",
            Bucket::Groups => "/api/v1/groups",
            Bucket::GroupById => "/api/v1/groups/{id}",
            Bucket::Token => "/oauth2/v1/token",
            Bucket::Api => "/api/v1",
            Bucket::Other => "unlimited",
        };
        f.write_str(name)
    }
}

/// Rate-limit settings of a fake org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Whether limits apply at all. When false, no request is rejected and no
    /// rate-limit header is sent.
    pub enabled: bool,
    /// Requests each bucket allows per window (per minute with the default
    /// window). A bucket missing from the map is unlimited and gets no
    /// headers. `0` rejects every request to the bucket.
    pub per_minute: BTreeMap<Bucket, u32>,
    /// Maximum requests to limited buckets processed at once.
    pub concurrency: u32,
    /// Length of a window: 60 s in Okta, shorter in tests.
    #[serde(rename = "windowMs", with = "duration_ms")]
    pub window: Duration,
}

impl RateLimitConfig {
    /// Okta's default limits for a Workforce Identity org.
    ///
    /// Source: the Workforce Identity columns of Okta's developer reference
    /// pages "Management rate limits" (users 600, user by id 2000, groups
    /// 500, group by id 1000, most other `/api/v1` actions 1200),
    /// "Authentication/End-user rate limits" (2000 for the org authorization
    /// server's `/oauth2/v1`) and "Additional rate limits" (75 requests at
    /// once).
    pub fn workforce() -> Self {
        let per_minute = BTreeMap::from([
            (Bucket::Users, 600),
            (Bucket::UserById, 2000),
            (Bucket::Groups, 500),
            (Bucket::GroupById, 1000),
            (Bucket::Token, 2000),
            (Bucket::Api, 1200),
        ]);
        RateLimitConfig {
            enabled: true,
            per_minute,
            concurrency: 75,
            window: Duration::from_secs(60),
        }
    }

    /// No limits and no rate-limit headers.
    pub fn unlimited() -> Self {
        RateLimitConfig {
            enabled: false,
            ..Self::workforce()
        }
    }

    /// Returns the same limits with every bucket set to `limit` per window.
    pub fn with_all_buckets(mut self, limit: u32) -> Self {
        for bucket in Bucket::LIMITED {
            self.per_minute.insert(bucket, limit);
        }
        self
    }

    /// Checks the settings, so that a bad value is reported when it is set
    /// rather than as odd behavior later.
    pub fn validate(&self) -> Result<(), RateLimitConfigError> {
        if self.window.is_zero() {
            return Err(RateLimitConfigError::ZeroWindow);
        }
        if self.enabled && self.concurrency == 0 {
            return Err(RateLimitConfigError::ZeroConcurrency);
        }
        if let Some(limit) = self.per_minute.get(&Bucket::Other) {
            return Err(RateLimitConfigError::OtherBucketLimited { limit: *limit });
        }
        Ok(())
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self::workforce()
    }
}

/// A rate-limit setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitConfigError {
    /// The window has no length, so every window would end before it began.
    #[error("rate-limit window is 0 ms; set windowMs to a positive value such as 60000")]
    ZeroWindow,
    /// A concurrency limit of zero would reject every request.
    #[error(
        "rate-limit concurrency is 0, which rejects every request; \
         set it to at least 1 (Okta uses 75), or set enabled to false"
    )]
    ZeroConcurrency,
    /// The unlimited bucket was given a limit.
    #[error(
        "rate limit {limit} was set for bucket \"other\", which is never limited; \
         remove it from perMinute"
    )]
    OtherBucketLimited {
        /// The limit that was set.
        limit: u32,
    },
}

/// Usage of one bucket in its current window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketUsage {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests admitted in the current window.
    pub used: u32,
    /// Requests left in the current window.
    pub remaining: u32,
    /// UTC epoch second at which the current window ends, or `None` when no
    /// window is open.
    pub reset: Option<u64>,
    /// Requests rejected with 429 because the bucket was used up, since the
    /// last reset.
    pub rejected: u64,
}

/// Usage of every limited bucket and of the concurrency limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitSnapshot {
    /// Whether limits apply.
    pub enabled: bool,
    /// Usage per limited bucket.
    pub buckets: BTreeMap<Bucket, BucketUsage>,
    /// Requests being processed now.
    pub in_flight: u32,
    /// Requests rejected because of the concurrency limit, since the last
    /// reset.
    pub concurrency_rejected: u64,
}

/// The rate-limit counters of a fake org, shared by all requests.
///
/// Cloning it gives another handle to the same counters.
#[derive(Clone)]
pub struct LimitState {
    shared: Arc<Shared>,
}

struct Shared {
    clock: Arc<dyn Clock>,
    counters: Mutex<Counters>,
}

#[derive(Default)]
struct Counters {
    config: RateLimitConfig,
    windows: BTreeMap<Bucket, Window>,
    rejected: BTreeMap<Bucket, u64>,
    in_flight: u32,
    concurrency_rejected: u64,
}

/// One open window of one bucket.
#[derive(Debug, Clone, Copy)]
struct Window {
    ends_at: SystemTime,
    used: u32,
}

/// The rate-limit headers for one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RateHeaders {
    limit: u32,
    remaining: u32,
    reset: u64,
}

/// The limiter's decision on one request.
enum Admission {
    /// Not limited: no headers, no counting.
    Unlimited,
    /// Admitted: the guard frees the concurrency slot when dropped.
    Admitted(RateHeaders, InFlightGuard),
    /// Rejected with 429.
    Rejected(RateHeaders),
}

impl LimitState {
    /// Creates counters with `config`, reading time from `clock`.
    pub fn new(
        config: RateLimitConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RateLimitConfigError> {
        config.validate()?;
        let counters = Counters {
            config,
            ..Counters::default()
        };
        let shared = Shared {
            clock,
            counters: Mutex::new(counters),
        };
        Ok(LimitState {
            shared: Arc::new(shared),
        })
    }

    /// Creates counters with `config` and the system clock.
    pub fn with_system_clock(config: RateLimitConfig) -> Result<Self, RateLimitConfigError> {
        Self::new(config, Arc::new(SystemClock))
    }

    /// Replaces the settings and closes every open window, so the new limits
    /// apply from the next request.
    pub fn set_config(&self, config: RateLimitConfig) -> Result<(), RateLimitConfigError> {
        config.validate()?;
        tracing::info!(enabled = config.enabled, "rate-limit settings changed");
        let mut counters = self.lock();
        counters.config = config;
        counters.windows.clear();
        Ok(())
    }

    /// Returns the current settings.
    pub fn config(&self) -> RateLimitConfig {
        self.lock().config.clone()
    }

    /// Closes every window and zeroes the rejection counts. Requests in
    /// flight still hold their concurrency slots.
    pub fn reset(&self) {
        let mut counters = self.lock();
        counters.windows.clear();
        counters.rejected.clear();
        counters.concurrency_rejected = 0;
    }

    /// Returns the usage of every limited bucket now.
    pub fn snapshot(&self) -> LimitSnapshot {
        let now = self.shared.clock.now();
        let counters = self.lock();
        let buckets = counters
            .config
            .per_minute
            .iter()
            .map(|(bucket, limit)| (*bucket, counters.usage(*bucket, *limit, now)))
            .collect();
        LimitSnapshot {
            enabled: counters.config.enabled,
            buckets,
            in_flight: counters.in_flight,
            concurrency_rejected: counters.concurrency_rejected,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counters> {
        // A panic while holding this lock cannot leave the counters in a
        // state worse than slightly off, so a poisoned lock is still used.
        self.shared
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn admit(&self, bucket: Bucket) -> Admission {
        let now = self.shared.clock.now();
        let mut counters = self.lock();
        let Some(limit) = counters.limit_for(bucket) else {
            return Admission::Unlimited;
        };

        if counters.in_flight >= counters.config.concurrency {
            counters.concurrency_rejected += 1;
            let headers = RateHeaders {
                limit: 0,
                remaining: 0,
                reset: epoch_seconds_ceil(now + Duration::from_secs(1)),
            };
            tracing::debug!(%bucket, in_flight = counters.in_flight, "concurrency limit reached");
            return Admission::Rejected(headers);
        }

        let window_length = counters.config.window;
        let window = counters.open_window(bucket, now, window_length);
        if window.used >= limit {
            let reset = epoch_seconds_ceil(window.ends_at);
            *counters.rejected.entry(bucket).or_default() += 1;
            tracing::debug!(%bucket, limit, reset, "rate limit reached");
            return Admission::Rejected(RateHeaders {
                limit,
                remaining: 0,
                reset,
            });
        }

        window.used += 1;
        let headers = RateHeaders {
            limit,
            remaining: limit - window.used,
            reset: epoch_seconds_ceil(window.ends_at),
        };
        counters.in_flight += 1;
        Admission::Admitted(
            headers,
            InFlightGuard {
                state: self.clone(),
            },
        )
    }
}

impl fmt::Debug for LimitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitState")
            .field("config", &self.config())
            .finish_non_exhaustive()
    }
}

impl Counters {
    fn limit_for(&self, bucket: Bucket) -> Option<u32> {
        if !self.config.enabled {
            return None;
        }
        self.config.per_minute.get(&bucket).copied()
    }

    /// Returns the bucket's window, opening a new one when none is open or
    /// the last one has ended.
    fn open_window(&mut self, bucket: Bucket, now: SystemTime, length: Duration) -> &mut Window {
        let window = self.windows.entry(bucket).or_insert(Window {
            ends_at: now + length,
            used: 0,
        });
        if now >= window.ends_at {
            *window = Window {
                ends_at: now + length,
                used: 0,
            };
        }
        window
    }

    fn usage(&self, bucket: Bucket, limit: u32, now: SystemTime) -> BucketUsage {
        let open = self
            .windows
            .get(&bucket)
            .filter(|window| now < window.ends_at);
        let used = open.map_or(0, |window| window.used);
        BucketUsage {
            limit,
            used,
            remaining: limit.saturating_sub(used),
            reset: open.map(|window| epoch_seconds_ceil(window.ends_at)),
            rejected: self.rejected.get(&bucket).copied().unwrap_or(0),
        }
    }
}

/// A held concurrency slot, freed when the response has been produced.
struct InFlightGuard {
    state: LimitState,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut counters = self.state.lock();
        counters.in_flight = counters.in_flight.saturating_sub(1);
    }
}

/// Wraps every route of `router` with the rate limits in `state`.
///
/// Routes added to `router` after this call are not limited.
pub fn layer(router: Router, state: LimitState) -> Router {
    router.layer(axum::middleware::from_fn_with_state(state, enforce))
}

async fn enforce(State(state): State<LimitState>, request: Request, next: Next) -> Response {
    let bucket = Bucket::classify(request.method(), request.uri().path());
    match state.admit(bucket) {
        Admission::Unlimited => next.run(request).await,
        Admission::Rejected(headers) => {
            let mut response = api_error(
                StatusCode::TOO_MANY_REQUESTS,
                RATE_LIMIT_ERROR_CODE,
                RATE_LIMIT_ERROR_SUMMARY,
                &[],
            );
            insert_headers(response.headers_mut(), headers);
            response
        }
        Admission::Admitted(mut headers, guard) => {
            let mut response = next.run(request).await;
            drop(guard);

            // A 429 from an inner layer (an injected burst) means the bucket
            // is used up as far as the client can tell.
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                headers.remaining = 0;
            }
            insert_headers(response.headers_mut(), headers);
            response
        }
    }
}

fn insert_headers(map: &mut HeaderMap, headers: RateHeaders) {
    map.insert(LIMIT_HEADER, HeaderValue::from(headers.limit));
    map.insert(REMAINING_HEADER, HeaderValue::from(headers.remaining));
    map.insert(RESET_HEADER, HeaderValue::from(headers.reset));
}

/// Returns the UTC epoch second at or after `time`, so that a client that
/// waits until the reset second never comes back early.
fn epoch_seconds_ceil(time: SystemTime) -> u64 {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    if since_epoch.subsec_nanos() > 0 {
        seconds + 1
    } else {
        seconds
    }
}

/// Serializes a [`Duration`] as whole milliseconds.
pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        serializer.serialize_u64(millis)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TestClock;

    fn start() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn state_with(config: RateLimitConfig) -> (LimitState, Arc<TestClock>) {
        let clock = Arc::new(TestClock::new(start()));
        let state = LimitState::new(config, clock.clone()).expect("valid config");
        (state, clock)
    }

    fn small_config(limit: u32) -> RateLimitConfig {
        RateLimitConfig {
            concurrency: 10,
            ..RateLimitConfig::workforce().with_all_buckets(limit)
        }
    }

    /// Admits one request and releases its concurrency slot at once.
    fn admit_and_finish(state: &LimitState, bucket: Bucket) -> Option<RateHeaders> {
        match state.admit(bucket) {
            Admission::Admitted(headers, _guard) => Some(headers),
            Admission::Rejected(_) | Admission::Unlimited => None,
        }
    }

    #[test]
    fn classify_matches_okta_buckets() {
        let cases = [
            (Method::GET, "/api/v1/users", Bucket::Users),
            (Method::POST, "/api/v1/users", Bucket::Users),
            (Method::GET, "/api/v1/users/", Bucket::Users),
            (Method::GET, "/api/v1/users/00u1", Bucket::UserById),
            (Method::GET, "/api/v1/users/ana@a.example", Bucket::UserById),
            (Method::DELETE, "/api/v1/users/00u1", Bucket::Users),
            (Method::GET, "/api/v1/users/00u1/groups", Bucket::Users),
            (
                Method::POST,
                "/api/v1/users/00u1/lifecycle/deactivate",
                Bucket::Users,
            ),
            (Method::GET, "/api/v1/groups", Bucket::Groups),
            (Method::GET, "/api/v1/groups/00g1", Bucket::GroupById),
            (Method::DELETE, "/api/v1/groups/00g1", Bucket::GroupById),
            (Method::GET, "/api/v1/groups/00g1/users", Bucket::Groups),
            (
                Method::PUT,
                "/api/v1/groups/00g1/users/00u1",
                Bucket::Groups,
            ),
            (Method::GET, "/api/v1/apps", Bucket::Api),
            (Method::POST, "/oauth2/v1/token", Bucket::Token),
            (Method::POST, "/oauth2/default/v1/token", Bucket::Other),
            (Method::GET, "/oauth2/v1/keys", Bucket::Other),
            (Method::GET, "/.well-known/okta-organization", Bucket::Other),
            (Method::GET, "/_fake/requests", Bucket::Other),
            (Method::GET, "/api/v1users", Bucket::Other),
        ];
        for (method, path, expected) in cases {
            assert_eq!(Bucket::classify(&method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn workforce_limits_match_published_numbers() {
        let config = RateLimitConfig::workforce();

        assert_eq!(config.per_minute[&Bucket::Users], 600);
        assert_eq!(config.per_minute[&Bucket::Groups], 500);
        assert_eq!(config.per_minute[&Bucket::GroupById], 1000);
        assert_eq!(config.per_minute[&Bucket::Token], 2000);
        assert_eq!(config.concurrency, 75);
        assert_eq!(config.window, Duration::from_secs(60));
    }

    #[test]
    fn default_is_workforce() {
        assert_eq!(RateLimitConfig::default(), RateLimitConfig::workforce());
    }

    #[test]
    fn remaining_counts_down() {
        let (state, _clock) = state_with(small_config(3));

        let first = admit_and_finish(&state, Bucket::Users).expect("admitted");
        let second = admit_and_finish(&state, Bucket::Users).expect("admitted");

        assert_eq!(first.limit, 3);
        assert_eq!(first.remaining, 2);
        assert_eq!(second.remaining, 1);
    }

    #[test]
    fn reset_is_window_end_in_epoch_seconds() {
        let (state, _clock) = state_with(small_config(3));

        let headers = admit_and_finish(&state, Bucket::Groups).expect("admitted");

        let expected = start().duration_since(UNIX_EPOCH).unwrap().as_secs() + 60;
        assert_eq!(headers.reset, expected);
    }

    #[test]
    fn over_limit_is_rejected_until_window_ends() {
        let (state, clock) = state_with(small_config(2));
        admit_and_finish(&state, Bucket::Users);
        admit_and_finish(&state, Bucket::Users);

        clock.advance(Duration::from_secs(59));
        let rejected = matches!(state.admit(Bucket::Users), Admission::Rejected(_));
        clock.advance(Duration::from_secs(1));
        let after_reset = admit_and_finish(&state, Bucket::Users);

        assert!(rejected, "third request inside the window must be rejected");
        assert_eq!(after_reset.map(|headers| headers.remaining), Some(1));
    }

    #[test]
    fn rejection_reports_zero_remaining() {
        let (state, _clock) = state_with(small_config(1));
        admit_and_finish(&state, Bucket::Token);

        let Admission::Rejected(headers) = state.admit(Bucket::Token) else {
            panic!("second request must be rejected");
        };

        assert_eq!(headers.remaining, 0);
        assert_eq!(headers.limit, 1);
    }

    #[test]
    fn buckets_count_separately() {
        let (state, _clock) = state_with(small_config(1));
        admit_and_finish(&state, Bucket::Users);

        let groups = admit_and_finish(&state, Bucket::Groups);

        assert!(
            groups.is_some(),
            "groups bucket must not share the users counter"
        );
    }

    #[test]
    fn concurrency_limit_rejects_extra_requests() {
        let config = RateLimitConfig {
            concurrency: 2,
            ..small_config(100)
        };
        let (state, _clock) = state_with(config);
        let first = state.admit(Bucket::Users);
        let second = state.admit(Bucket::Groups);

        let Admission::Rejected(headers) = state.admit(Bucket::Users) else {
            panic!("third concurrent request must be rejected");
        };
        drop((first, second));
        let after_release = admit_and_finish(&state, Bucket::Users);

        assert_eq!(headers.limit, 0);
        assert_eq!(headers.remaining, 0);
        assert!(after_release.is_some(), "a freed slot must admit again");
    }

    #[test]
    fn disabled_limits_admit_without_headers() {
        let (state, _clock) = state_with(RateLimitConfig::unlimited());

        assert!(matches!(state.admit(Bucket::Users), Admission::Unlimited));
    }

    #[test]
    fn other_bucket_is_never_limited() {
        let (state, _clock) = state_with(small_config(0));

        assert!(matches!(state.admit(Bucket::Other), Admission::Unlimited));
    }

    #[test]
    fn zero_limit_rejects_every_request() {
        let (state, _clock) = state_with(small_config(0));

        assert!(matches!(state.admit(Bucket::Users), Admission::Rejected(_)));
    }

    #[test]
    fn snapshot_shows_use_and_rejections() {
        let (state, _clock) = state_with(small_config(1));
        admit_and_finish(&state, Bucket::Users);
        let _ = state.admit(Bucket::Users);

        let usage = &state.snapshot().buckets[&Bucket::Users];

        assert_eq!(usage.used, 1);
        assert_eq!(usage.remaining, 0);
        assert_eq!(usage.rejected, 1);
    }

    #[test]
    fn snapshot_forgets_ended_windows() {
        let (state, clock) = state_with(small_config(5));
        admit_and_finish(&state, Bucket::Users);

        clock.advance(Duration::from_secs(61));
        let usage = &state.snapshot().buckets[&Bucket::Users];

        assert_eq!(usage.used, 0);
        assert_eq!(usage.reset, None);
    }

    #[test]
    fn reset_reopens_used_up_bucket() {
        let (state, _clock) = state_with(small_config(1));
        admit_and_finish(&state, Bucket::Users);

        state.reset();

        assert!(admit_and_finish(&state, Bucket::Users).is_some());
    }

    #[test]
    fn set_config_applies_new_limit() {
        let (state, _clock) = state_with(small_config(1));
        admit_and_finish(&state, Bucket::Users);

        state.set_config(small_config(5)).expect("valid config");
        let headers = admit_and_finish(&state, Bucket::Users).expect("admitted");

        assert_eq!(headers.limit, 5);
        assert_eq!(headers.remaining, 4);
    }

    #[test]
    fn validate_rejects_zero_window() {
        let config = RateLimitConfig {
            window: Duration::ZERO,
            ..RateLimitConfig::workforce()
        };

        assert_eq!(config.validate(), Err(RateLimitConfigError::ZeroWindow));
    }

    #[test]
    fn validate_rejects_zero_concurrency() {
        let config = RateLimitConfig {
            concurrency: 0,
            ..RateLimitConfig::workforce()
        };

        assert_eq!(
            config.validate(),
            Err(RateLimitConfigError::ZeroConcurrency)
        );
    }

    #[test]
    fn validate_rejects_limit_on_other_bucket() {
        let mut config = RateLimitConfig::workforce();
        config.per_minute.insert(Bucket::Other, 10);

        assert_eq!(
            config.validate(),
            Err(RateLimitConfigError::OtherBucketLimited { limit: 10 })
        );
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = small_config(7);

        let text = serde_json::to_string(&config).expect("serializable");
        let parsed: RateLimitConfig = serde_json::from_str(&text).expect("parsable");

        assert_eq!(parsed, config);
    }

    #[test]
    fn config_json_uses_camel_case_keys() {
        let text = serde_json::to_value(RateLimitConfig::workforce()).expect("serializable");

        assert_eq!(text["windowMs"], 60_000);
        assert_eq!(text["perMinute"]["groupById"], 1000);
    }

    #[test]
    fn epoch_seconds_round_up() {
        let time = UNIX_EPOCH + Duration::from_millis(1_001);

        assert_eq!(epoch_seconds_ceil(time), 2);
        assert_eq!(epoch_seconds_ceil(UNIX_EPOCH + Duration::from_secs(5)), 5);
    }
}

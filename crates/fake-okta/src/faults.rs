//! Seeded fault injection: latency, server errors, 429 bursts, dropped
//! connections, truncated and malformed bodies, and slow bodies.
//!
//! Terms:
//! - An *eligible* request is one whose path the faults apply to: every path
//!   except the `/_fake/` control API, narrowed by
//!   [`FaultConfig::only_paths`]. Each eligible request gets the next
//!   *request index*, starting at 0.
//! - A *path pattern* in `only_paths` is a prefix (`/api/v1/groups/` matches
//!   every member listing), or an exact path when it ends in `$`
//!   (`/api/v1/groups$` matches the group listing only).
//! - A *plan* is what happens to one request. It is drawn from a random
//!   number generator seeded with the seed and the request index, so the same
//!   seed and the same sequence of requests give the same faults, whatever
//!   the timing.
//!
//! Each eligible request at or after index [`FaultConfig::after_requests`]
//! (and, when [`FaultConfig::faulted_requests`] is set, before the end of
//! that many) gets at most one of the exclusive faults. A 429 burst is chosen by index.
//! Otherwise a dropped connection, a server error, a truncated body or a
//! malformed body is chosen at random, each with its rate as probability.
//! Latency and slow bodies come on top of these.
//!
//! Apply [`layer`] inside [`crate::limits::layer`], so that the rate-limit
//! layer adds its headers to injected responses.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::stream::{self, StreamExt};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::errors::api_error;
use crate::limits::{
    duration_ms, LIMIT_HEADER, RATE_LIMIT_ERROR_CODE, RATE_LIMIT_ERROR_SUMMARY, REMAINING_HEADER,
    RESET_HEADER,
};

/// Paths under this prefix (the control API) never get faults.
const CONTROL_PREFIX: &str = "/_fake/";

/// Pause between the bytes of a truncated body and the error that ends it.
/// Without it hyper drops the connection before flushing the partial body.
const FLUSH_PAUSE: Duration = Duration::from_millis(20);

/// Fault-injection settings. The default injects nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of the random choices.
    pub seed: u64,
    /// Delay before each eligible request is handled.
    pub latency: Latency,
    /// Share of eligible requests that get 500, 502, 503 or 504.
    pub error_rate: f64,
    /// Regular runs of 429 responses.
    pub rate_limit_bursts: Option<Burst>,
    /// Share of eligible requests whose connection is closed without a
    /// response.
    pub drop_connection_rate: f64,
    /// Share of eligible requests whose body stops partway, after headers
    /// that declare the full `Content-Length`.
    pub truncate_body_rate: f64,
    /// Share of eligible requests whose body is cut so that it is not valid
    /// JSON, with a `Content-Length` that matches the cut body.
    pub malformed_json_rate: f64,
    /// Sends every eligible response body in chunks with pauses between them.
    pub slow_body: Option<SlowBody>,
    /// Path patterns the faults apply to: prefixes such as
    /// `/api/v1/groups/`, or exact paths ending in `$` such as
    /// `/api/v1/groups$`. `None` means every path except the control API.
    pub only_paths: Option<Vec<String>>,
    /// Number of eligible requests served without faults first, so that a
    /// run can fail partway through.
    pub after_requests: u64,
    /// Number of eligible requests, from `after_requests` on, that get
    /// faults; later ones are served normally, so that a client's retries
    /// can recover. `None` means every one.
    pub faulted_requests: Option<u64>,
}

/// Delay added before a request is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum Latency {
    /// No delay.
    #[default]
    None,
    /// The same delay for every request.
    Fixed {
        /// The delay.
        #[serde(rename = "delayMs", with = "duration_ms")]
        delay: Duration,
    },
    /// A delay drawn uniformly between `min` and `max`, both included.
    Uniform {
        /// Shortest delay.
        #[serde(rename = "minMs", with = "duration_ms")]
        min: Duration,
        /// Longest delay.
        #[serde(rename = "maxMs", with = "duration_ms")]
        max: Duration,
    },
}

/// Runs of 429 responses: in every period of `every` eligible requests, the
/// last `length` get `429 E0000047`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Burst {
    /// Length of a period, in eligible requests.
    pub every: u64,
    /// Requests at the end of each period that get 429.
    pub length: u64,
}

/// A body sent in chunks with a pause before each chunk after the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlowBody {
    /// Bytes per chunk.
    pub chunk_bytes: usize,
    /// Pause between chunks.
    #[serde(rename = "delayMs", with = "duration_ms")]
    pub delay: Duration,
}

/// A fault setting that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultConfigError {
    /// A rate is not a number between 0 and 1.
    #[error("fault rate {field} is {value}; set it to a number from 0.0 to 1.0")]
    RateOutOfRange {
        /// The setting, such as `errorRate`.
        field: &'static str,
        /// The value that was set.
        value: f64,
    },
    /// The exclusive faults together would apply to more than every request.
    #[error(
        "fault rates add up to {total} (errorRate + dropConnectionRate + truncateBodyRate \
         + malformedJsonRate); lower them so that they add up to at most 1.0"
    )]
    RatesOverOne {
        /// Sum of the exclusive fault rates.
        total: f64,
    },
    /// A uniform latency range whose minimum is above its maximum.
    #[error("latency range is {min:?} to {max:?}; set minMs to at most maxMs")]
    LatencyRangeReversed {
        /// The minimum that was set.
        min: Duration,
        /// The maximum that was set.
        max: Duration,
    },
    /// A burst period of zero requests.
    #[error("rate-limit burst period is 0 requests; set every to at least 1")]
    BurstPeriodZero,
    /// A burst longer than its period.
    #[error("rate-limit burst length {length} exceeds its period of {every} requests; set length to at most every")]
    BurstLongerThanPeriod {
        /// Requests per period.
        every: u64,
        /// Requests per burst.
        length: u64,
    },
    /// A slow body with empty chunks would never finish.
    #[error("slow body chunk size is 0 bytes; set chunkBytes to at least 1")]
    SlowBodyChunkZero,
    /// A path pattern that no request path can match.
    #[error("fault path pattern {prefix:?} does not start with '/'; use a prefix such as \"/api/v1/groups/\" or an exact path such as \"/api/v1/groups$\"")]
    PathPrefixInvalid {
        /// The pattern that was set.
        prefix: String,
    },
}

impl FaultConfig {
    /// Checks the settings, so that a bad value is reported when it is set.
    pub fn validate(&self) -> Result<(), FaultConfigError> {
        let rates = [
            ("errorRate", self.error_rate),
            ("dropConnectionRate", self.drop_connection_rate),
            ("truncateBodyRate", self.truncate_body_rate),
            ("malformedJsonRate", self.malformed_json_rate),
        ];
        for (field, value) in rates {
            if !(0.0..=1.0).contains(&value) {
                return Err(FaultConfigError::RateOutOfRange { field, value });
            }
        }
        let total: f64 = rates.iter().map(|(_, value)| value).sum();
        // Rates such as 0.1 + 0.2 + 0.7 add up to slightly over 1.0 in
        // binary floating point, which is still a valid setting.
        if total > 1.0 + 1e-9 {
            return Err(FaultConfigError::RatesOverOne { total });
        }

        self.validate_shapes()
    }

    fn validate_shapes(&self) -> Result<(), FaultConfigError> {
        if let Latency::Uniform { min, max } = self.latency {
            if min > max {
                return Err(FaultConfigError::LatencyRangeReversed { min, max });
            }
        }
        if let Some(burst) = self.rate_limit_bursts {
            if burst.every == 0 {
                return Err(FaultConfigError::BurstPeriodZero);
            }
            if burst.length > burst.every {
                return Err(FaultConfigError::BurstLongerThanPeriod {
                    every: burst.every,
                    length: burst.length,
                });
            }
        }
        if self.slow_body.is_some_and(|slow| slow.chunk_bytes == 0) {
            return Err(FaultConfigError::SlowBodyChunkZero);
        }
        let prefixes = self.only_paths.iter().flatten();
        if let Some(prefix) = prefixes.into_iter().find(|prefix| !prefix.starts_with('/')) {
            return Err(FaultConfigError::PathPrefixInvalid {
                prefix: prefix.clone(),
            });
        }
        Ok(())
    }

    /// Returns whether faults apply to requests for `path`.
    pub fn applies_to(&self, path: &str) -> bool {
        if path.starts_with(CONTROL_PREFIX) {
            return false;
        }
        match &self.only_paths {
            None => true,
            Some(patterns) => patterns.iter().any(|pattern| path_matches(pattern, path)),
        }
    }
}

/// Returns whether `path` matches a pattern of [`FaultConfig::only_paths`].
fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('$') {
        Some(exact) => path == exact,
        None => path.starts_with(pattern),
    }
}

/// Counts of eligible requests and of the faults injected into them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultCounts {
    /// Eligible requests seen.
    pub requests: u64,
    /// Requests delayed by [`FaultConfig::latency`].
    pub delayed: u64,
    /// Requests that got 500, 502, 503 or 504.
    pub server_errors: u64,
    /// Requests that got an injected 429.
    pub rate_limit_bursts: u64,
    /// Connections closed without a response.
    pub dropped_connections: u64,
    /// Bodies cut short after a full `Content-Length`.
    pub truncated_bodies: u64,
    /// Bodies replaced by text that is not valid JSON.
    pub malformed_json: u64,
    /// Bodies sent in slow chunks.
    pub slow_bodies: u64,
}

/// The fault-injection settings and counters, shared by all requests.
///
/// Cloning it gives another handle to the same counters.
#[derive(Clone)]
pub struct FaultState {
    shared: Arc<Mutex<Shared>>,
}

struct Shared {
    config: Arc<FaultConfig>,
    next_index: u64,
    counts: FaultCounts,
}

/// The delay, outcome and body pacing drawn for one eligible request.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    delay: Duration,
    outcome: Outcome,
    slow_body: Option<SlowBody>,
}

/// The exclusive fault, if any, of one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Pass,
    ServerError(StatusCode),
    /// A 429 whose `X-Rate-Limit-Limit` is the burst period.
    RateLimitBurst(u64),
    DropConnection,
    /// Cut the body at this share of its length.
    TruncateBody(f64),
    /// Cut the body at this share of its length and fix its length.
    MalformedJson(f64),
}

impl FaultState {
    /// Creates fault state with `config`.
    pub fn new(config: FaultConfig) -> Result<Self, FaultConfigError> {
        config.validate()?;
        let shared = Shared {
            config: Arc::new(config),
            next_index: 0,
            counts: FaultCounts::default(),
        };
        Ok(FaultState {
            shared: Arc::new(Mutex::new(shared)),
        })
    }

    /// Replaces the settings and starts the request index again at 0, so the
    /// new settings give the same faults as a fresh server would.
    pub fn set_config(&self, config: FaultConfig) -> Result<(), FaultConfigError> {
        config.validate()?;
        tracing::info!(seed = config.seed, "fault settings changed");
        let mut shared = self.lock();
        shared.config = Arc::new(config);
        shared.next_index = 0;
        Ok(())
    }

    /// Returns the current settings.
    pub fn config(&self) -> FaultConfig {
        self.lock().config.as_ref().clone()
    }

    /// Returns the counts since the last reset.
    pub fn counts(&self) -> FaultCounts {
        self.lock().counts
    }

    /// Zeroes the counts and starts the request index again at 0.
    pub fn reset(&self) {
        let mut shared = self.lock();
        shared.next_index = 0;
        shared.counts = FaultCounts::default();
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // The counters stay usable after a panic elsewhere, because every
        // update leaves them consistent.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Draws the plan of the next eligible request, or `None` when faults do
    /// not apply to `path`.
    fn plan(&self, path: &str) -> Option<Plan> {
        let mut shared = self.lock();
        if !shared.config.applies_to(path) {
            return None;
        }
        let index = shared.next_index;
        shared.next_index += 1;
        shared.counts.requests += 1;
        if index < shared.config.after_requests {
            return None;
        }
        let position = index - shared.config.after_requests;
        if let Some(limit) = shared.config.faulted_requests {
            if position >= limit {
                return None;
            }
        }

        let plan = draw_plan(&shared.config, index);
        count(&mut shared.counts, &plan);
        tracing::debug!(index, path, ?plan, "fault plan");
        Some(plan)
    }

    /// Applies `update` to the counts.
    fn record(&self, update: impl FnOnce(&mut FaultCounts)) {
        update(&mut self.lock().counts);
    }
}

impl fmt::Debug for FaultState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultState")
            .field("config", &self.config())
            .field("counts", &self.counts())
            .finish()
    }
}

/// Draws the plan of request `index`. The draws come in a fixed order from
/// a generator seeded by the seed and the index alone.
fn draw_plan(config: &FaultConfig, index: u64) -> Plan {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(config.seed, index));
    let delay = draw_delay(config.latency, &mut rng);
    let roll: f64 = rng.gen();
    let cut: f64 = rng.gen_range(0.1..0.9);
    let status = [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::GATEWAY_TIMEOUT,
    ][rng.gen_range(0..4)];

    let position = index - config.after_requests;
    let outcome = if let Some(burst) = config.rate_limit_bursts.filter(|b| in_burst(*b, position)) {
        Outcome::RateLimitBurst(burst.every)
    } else {
        pick_outcome(config, roll, cut, status)
    };
    Plan {
        delay,
        outcome,
        slow_body: config.slow_body,
    }
}

/// Maps a roll in [0, 1) to an outcome, giving each fault a slice as wide as
/// its rate.
fn pick_outcome(config: &FaultConfig, roll: f64, cut: f64, status: StatusCode) -> Outcome {
    let slices = [
        (config.drop_connection_rate, Outcome::DropConnection),
        (config.error_rate, Outcome::ServerError(status)),
        (config.truncate_body_rate, Outcome::TruncateBody(cut)),
        (config.malformed_json_rate, Outcome::MalformedJson(cut)),
    ];
    let mut upper = 0.0;
    for (rate, outcome) in slices {
        upper += rate;
        if roll < upper {
            return outcome;
        }
    }
    Outcome::Pass
}

fn in_burst(burst: Burst, position: u64) -> bool {
    position % burst.every >= burst.every - burst.length
}

fn draw_delay(latency: Latency, rng: &mut ChaCha8Rng) -> Duration {
    match latency {
        Latency::None => Duration::ZERO,
        Latency::Fixed { delay } => delay,
        Latency::Uniform { min, max } => {
            let span = u64::try_from((max - min).as_micros()).unwrap_or(u64::MAX);
            min + Duration::from_micros(rng.gen_range(0..=span))
        }
    }
}

/// Combines the seed and the request index into one generator seed
/// (SplitMix64's finalizer), so that neighboring indexes get unrelated
/// streams.
fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Counts the faults that are applied before the handler runs. Body faults
/// are counted when applied, because a response without a body gets none.
fn count(counts: &mut FaultCounts, plan: &Plan) {
    if !plan.delay.is_zero() {
        counts.delayed += 1;
    }
    match plan.outcome {
        Outcome::ServerError(_) => counts.server_errors += 1,
        Outcome::RateLimitBurst(_) => counts.rate_limit_bursts += 1,
        Outcome::DropConnection => counts.dropped_connections += 1,
        Outcome::Pass | Outcome::TruncateBody(_) | Outcome::MalformedJson(_) => {}
    }
}

/// Wraps every route of `router` with the faults in `state`.
///
/// Routes added to `router` after this call get no faults.
pub fn layer(router: Router, state: FaultState) -> Router {
    router.layer(axum::middleware::from_fn_with_state(state, inject))
}

async fn inject(State(state): State<FaultState>, request: Request, next: Next) -> Response {
    let Some(plan) = state.plan(request.uri().path()) else {
        return next.run(request).await;
    };
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }

    match plan.outcome {
        Outcome::ServerError(status) => server_error(status),
        Outcome::RateLimitBurst(limit) => rate_limit_burst(limit),
        Outcome::DropConnection => dropped_connection(),
        Outcome::Pass | Outcome::TruncateBody(_) | Outcome::MalformedJson(_) => {
            let is_head = request.method() == Method::HEAD;
            let response = next.run(request).await;
            rewrite_body(&state, &plan, response, is_head).await
        }
    }
}

/// Applies a body fault and the slow-body setting to a handler's response.
async fn rewrite_body(
    state: &FaultState,
    plan: &Plan,
    response: Response,
    is_head: bool,
) -> Response {
    let status = response.status();
    let can_carry_body =
        !is_head && status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED;
    if !can_carry_body || (plan.outcome == Outcome::Pass && plan.slow_body.is_none()) {
        return response;
    }

    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "failed to read a response body to inject a fault");
            return server_error(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };

    let declared_length = bytes.len();
    let (body, declared_length) = match plan.outcome {
        Outcome::TruncateBody(cut) if bytes.len() >= 2 => {
            state.record(|counts| counts.truncated_bodies += 1);
            (truncated_body(bytes, cut), declared_length)
        }
        Outcome::MalformedJson(cut) => {
            state.record(|counts| counts.malformed_json += 1);
            let malformed = malformed_json(&bytes, cut);
            let length = malformed.len();
            (paced_body(state, malformed, plan.slow_body), length)
        }
        _ => (paced_body(state, bytes, plan.slow_body), declared_length),
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(declared_length));
    Response::from_parts(parts, body)
}

/// Builds a body that sends the first `cut` share of `bytes`, waits for
/// hyper to flush it, then fails, so the client sees fewer bytes than
/// declared.
fn truncated_body(bytes: Bytes, cut: f64) -> Body {
    let end = cut_index(bytes.len(), cut);
    let head = stream::once(async move { Ok::<Bytes, io::Error>(bytes.slice(..end)) });
    let failure = stream::once(async {
        tokio::time::sleep(FLUSH_PAUSE).await;
        Err(io::Error::other("fault injection: body truncated"))
    });
    Body::from_stream(head.chain(failure))
}

/// Builds a response whose body fails before any byte is written, which
/// makes hyper close the connection without sending the response head.
fn dropped_connection() -> Response {
    let failure = stream::once(async {
        Err::<Bytes, io::Error>(io::Error::other("fault injection: connection dropped"))
    });
    Response::new(Body::from_stream(failure))
}

/// Cuts `bytes` at the `cut` share of their length, which never leaves valid
/// JSON for an object or array.
fn malformed_json(bytes: &Bytes, cut: f64) -> Bytes {
    let cut_bytes = bytes.slice(..cut_index(bytes.len(), cut));
    if !cut_bytes.is_empty() && serde_json::from_slice::<serde_json::Value>(&cut_bytes).is_err() {
        return cut_bytes;
    }
    // A body too short to cut, or one that is still valid after the cut (a
    // bare number), is replaced by an unterminated object.
    Bytes::from_static(b"{\"errorCode\":")
}

/// Returns the index at the `cut` share of `len`, kept inside `1..len` when
/// possible so that a cut body is neither empty nor whole.
fn cut_index(len: usize, cut: f64) -> usize {
    if len < 2 {
        return 0;
    }
    let index = (len as f64 * cut) as usize;
    index.clamp(1, len - 1)
}

/// Builds a body of `bytes` in one chunk, or in chunks with pauses when
/// `slow` is set.
fn paced_body(state: &FaultState, bytes: Bytes, slow: Option<SlowBody>) -> Body {
    let Some(slow) = slow else {
        return Body::from(bytes);
    };
    state.record(|counts| counts.slow_bodies += 1);
    let chunks: Vec<Bytes> = (0..bytes.len())
        .step_by(slow.chunk_bytes)
        .map(|start| bytes.slice(start..(start + slow.chunk_bytes).min(bytes.len())))
        .collect();
    let paced =
        stream::iter(chunks.into_iter().enumerate()).then(move |(position, chunk)| async move {
            if position > 0 {
                tokio::time::sleep(slow.delay).await;
            }
            Ok::<Bytes, io::Error>(chunk)
        });
    Body::from_stream(paced)
}

/// Builds a 5xx response. 500 and 503 carry Okta's JSON error body. 502 and
/// 504 carry the HTML page of a proxy in front of Okta, which is what
/// clients see when the edge fails.
fn server_error(status: StatusCode) -> Response {
    match status {
        StatusCode::INTERNAL_SERVER_ERROR => {
            api_error(status, "E0000009", "Internal Server Error", &[])
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            api_error(status, "E0000181", "Service temporarily unavailable.", &[])
        }
        _ => {
            let reason = status.canonical_reason().unwrap_or("Server Error");
            let code = status.as_u16();
            let page = format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n\
                 <center><h1>{code} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
            );
            let mut response = (status, page).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            response
        }
    }
}

/// Builds an injected `429 E0000047`. Its headers report the burst period as
/// the limit, none remaining, and a reset one second ahead. [`crate::limits::layer`], when applied outside this
/// layer and limiting the bucket, replaces them with the bucket's real limit
/// and reset.
fn rate_limit_burst(limit: u64) -> Response {
    let mut response = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        RATE_LIMIT_ERROR_CODE,
        RATE_LIMIT_ERROR_SUMMARY,
        &[],
    );
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        + 1;
    let headers = response.headers_mut();
    headers.insert(LIMIT_HEADER, HeaderValue::from(limit));
    headers.insert(REMAINING_HEADER, HeaderValue::from(0u32));
    headers.insert(RESET_HEADER, HeaderValue::from(reset));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(config: &FaultConfig, count: u64) -> Vec<Plan> {
        (0..count).map(|index| draw_plan(config, index)).collect()
    }

    fn outcomes(state: &FaultState, path: &str, count: usize) -> Vec<Option<Outcome>> {
        (0..count)
            .map(|_| state.plan(path).map(|plan| plan.outcome))
            .collect()
    }

    #[test]
    fn default_config_injects_nothing() {
        let config = FaultConfig::default();

        let faulted = plans(&config, 200)
            .iter()
            .filter(|plan| plan.outcome != Outcome::Pass || !plan.delay.is_zero())
            .count();

        assert_eq!(faulted, 0);
    }

    #[test]
    fn same_seed_gives_same_plans() {
        let config = FaultConfig {
            seed: 42,
            error_rate: 0.3,
            truncate_body_rate: 0.2,
            latency: Latency::Uniform {
                min: Duration::from_millis(1),
                max: Duration::from_millis(50),
            },
            ..FaultConfig::default()
        };

        assert_eq!(plans(&config, 100), plans(&config, 100));
    }

    #[test]
    fn different_seeds_give_different_plans() {
        let config = FaultConfig {
            seed: 1,
            error_rate: 0.5,
            ..FaultConfig::default()
        };
        let other = FaultConfig {
            seed: 2,
            ..config.clone()
        };

        assert_ne!(plans(&config, 100), plans(&other, 100));
    }

    #[test]
    fn error_rate_sets_share_of_errors() {
        let config = FaultConfig {
            seed: 7,
            error_rate: 0.25,
            ..FaultConfig::default()
        };

        let errors = plans(&config, 4000)
            .iter()
            .filter(|plan| matches!(plan.outcome, Outcome::ServerError(_)))
            .count();

        // 1000 expected; the binomial standard deviation is about 27.
        assert!((880..=1120).contains(&errors), "{errors} errors in 4000");
    }

    #[test]
    fn server_errors_use_every_5xx_code() {
        let config = FaultConfig {
            seed: 3,
            error_rate: 1.0,
            ..FaultConfig::default()
        };

        let mut codes: Vec<u16> = plans(&config, 200)
            .iter()
            .filter_map(|plan| match plan.outcome {
                Outcome::ServerError(status) => Some(status.as_u16()),
                _ => None,
            })
            .collect();
        codes.sort_unstable();
        codes.dedup();

        assert_eq!(codes, vec![500, 502, 503, 504]);
    }

    #[test]
    fn full_rate_always_drops() {
        let config = FaultConfig {
            drop_connection_rate: 1.0,
            ..FaultConfig::default()
        };

        let all_dropped = plans(&config, 50)
            .iter()
            .all(|plan| plan.outcome == Outcome::DropConnection);

        assert!(all_dropped);
    }

    #[test]
    fn burst_takes_end_of_each_period() {
        let config = FaultConfig {
            rate_limit_bursts: Some(Burst {
                every: 5,
                length: 2,
            }),
            ..FaultConfig::default()
        };

        let bursts: Vec<bool> = plans(&config, 10)
            .iter()
            .map(|plan| matches!(plan.outcome, Outcome::RateLimitBurst(5)))
            .collect();

        let expected = [
            false, false, false, true, true, false, false, false, true, true,
        ];
        assert_eq!(bursts, expected);
    }

    #[test]
    fn uniform_latency_stays_in_range() {
        let (min, max) = (Duration::from_millis(10), Duration::from_millis(20));
        let config = FaultConfig {
            latency: Latency::Uniform { min, max },
            ..FaultConfig::default()
        };

        let outside = plans(&config, 500)
            .iter()
            .filter(|plan| plan.delay < min || plan.delay > max)
            .count();

        assert_eq!(outside, 0);
    }

    #[test]
    fn after_requests_spares_first_requests() {
        let config = FaultConfig {
            error_rate: 1.0,
            after_requests: 3,
            ..FaultConfig::default()
        };
        let state = FaultState::new(config).expect("valid config");

        let seen = outcomes(&state, "/api/v1/users", 5);

        assert_eq!(seen[..3], [None, None, None]);
        assert!(seen[3..]
            .iter()
            .all(|outcome| matches!(outcome, Some(Outcome::ServerError(_)))));
    }

    #[test]
    fn faulted_requests_limits_faults() {
        let config = FaultConfig {
            error_rate: 1.0,
            after_requests: 1,
            faulted_requests: Some(2),
            ..FaultConfig::default()
        };
        let state = FaultState::new(config).expect("valid config");

        let seen = outcomes(&state, "/api/v1/users", 5);

        assert_eq!(seen[0], None, "spared by after_requests");
        assert!(matches!(seen[1], Some(Outcome::ServerError(_))));
        assert!(matches!(seen[2], Some(Outcome::ServerError(_))));
        assert_eq!(seen[3..], [None, None], "past faulted_requests");
    }

    #[test]
    fn only_paths_limits_eligible_requests() {
        let config = FaultConfig {
            only_paths: Some(vec!["/api/v1/groups/".to_string()]),
            ..FaultConfig::default()
        };

        assert!(config.applies_to("/api/v1/groups/00g1/users"));
        assert!(!config.applies_to("/api/v1/groups"));
        assert!(!config.applies_to("/api/v1/users"));
    }

    #[test]
    fn dollar_pattern_matches_exact_path() {
        let config = FaultConfig {
            only_paths: Some(vec!["/api/v1/groups$".to_string()]),
            ..FaultConfig::default()
        };

        assert!(config.applies_to("/api/v1/groups"));
        assert!(!config.applies_to("/api/v1/groups/00g1/users"));
        assert!(!config.applies_to("/api/v1/groupsx"));
    }

    #[test]
    fn control_api_never_gets_faults() {
        let config = FaultConfig::default();

        assert!(!config.applies_to("/_fake/requests"));
        assert!(config.applies_to("/api/v1/users"));
    }

    #[test]
    fn ineligible_requests_keep_index() {
        let config = FaultConfig {
            error_rate: 1.0,
            after_requests: 1,
            only_paths: Some(vec!["/api/v1/groups".to_string()]),
            ..FaultConfig::default()
        };
        let state = FaultState::new(config).expect("valid config");

        let users = state.plan("/api/v1/users");
        let first_group = state.plan("/api/v1/groups");
        let second_group = state.plan("/api/v1/groups");

        assert!(users.is_none());
        assert!(first_group.is_none(), "first eligible request is spared");
        assert!(second_group.is_some());
    }

    #[test]
    fn set_config_restarts_sequence() {
        let config = FaultConfig {
            seed: 9,
            error_rate: 0.5,
            ..FaultConfig::default()
        };
        let state = FaultState::new(config.clone()).expect("valid config");
        let first = outcomes(&state, "/api/v1/users", 20);

        state.set_config(config).expect("valid config");
        let second = outcomes(&state, "/api/v1/users", 20);

        assert_eq!(first, second);
    }

    #[test]
    fn counts_record_planned_faults() {
        let config = FaultConfig {
            drop_connection_rate: 1.0,
            latency: Latency::Fixed {
                delay: Duration::from_millis(1),
            },
            ..FaultConfig::default()
        };
        let state = FaultState::new(config).expect("valid config");

        outcomes(&state, "/api/v1/users", 4);
        let counts = state.counts();

        assert_eq!(counts.requests, 4);
        assert_eq!(counts.dropped_connections, 4);
        assert_eq!(counts.delayed, 4);
    }

    #[test]
    fn reset_zeroes_counts() {
        let config = FaultConfig {
            error_rate: 1.0,
            ..FaultConfig::default()
        };
        let state = FaultState::new(config).expect("valid config");
        outcomes(&state, "/api/v1/users", 3);

        state.reset();

        assert_eq!(state.counts(), FaultCounts::default());
    }

    #[test]
    fn validate_rejects_rate_above_one() {
        let config = FaultConfig {
            error_rate: 1.5,
            ..FaultConfig::default()
        };

        assert_eq!(
            config.validate(),
            Err(FaultConfigError::RateOutOfRange {
                field: "errorRate",
                value: 1.5
            })
        );
    }

    #[test]
    fn validate_rejects_nan_rate() {
        let config = FaultConfig {
            malformed_json_rate: f64::NAN,
            ..FaultConfig::default()
        };

        assert!(matches!(
            config.validate(),
            Err(FaultConfigError::RateOutOfRange {
                field: "malformedJsonRate",
                ..
            })
        ));
    }

    #[test]
    fn validate_rejects_rates_over_one_in_total() {
        let config = FaultConfig {
            error_rate: 0.6,
            drop_connection_rate: 0.6,
            ..FaultConfig::default()
        };

        assert!(matches!(
            config.validate(),
            Err(FaultConfigError::RatesOverOne { .. })
        ));
    }

    #[test]
    fn validate_accepts_rates_summing_to_one() {
        let config = FaultConfig {
            error_rate: 0.1,
            drop_connection_rate: 0.2,
            truncate_body_rate: 0.7,
            ..FaultConfig::default()
        };

        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn validate_rejects_reversed_latency() {
        let config = FaultConfig {
            latency: Latency::Uniform {
                min: Duration::from_millis(9),
                max: Duration::from_millis(1),
            },
            ..FaultConfig::default()
        };

        assert!(matches!(
            config.validate(),
            Err(FaultConfigError::LatencyRangeReversed { .. })
        ));
    }

    #[test]
    fn validate_rejects_bad_bursts() {
        let zero = FaultConfig {
            rate_limit_bursts: Some(Burst {
                every: 0,
                length: 0,
            }),
            ..FaultConfig::default()
        };
        let long = FaultConfig {
            rate_limit_bursts: Some(Burst {
                every: 2,
                length: 3,
            }),
            ..FaultConfig::default()
        };

        assert_eq!(zero.validate(), Err(FaultConfigError::BurstPeriodZero));
        assert_eq!(
            long.validate(),
            Err(FaultConfigError::BurstLongerThanPeriod {
                every: 2,
                length: 3
            })
        );
    }

    #[test]
    fn validate_rejects_empty_slow_chunks() {
        let config = FaultConfig {
            slow_body: Some(SlowBody {
                chunk_bytes: 0,
                delay: Duration::from_millis(1),
            }),
            ..FaultConfig::default()
        };

        assert_eq!(config.validate(), Err(FaultConfigError::SlowBodyChunkZero));
    }

    #[test]
    fn validate_rejects_relative_path_prefix() {
        let config = FaultConfig {
            only_paths: Some(vec!["api/v1/users".to_string()]),
            ..FaultConfig::default()
        };

        assert!(matches!(
            config.validate(),
            Err(FaultConfigError::PathPrefixInvalid { .. })
        ));
    }

    #[test]
    fn malformed_json_never_parses() {
        let body = Bytes::from_static(br#"[{"id":"00u1","profile":{"login":"a@b.example"}}]"#);

        for step in 0..=10 {
            let cut = f64::from(step) / 10.0;
            let malformed = malformed_json(&body, cut);
            let parsed = serde_json::from_slice::<serde_json::Value>(&malformed);
            assert!(parsed.is_err(), "cut {cut} gave valid JSON");
        }
    }

    #[test]
    fn malformed_json_replaces_bare_number() {
        let malformed = malformed_json(&Bytes::from_static(b"12345"), 0.5);

        assert!(serde_json::from_slice::<serde_json::Value>(&malformed).is_err());
    }

    #[test]
    fn cut_index_keeps_part_of_body() {
        assert_eq!(cut_index(10, 0.0), 1);
        assert_eq!(cut_index(10, 0.5), 5);
        assert_eq!(cut_index(10, 1.0), 9);
        assert_eq!(cut_index(1, 0.5), 0);
    }

    #[test]
    fn config_json_uses_camel_case_keys() {
        let json = serde_json::json!({
            "seed": 5,
            "errorRate": 0.1,
            "latency": {"kind": "uniform", "minMs": 5, "maxMs": 10},
            "rateLimitBursts": {"every": 10, "length": 2},
            "slowBody": {"chunkBytes": 64, "delayMs": 3},
            "onlyPaths": ["/api/v1/groups/"],
            "afterRequests": 4,
            "faultedRequests": 2
        });

        let config: FaultConfig = serde_json::from_value(json).expect("parsable");

        assert_eq!(config.seed, 5);
        assert_eq!(
            config.latency,
            Latency::Uniform {
                min: Duration::from_millis(5),
                max: Duration::from_millis(10)
            }
        );
        assert_eq!(config.slow_body.map(|slow| slow.chunk_bytes), Some(64));
        assert_eq!(config.after_requests, 4);
        assert_eq!(config.faulted_requests, Some(2));
    }

    #[test]
    fn config_json_rejects_unknown_key() {
        let json = serde_json::json!({ "errorRat": 0.1 });

        assert!(serde_json::from_value::<FaultConfig>(json).is_err());
    }
}

//! Retry timing: exponential backoff with full jitter, and the wait after a
//! 429 response.
//!
//! Full jitter draws each wait uniformly from zero to an exponentially
//! growing ceiling, so clients that failed together do not retry together.

use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::budget::RateLimitHeaders;

/// Ceiling of the first retry's wait.
pub(crate) const BACKOFF_BASE: Duration = Duration::from_millis(500);

/// Largest ceiling of any retry's wait.
pub(crate) const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Maximum wait after a 429, in case `X-Rate-Limit-Reset` is far off
/// because of a wrong clock; Okta's windows are one minute long.
pub(crate) const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(120);

/// Returns the wait ceiling of retry `retry` (1 for the first retry):
/// `min(cap, base × 2^(retry-1))`.
pub(crate) fn backoff_ceiling(retry: u32) -> Duration {
    let doublings = retry.saturating_sub(1).min(16);
    BACKOFF_BASE
        .saturating_mul(1u32 << doublings)
        .min(BACKOFF_CAP)
}

/// Draws a random wait in `[0, backoff_ceiling(retry)]`.
pub(crate) fn full_jitter(retry: u32, rng: &mut impl Rng) -> Duration {
    let ceiling = backoff_ceiling(retry);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rng.gen_range(0..=millis))
}

/// Returns the wait before retrying a 429: until the window resets (margin
/// included), at most [`MAX_RATE_LIMIT_WAIT`]; backoff when the response
/// had no rate-limit headers.
pub(crate) fn rate_limit_wait(
    headers: Option<&RateLimitHeaders>,
    received_at: SystemTime,
    retry: u32,
    rng: &mut impl Rng,
) -> Duration {
    match headers {
        Some(headers) => headers
            .reset_at(received_at)
            .duration_since(received_at)
            .unwrap_or_default()
            .min(MAX_RATE_LIMIT_WAIT),
        None => full_jitter(retry, rng),
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::budget::RESET_MARGIN;

    #[test]
    fn ceiling_doubles_from_base() {
        assert_eq!(backoff_ceiling(1), Duration::from_millis(500));
        assert_eq!(backoff_ceiling(2), Duration::from_millis(1000));
        assert_eq!(backoff_ceiling(4), Duration::from_millis(4000));
    }

    #[test]
    fn ceiling_stops_at_cap() {
        assert_eq!(backoff_ceiling(7), BACKOFF_CAP);
        assert_eq!(backoff_ceiling(u32::MAX), BACKOFF_CAP);
    }

    #[test]
    fn jitter_stays_within_ceiling() {
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 1..=10 {
            for _ in 0..200 {
                let wait = full_jitter(retry, &mut rng);
                assert!(wait <= backoff_ceiling(retry), "retry {retry}: {wait:?}");
            }
        }
    }

    #[test]
    fn jitter_spreads_waits() {
        let mut rng = StdRng::seed_from_u64(11);
        let waits: Vec<Duration> = (0..200).map(|_| full_jitter(6, &mut rng)).collect();
        let short = waits
            .iter()
            .filter(|w| **w < Duration::from_secs(4))
            .count();
        let long = waits
            .iter()
            .filter(|w| **w > Duration::from_secs(12))
            .count();
        assert!(short > 0, "no wait under 4 s");
        assert!(long > 0, "no wait over 12 s");
    }

    #[test]
    fn rate_limit_wait_runs_to_reset() {
        let received = UNIX_EPOCH + Duration::from_secs(1000);
        let headers = RateLimitHeaders {
            limit: 600,
            remaining: 0,
            reset_epoch: 1012,
            server_date: None,
        };
        let mut rng = StdRng::seed_from_u64(1);
        let wait = rate_limit_wait(Some(&headers), received, 1, &mut rng);
        assert_eq!(wait, Duration::from_secs(12) + RESET_MARGIN);
    }

    #[test]
    fn rate_limit_wait_is_capped() {
        let received = UNIX_EPOCH + Duration::from_secs(1000);
        let headers = RateLimitHeaders {
            limit: 600,
            remaining: 0,
            reset_epoch: 100_000,
            server_date: None,
        };
        let mut rng = StdRng::seed_from_u64(1);
        let wait = rate_limit_wait(Some(&headers), received, 1, &mut rng);
        assert_eq!(wait, MAX_RATE_LIMIT_WAIT);
    }

    #[test]
    fn rate_limit_wait_without_headers_backs_off() {
        let received = UNIX_EPOCH + Duration::from_secs(1000);
        let mut rng = StdRng::seed_from_u64(1);
        let wait = rate_limit_wait(None, received, 2, &mut rng);
        assert!(wait <= backoff_ceiling(2), "{wait:?}");
    }
}

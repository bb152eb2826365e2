//! When a provider's next scheduled run is due.
//!
//! An interval schedule (`frequency: { minutes: 30 }`) runs after the
//! initial delay and then every interval, counted from the due time of the
//! previous run, not from its end, so runs do not drift. Due times missed
//! while a run was still going are skipped, not made up. A cron schedule
//! runs at each matching minute (UTC), starting with the first one after
//! the initial delay.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orgsync_config::{Frequency, Schedule};

/// A failure to compute a due time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    /// The cron expression does not parse or matches no future time.
    #[error(
        "cron expression {pattern:?} gives no next run time: {reason}; fix schedule.frequency.cron"
    )]
    Cron { pattern: String, reason: String },
    /// The interval is too long to add to a date.
    #[error("schedule.frequency of {seconds} s is too long; use a shorter interval")]
    IntervalTooLong { seconds: u64 },
}

/// Computes the first due time of a provider that starts at `now`.
pub fn first_due(schedule: &Schedule, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimingError> {
    let start = add(now, schedule.initial_delay)?;
    match &schedule.frequency {
        Frequency::Every(_) => Ok(start),
        Frequency::Cron(pattern) => next_cron(pattern, start),
    }
}

/// Computes the due time that follows `previous` (the due time of the
/// last run), as seen at `now`.
pub fn next_due(
    schedule: &Schedule,
    previous: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, TimingError> {
    match &schedule.frequency {
        Frequency::Every(interval) => next_interval(*interval, previous, now),
        Frequency::Cron(pattern) => next_cron(pattern, now.max(previous)),
    }
}

fn next_interval(
    interval: Duration,
    previous: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, TimingError> {
    let too_long = || TimingError::IntervalTooLong {
        seconds: interval.as_secs(),
    };
    let step = chrono::Duration::from_std(interval).map_err(|_| too_long())?;
    if step <= chrono::Duration::zero() {
        return Err(too_long());
    }

    let mut next = previous.checked_add_signed(step).ok_or_else(too_long)?;
    if next <= now {
        // Skip every due time that passed while the last run was going.
        let behind = (now - next).num_milliseconds();
        let steps = behind / step.num_milliseconds().max(1) + 1;
        let skip = step
            .checked_mul(i32::try_from(steps).unwrap_or(i32::MAX))
            .ok_or_else(too_long)?;
        next = next.checked_add_signed(skip).ok_or_else(too_long)?;
    }
    Ok(next)
}

fn next_cron(pattern: &str, after: DateTime<Utc>) -> Result<DateTime<Utc>, TimingError> {
    let failed = |reason: String| TimingError::Cron {
        pattern: pattern.to_string(),
        reason,
    };
    let cron = croner::Cron::from_str(pattern).map_err(|error| failed(error.to_string()))?;
    cron.find_next_occurrence(&after, false)
        .map_err(|error| failed(error.to_string()))
}

fn add(time: DateTime<Utc>, delay: Duration) -> Result<DateTime<Utc>, TimingError> {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|delay| time.checked_add_signed(delay))
        .ok_or(TimingError::IntervalTooLong {
            seconds: delay.as_secs(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, hour, minute, second)
            .unwrap()
    }

    fn every(minutes: u64, initial_delay_seconds: u64) -> Schedule {
        Schedule {
            frequency: Frequency::Every(Duration::from_secs(minutes * 60)),
            timeout: Duration::from_secs(60),
            initial_delay: Duration::from_secs(initial_delay_seconds),
        }
    }

    fn cron(pattern: &str) -> Schedule {
        Schedule {
            frequency: Frequency::Cron(pattern.to_string()),
            timeout: Duration::from_secs(60),
            initial_delay: Duration::from_secs(15),
        }
    }

    #[test]
    fn interval_starts_after_initial_delay() {
        assert_eq!(first_due(&every(30, 15), at(10, 0, 0)), Ok(at(10, 0, 15)));
    }

    #[test]
    fn interval_counts_from_previous_due_time() {
        let next = next_due(&every(30, 0), at(10, 0, 0), at(10, 4, 0));
        assert_eq!(next, Ok(at(10, 30, 0)));
    }

    #[test]
    fn missed_interval_slots_are_skipped() {
        let next = next_due(&every(30, 0), at(10, 0, 0), at(11, 10, 0));
        assert_eq!(next, Ok(at(11, 30, 0)));
    }

    #[test]
    fn slot_exactly_now_is_skipped() {
        let next = next_due(&every(30, 0), at(10, 0, 0), at(10, 30, 0));
        assert_eq!(next, Ok(at(11, 0, 0)));
    }

    #[test]
    fn cron_waits_for_matching_minute() {
        assert_eq!(
            first_due(&cron("*/10 * * * *"), at(10, 3, 0)),
            Ok(at(10, 10, 0))
        );
    }

    #[test]
    fn cron_next_is_after_now() {
        let next = next_due(&cron("0 * * * *"), at(10, 0, 0), at(10, 0, 5));
        assert_eq!(next, Ok(at(11, 0, 0)));
    }

    #[test]
    fn invalid_cron_is_reported() {
        let error = first_due(&cron("not cron"), at(10, 0, 0)).unwrap_err();
        assert!(matches!(error, TimingError::Cron { .. }));
    }
}

//! Time sources for token and proof lifetimes.
//!
//! Every expiry check in the fake (access tokens, client assertions, DPoP
//! proofs, nonces, rate-limit windows) reads the time through [`Clock`], so
//! tests can move time forward with [`TestClock`] instead of sleeping.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// A source of the current wall-clock time.
pub trait Clock: Send + Sync {
    /// Returns the current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The operating system's clock shifted by a fixed offset, for an org whose
/// clock runs ahead of or behind its clients'. The fake's `Date` headers,
/// token and assertion times and rate-limit resets all follow it.
#[derive(Debug, Clone, Copy)]
pub struct SkewedClock {
    offset: Duration,
    ahead: bool,
}

impl SkewedClock {
    /// Creates a clock `offset` ahead of the system clock.
    pub fn ahead(offset: Duration) -> Self {
        Self {
            offset,
            ahead: true,
        }
    }

    /// Creates a clock `offset` behind the system clock.
    pub fn behind(offset: Duration) -> Self {
        Self {
            offset,
            ahead: false,
        }
    }
}

impl Clock for SkewedClock {
    fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        if self.ahead {
            now + self.offset
        } else {
            now.checked_sub(self.offset)
                .unwrap_or(SystemTime::UNIX_EPOCH)
        }
    }
}

/// A clock that only moves when a test sets or advances it.
pub struct TestClock {
    now: Mutex<SystemTime>,
}

impl TestClock {
    /// Creates a clock that reads `start` until it is changed.
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Creates a clock that starts at the current system time.
    pub fn starting_now() -> Self {
        Self::new(SystemTime::now())
    }

    /// Sets the time that [`Clock::now`] returns.
    pub fn set(&self, now: SystemTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the clock forward by `step`.
    pub fn advance(&self, step: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += step;
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for TestClock {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TestClock")
            .field("now", &self.now())
            .finish()
    }
}

/// Returns `time` as whole seconds since the Unix epoch, rounded down.
///
/// Times before the epoch count as 0 because every JWT time claim is a
/// non-negative `NumericDate`.
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_clock_advances_by_step() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = TestClock::new(start);

        clock.advance(Duration::from_secs(30));

        assert_eq!(clock.now(), start + Duration::from_secs(30));
    }

    #[test]
    fn test_clock_set_replaces_time() {
        let clock = TestClock::new(SystemTime::UNIX_EPOCH);
        let later = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400);

        clock.set(later);

        assert_eq!(clock.now(), later);
    }

    #[test]
    fn skewed_clock_keeps_offset() {
        let before = SystemTime::now();

        let ahead = SkewedClock::ahead(Duration::from_secs(600)).now();
        let behind = SkewedClock::behind(Duration::from_secs(600)).now();

        assert!(ahead >= before + Duration::from_secs(600));
        assert!(behind < before);
    }

    #[test]
    fn unix_seconds_rounds_down() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(1_999);

        assert_eq!(unix_seconds(time), 1);
    }
}

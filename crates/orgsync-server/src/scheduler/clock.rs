//! The clock the scheduler reads and sleeps on, passed in so that tests
//! can move time by hand.
//!
//! Schedules are wall-clock times (cron runs at 02:00 UTC), so the clock
//! deals in `DateTime<Utc>`. [`SystemClock`] sleeps in bounded steps and
//! checks the wall clock again after each, so a clock that jumps (NTP, a
//! suspended VM) delays a run by at most one step.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// A source of the current time that can sleep until a given time.
#[async_trait]
pub trait Clock: Send + Sync + 'static {
    /// Returns the current time.
    fn now(&self) -> DateTime<Utc>;

    /// Returns once [`Clock::now`] is at or past `deadline`.
    async fn sleep_until(&self, deadline: DateTime<Utc>);
}

/// The maximum single sleep of [`SystemClock`] before it rereads the time.
const MAX_SLEEP_STEP: Duration = Duration::from_secs(60);

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        loop {
            let Ok(remaining) = (deadline - Utc::now()).to_std() else {
                return;
            };
            if remaining.is_zero() {
                return;
            }
            tokio::time::sleep(remaining.min(MAX_SLEEP_STEP)).await;
        }
    }
}

/// A clock that keeps its time until [`ManualClock::advance`] or
/// [`ManualClock::set`] moves it, for tests.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    changed: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    /// Creates a clock that reads `start` until moved.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        let (changed, _) = watch::channel(start);
        ManualClock {
            now: Arc::new(Mutex::new(start)),
            changed,
        }
    }

    /// Moves the clock forward by `step`, waking sleepers whose deadline
    /// has come.
    pub fn advance(&self, step: Duration) {
        let step = chrono::Duration::from_std(step).unwrap_or(chrono::Duration::zero());
        let next = self.now() + step;
        self.set(next);
    }

    /// Sets the clock to `time`.
    pub fn set(&self, time: DateTime<Utc>) {
        match self.now.lock() {
            Ok(mut now) => *now = time,
            Err(poisoned) => *poisoned.into_inner() = time,
        }
        self.changed.send_replace(time);
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        match self.now.lock() {
            Ok(now) => *now,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        let mut changes = self.changed.subscribe();
        while self.now() < deadline {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn manual_sleep_ends_when_advanced_past_deadline() {
        let clock = ManualClock::new(start());
        let deadline = start() + chrono::Duration::seconds(10);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });

        clock.advance(Duration::from_secs(5));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());

        clock.advance(Duration::from_secs(5));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn past_deadline_returns_at_once() {
        let clock = ManualClock::new(start());
        let earlier = start() - chrono::Duration::seconds(1);
        tokio::time::timeout(Duration::from_secs(1), clock.sleep_until(earlier))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn system_clock_sleeps_until_deadline() {
        let deadline = Utc::now() + chrono::Duration::milliseconds(30);
        SystemClock.sleep_until(deadline).await;
        assert!(Utc::now() >= deadline);
    }
}

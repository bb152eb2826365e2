//! The loop that starts a provider's scheduled runs.
//!
//! The due time of the next run is kept in the store ([`Store::next_run`]),
//! so every replica that shares the store waits for the same time. When it
//! comes, each replica tries to move the stored due time to the following
//! one with a compare-and-swap ([`Store::replace_next_run`]). The replica
//! whose swap succeeds starts the run, and the others read the new due time
//! and wait again. That gives one run per due time even when a run is shorter
//! than the replicas' timer skew.
//!
//! A stored due time names the schedule it came from. A replica whose
//! schedule differs (after a reload) recomputes it from now. A provider
//! with no stored due time starts after its initial delay. A stored due
//! time in the past, left while every replica was stopped, starts a run at
//! once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orgsync_config::{Frequency, ProviderConfig, Schedule};
use orgsync_store::{NextRun, StoreError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::status::Trigger;
use super::timing::{first_due, next_due, TimingError};
use super::{Inner, SchedulerError};

/// Real time between reads of the stored due time while waiting for it, so
/// that a change another replica makes is seen.
const RECHECK_INTERVAL: Duration = Duration::from_secs(30);

/// Real time to wait before trying the store again after it failed.
const STORE_RETRY_DELAY: Duration = Duration::from_secs(2);

/// The maximum number of reads and writes that agree on a due time before
/// the loop waits and starts over. Each failed swap means another replica
/// wrote, so a few rounds suffice.
const MAX_AGREE_ROUNDS: usize = 5;

/// A reason no due time is known.
enum DueError {
    /// The schedule gives none, until the config changes.
    Timing(TimingError),
    /// The store failed or other replicas kept changing the due time.
    Store(String),
}

/// Names a schedule's frequency for [`NextRun::schedule`]. The timeout and
/// initial delay are left out because changing them keeps the due time.
pub fn schedule_key(schedule: &Schedule) -> String {
    match &schedule.frequency {
        Frequency::Every(interval) => format!("every:{}ms", interval.as_millis()),
        Frequency::Cron(pattern) => format!("cron:{pattern}"),
    }
}

/// Starts runs of one provider when they are due, until `stop` fires.
pub(super) async fn provider_loop(
    inner: Arc<Inner>,
    provider: String,
    mut config: watch::Receiver<Arc<ProviderConfig>>,
    stop: CancellationToken,
) {
    let mut schedule = config.borrow_and_update().schedule.clone();

    loop {
        let due = tokio::select! {
            () = stop.cancelled() => break,
            due = agree_on_due(&inner, &provider, &schedule) => due,
        };
        inner
            .board
            .set_next_run(&provider, due.as_ref().ok().map(|next| next.due_at));
        let wait = async {
            match &due {
                Ok(next) => {
                    tokio::select! {
                        () = inner.clock.sleep_until(next.due_at) => true,
                        () = tokio::time::sleep(RECHECK_INTERVAL) => false,
                    }
                }
                Err(DueError::Timing(error)) => {
                    tracing::error!(provider = %provider, error = %error, "no next run time; the provider runs only on refresh until its schedule is fixed");
                    std::future::pending().await
                }
                Err(DueError::Store(error)) => {
                    tracing::warn!(provider = %provider, error = %error, retry_seconds = STORE_RETRY_DELAY.as_secs(), "reading the next run time from the store failed; retrying");
                    tokio::time::sleep(STORE_RETRY_DELAY).await;
                    false
                }
            }
        };

        let is_due = tokio::select! {
            () = stop.cancelled() => break,
            changed = config.changed() => {
                if changed.is_err() {
                    break;
                }
                let new_schedule = config.borrow_and_update().schedule.clone();
                if schedule_key(&new_schedule) != schedule_key(&schedule) {
                    tracing::info!(provider = %provider, "schedule changed; next run time recomputed");
                }
                schedule = new_schedule;
                continue;
            }
            is_due = wait => is_due,
        };
        let Ok(next) = due else { continue };
        if is_due && take_due_time(&inner, &provider, &schedule, &next).await {
            start_scheduled_run(&inner, &provider).await;
        }
    }
    inner.board.set_next_run(&provider, None);
}

/// Reads the stored due time, storing a first or recomputed one when none
/// matches `schedule`.
async fn agree_on_due(
    inner: &Inner,
    provider: &str,
    schedule: &Schedule,
) -> Result<NextRun, DueError> {
    let key = schedule_key(schedule);
    let store_error = |error: StoreError| DueError::Store(error.to_string());

    for _ in 0..MAX_AGREE_ROUNDS {
        let stored = inner.store.next_run(provider).await.map_err(store_error)?;
        let now = inner.clock.now();
        let (expected_version, due_at) = match &stored {
            Some(next) if next.schedule == key => return Ok(next.clone()),
            // The initial delay applies only when a provider first starts,
            // so a changed schedule counts from now.
            Some(next) => (
                Some(next.version),
                next_due(schedule, now, now).map_err(DueError::Timing)?,
            ),
            None => (None, first_due(schedule, now).map_err(DueError::Timing)?),
        };
        let next = NextRun {
            due_at,
            schedule: key.clone(),
            version: 0,
        };
        // A failed swap means another replica wrote first; read its value.
        inner
            .store
            .replace_next_run(provider, expected_version, &next)
            .await
            .map_err(store_error)?;
    }
    Err(DueError::Store(format!(
        "the stored next run time changed {MAX_AGREE_ROUNDS} times in a row; replicas may \
         have different schedules for this provider"
    )))
}

/// Moves the stored due time from `due` to the one after it. Returns true
/// when this replica did, which makes it the one that starts the run.
async fn take_due_time(inner: &Inner, provider: &str, schedule: &Schedule, due: &NextRun) -> bool {
    let now: DateTime<Utc> = inner.clock.now();
    let following = match next_due(schedule, due.due_at, now) {
        Ok(following) => following,
        Err(error) => {
            tracing::error!(provider, error = %error, "no run time after this one; the provider runs only on refresh until its schedule is fixed");
            return false;
        }
    };
    let next = NextRun {
        due_at: following,
        schedule: due.schedule.clone(),
        version: 0,
    };
    match inner
        .store
        .replace_next_run(provider, Some(due.version), &next)
        .await
    {
        Ok(true) => true,
        Ok(false) => {
            tracing::debug!(
                provider,
                "another replica took this due time and starts the run"
            );
            false
        }
        Err(error) => {
            tracing::warn!(provider, error = %error, "storing the next run time failed; this due time is skipped here");
            false
        }
    }
}

async fn start_scheduled_run(inner: &Arc<Inner>, provider: &str) {
    match inner.start_run(provider, Trigger::Schedule).await {
        Ok(_) => tracing::info!(provider, "scheduled run started"),
        Err(SchedulerError::ShuttingDown) => {}
        Err(error) => tracing::info!(provider, reason = %error, "scheduled run skipped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(frequency: Frequency, timeout_seconds: u64) -> Schedule {
        Schedule {
            frequency,
            timeout: Duration::from_secs(timeout_seconds),
            initial_delay: Duration::ZERO,
        }
    }

    #[test]
    fn interval_key_names_milliseconds() {
        let every = schedule(Frequency::Every(Duration::from_millis(1500)), 60);
        assert_eq!(schedule_key(&every), "every:1500ms");
    }

    #[test]
    fn cron_key_names_pattern() {
        let cron = schedule(Frequency::Cron("0 2 * * *".to_string()), 60);
        assert_eq!(schedule_key(&cron), "cron:0 2 * * *");
    }

    #[test]
    fn timeout_change_keeps_key() {
        let short = schedule(Frequency::Every(Duration::from_secs(60)), 10);
        let long = schedule(Frequency::Every(Duration::from_secs(60)), 50);
        assert_eq!(schedule_key(&short), schedule_key(&long));
    }
}

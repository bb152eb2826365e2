//! The live status of each provider: its schedule, the next due time, the run
//! in progress (phase and counts, updated live through [`LiveRun`], the
//! sync engine's [`Progress`]) and the last finished run.
//!
//! The board is in memory; run history comes from the store. At start-up
//! the last run of each provider is read back from the store, so the status
//! survives a restart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use orgsync_config::{Frequency, ProviderConfig, Schedule};
use orgsync_store::{ChangeSet, RunRecord};
use orgsync_sync::{Phase, Progress, SyncReport};
use serde::Serialize;

use super::approval::RemovalReview;
use crate::metrics::Metrics;

/// The cause of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    /// The provider's schedule.
    Schedule,
    /// `POST /api/orgsync/providers/{id}/refresh`.
    Refresh,
}

/// A provider's schedule, as the status API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    /// The interval in seconds, for interval schedules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_seconds: Option<u64>,
    /// The cron expression, for cron schedules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    pub timeout_seconds: u64,
    pub initial_delay_seconds: u64,
}

impl From<&Schedule> for ScheduleView {
    fn from(schedule: &Schedule) -> ScheduleView {
        let (frequency_seconds, cron) = match &schedule.frequency {
            Frequency::Every(interval) => (Some(interval.as_secs()), None),
            Frequency::Cron(pattern) => (None, Some(pattern.clone())),
        };
        ScheduleView {
            frequency_seconds,
            cron,
            timeout_seconds: schedule.timeout.as_secs(),
            initial_delay_seconds: schedule.initial_delay.as_secs(),
        }
    }
}

/// The progress of a run in flight. The sync engine reports to it from
/// several tasks, so every count is atomic.
pub struct LiveRun {
    provider: String,
    trigger: Trigger,
    started_at: DateTime<Utc>,
    phase: Mutex<Option<Phase>>,
    users: AtomicU64,
    groups: AtomicU64,
    member_lists_planned: AtomicU64,
    member_lists_done: AtomicU64,
    rate_limit_waits: AtomicU64,
    retries: AtomicU64,
    metrics: Arc<Metrics>,
}

/// A snapshot of a [`LiveRun`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentRun {
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    /// The phase the run is in (`groups`, `users`, `members`, `build`,
    /// `plan`, `apply`); `null` before the first one starts.
    pub phase: Option<&'static str>,
    pub users: u64,
    pub groups: u64,
    pub member_lists_planned: u64,
    pub member_lists_done: u64,
    pub rate_limit_waits: u64,
    pub retries: u64,
}

impl LiveRun {
    /// Creates the progress of a run of `provider` that started at `started_at`.
    pub fn new(
        provider: &str,
        trigger: Trigger,
        started_at: DateTime<Utc>,
        metrics: Arc<Metrics>,
    ) -> LiveRun {
        LiveRun {
            provider: provider.to_string(),
            trigger,
            started_at,
            phase: Mutex::new(None),
            users: AtomicU64::new(0),
            groups: AtomicU64::new(0),
            member_lists_planned: AtomicU64::new(0),
            member_lists_done: AtomicU64::new(0),
            rate_limit_waits: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            metrics,
        }
    }

    /// Copies the run's current counts.
    pub fn snapshot(&self) -> CurrentRun {
        let phase = match self.phase.lock() {
            Ok(phase) => *phase,
            Err(poisoned) => *poisoned.into_inner(),
        };
        CurrentRun {
            trigger: self.trigger,
            started_at: self.started_at,
            phase: phase.map(Phase::as_str),
            users: self.users.load(Ordering::Relaxed),
            groups: self.groups.load(Ordering::Relaxed),
            member_lists_planned: self.member_lists_planned.load(Ordering::Relaxed),
            member_lists_done: self.member_lists_done.load(Ordering::Relaxed),
            rate_limit_waits: self.rate_limit_waits.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

fn to_u64(count: usize) -> u64 {
    u64::try_from(count).unwrap_or(u64::MAX)
}

impl Progress for LiveRun {
    fn phase_started(&self, phase: Phase) {
        tracing::debug!(provider = %self.provider, phase = phase.as_str(), "run phase started");
        match self.phase.lock() {
            Ok(mut current) => *current = Some(phase),
            Err(poisoned) => *poisoned.into_inner() = Some(phase),
        }
    }

    fn users_fetched(&self, count: usize) {
        self.users.store(to_u64(count), Ordering::Relaxed);
    }

    fn groups_fetched(&self, count: usize) {
        self.groups.store(to_u64(count), Ordering::Relaxed);
    }

    fn member_lists_planned(&self, groups: usize) {
        self.member_lists_planned
            .store(to_u64(groups), Ordering::Relaxed);
    }

    fn member_list_done(&self, _members: usize) {
        self.member_lists_done.fetch_add(1, Ordering::Relaxed);
    }

    fn rate_limit_wait(&self, bucket: &str, wait: Duration) {
        self.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
        self.metrics
            .record_rate_limit_wait(&self.provider, bucket, wait);
    }

    fn okta_response(&self, endpoint: &str, status: Option<u16>) {
        self.metrics
            .record_okta_response(&self.provider, endpoint, status);
    }

    fn retrying(&self, endpoint: &str, attempt: u32, reason: &str, wait: Duration) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        self.metrics.record_retry(&self.provider, endpoint);
        // The Okta client logs each retry as a warning; this adds the provider.
        tracing::debug!(
            provider = %self.provider,
            endpoint,
            attempt,
            reason,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "retrying an Okta request"
        );
    }
}

/// The change counts of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounts {
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
    pub unchanged: u64,
    pub conflicts: u64,
}

impl From<&ChangeSet> for ChangeCounts {
    fn from(changes: &ChangeSet) -> ChangeCounts {
        ChangeCounts {
            added: to_u64(changes.added.len()),
            updated: to_u64(changes.updated.len()),
            removed: to_u64(changes.removed.len()),
            unchanged: to_u64(changes.unchanged),
            conflicts: to_u64(changes.conflicts.len()),
        }
    }
}

/// A finished run, as the status API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinishedRun {
    /// The run's id in the store's history, when it was recorded.
    pub run_id: Option<i64>,
    /// The cause of the run; `null` for runs read back from the store.
    pub trigger: Option<Trigger>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    /// A [`RunOutcome`](orgsync_store::RunOutcome) name.
    pub outcome: String,
    pub error: Option<String>,
    pub changes: Option<ChangeCounts>,
    pub users: u64,
    pub groups: u64,
    pub api_calls: u64,
    /// Okta requests by endpoint; only known for runs of this process
    /// that succeeded.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub api_calls_by_endpoint: BTreeMap<String, u64>,
    pub retries: Option<u64>,
    pub rate_limit_waits: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl FinishedRun {
    /// Describes a run that this process saw succeed.
    pub fn from_report(
        report: &SyncReport,
        live: &CurrentRun,
        finished_at: DateTime<Utc>,
    ) -> FinishedRun {
        FinishedRun {
            run_id: report.run_id,
            trigger: Some(live.trigger),
            started_at: live.started_at,
            finished_at: Some(finished_at),
            duration_ms: Some(report.duration_ms),
            outcome: if report.dry_run {
                "dry_run"
            } else {
                "succeeded"
            }
            .to_string(),
            error: None,
            changes: Some(ChangeCounts::from(&report.changes)),
            users: to_u64(report.users),
            groups: to_u64(report.groups),
            api_calls: report.api_calls,
            api_calls_by_endpoint: report.api_calls_by_endpoint.clone(),
            retries: Some(report.retries),
            rate_limit_waits: report.rate_limit_waits,
            warnings: report.warnings.clone(),
        }
    }

    /// Describes a run that this process saw fail, time out or get cancelled.
    pub fn from_failure(
        outcome: &str,
        error: String,
        live: &CurrentRun,
        finished_at: DateTime<Utc>,
    ) -> FinishedRun {
        let duration = (finished_at - live.started_at).to_std().unwrap_or_default();
        FinishedRun {
            run_id: None,
            trigger: Some(live.trigger),
            started_at: live.started_at,
            finished_at: Some(finished_at),
            duration_ms: Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
            outcome: outcome.to_string(),
            error: Some(error),
            changes: None,
            users: live.users,
            groups: live.groups,
            api_calls: 0,
            api_calls_by_endpoint: BTreeMap::new(),
            retries: Some(live.retries),
            rate_limit_waits: live.rate_limit_waits,
            warnings: Vec::new(),
        }
    }

    /// Describes a run read back from the store's history.
    pub fn from_record(record: &RunRecord) -> FinishedRun {
        let duration_ms = record
            .finished_at
            .and_then(|finished| (finished - record.started_at).to_std().ok())
            .map(|duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
        let count = |value: i64| u64::try_from(value).unwrap_or(0);
        FinishedRun {
            run_id: Some(record.id),
            trigger: None,
            started_at: record.started_at,
            finished_at: record.finished_at,
            duration_ms,
            outcome: record.outcome.as_str().to_string(),
            error: record.error.clone(),
            changes: Some(ChangeCounts {
                added: count(record.added),
                updated: count(record.updated),
                removed: count(record.removed),
                unchanged: count(record.unchanged),
                conflicts: count(record.conflicts),
            }),
            users: count(record.users),
            groups: count(record.groups),
            api_calls: count(record.api_calls),
            api_calls_by_endpoint: BTreeMap::new(),
            retries: None,
            rate_limit_waits: count(record.rate_limit_waits),
            warnings: Vec::new(),
        }
    }
}

/// One provider's entry on the board.
struct Entry {
    okta_url: String,
    schedule: ScheduleView,
    next_run_at: Option<DateTime<Utc>>,
    current: Option<Arc<LiveRun>>,
    last: Option<FinishedRun>,
    removal_review: Option<RemovalReview>,
}

/// A provider's status, as `GET /api/orgsync/providers/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    pub id: String,
    pub okta_url: String,
    pub schedule: ScheduleView,
    /// When the schedule next starts a run; `null` while the schedule
    /// cannot compute one (an invalid cron expression) or during shutdown.
    pub next_run_at: Option<DateTime<Utc>>,
    pub running: bool,
    pub current_run: Option<CurrentRun>,
    pub last_run: Option<FinishedRun>,
    /// A run blocked by the removal guard, or its approval, while one is
    /// pending.
    pub removal_review: Option<RemovalReview>,
}

/// Every provider's status.
#[derive(Default)]
pub struct StatusBoard {
    entries: RwLock<BTreeMap<String, Entry>>,
}

impl StatusBoard {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Entry>> {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a provider, or updates its settings, keeping its runs.
    pub fn upsert(&self, provider: &ProviderConfig) {
        let mut entries = self.write();
        let entry = entries.entry(provider.id.clone()).or_insert_with(|| Entry {
            okta_url: String::new(),
            schedule: ScheduleView::from(&provider.schedule),
            next_run_at: None,
            current: None,
            last: None,
            removal_review: None,
        });
        entry.okta_url = provider.okta_url.to_string();
        entry.schedule = ScheduleView::from(&provider.schedule);
    }

    /// Drops a provider that left the config.
    pub fn remove(&self, provider: &str) {
        self.write().remove(provider);
    }

    /// Sets the last run read back from the store, unless this process has
    /// already seen a newer one.
    pub fn set_last_if_unknown(&self, provider: &str, run: FinishedRun) {
        if let Some(entry) = self.write().get_mut(provider) {
            if entry.last.is_none() {
                entry.last = Some(run);
            }
        }
    }

    /// Sets the last run read back from the store when it started later
    /// than the last one on the board, as runs of other replicas do. It also
    /// replaces the same run while the board still shows it as running.
    pub fn set_last_if_newer(&self, provider: &str, run: FinishedRun) {
        if let Some(entry) = self.write().get_mut(provider) {
            let newer = match &entry.last {
                None => true,
                Some(last) if last.run_id == run.run_id => last.outcome == "running",
                Some(last) => run.started_at > last.started_at,
            };
            if newer {
                entry.last = Some(run);
            }
        }
    }

    /// Records when the provider's schedule next starts a run.
    pub fn set_next_run(&self, provider: &str, at: Option<DateTime<Utc>>) {
        if let Some(entry) = self.write().get_mut(provider) {
            entry.next_run_at = at;
        }
    }

    /// Marks a run as started.
    pub fn run_started(&self, provider: &str, run: Arc<LiveRun>) {
        if let Some(entry) = self.write().get_mut(provider) {
            entry.current = Some(run);
        }
    }

    /// Marks the running run as finished.
    pub fn run_finished(&self, provider: &str, run: FinishedRun) {
        if let Some(entry) = self.write().get_mut(provider) {
            entry.current = None;
            entry.last = Some(run);
        }
    }

    /// Runs `update` on the provider's removal review under the board's
    /// lock. Returns `None` when the provider is unknown.
    pub(crate) fn update_removal_review<R>(
        &self,
        provider: &str,
        update: impl FnOnce(&mut Option<RemovalReview>) -> R,
    ) -> Option<R> {
        self.write()
            .get_mut(provider)
            .map(|entry| update(&mut entry.removal_review))
    }

    /// Returns the status of one provider.
    pub fn provider(&self, provider: &str) -> Option<ProviderStatus> {
        self.read()
            .get(provider)
            .map(|entry| status_of(provider, entry))
    }

    /// Returns the status of every provider, by id.
    pub fn providers(&self) -> Vec<ProviderStatus> {
        self.read()
            .iter()
            .map(|(id, entry)| status_of(id, entry))
            .collect()
    }

    /// Returns the id of every provider.
    pub fn ids(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }
}

fn status_of(id: &str, entry: &Entry) -> ProviderStatus {
    let current_run = entry.current.as_ref().map(|run| run.snapshot());
    ProviderStatus {
        id: id.to_string(),
        okta_url: entry.okta_url.clone(),
        schedule: entry.schedule.clone(),
        next_run_at: entry.next_run_at,
        running: current_run.is_some(),
        current_run,
        last_run: entry.last.clone(),
        removal_review: entry.removal_review.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> LiveRun {
        LiveRun::new(
            "prod",
            Trigger::Refresh,
            Utc::now(),
            Arc::new(Metrics::new()),
        )
    }

    #[test]
    fn progress_updates_snapshot() {
        let run = live();
        run.phase_started(Phase::Members);
        run.member_lists_planned(4);
        run.member_list_done(10);
        run.member_list_done(3);
        let snapshot = run.snapshot();
        assert_eq!(snapshot.phase, Some("members"));
        assert_eq!(snapshot.member_lists_planned, 4);
        assert_eq!(snapshot.member_lists_done, 2);
    }

    #[test]
    fn retries_reach_metrics() {
        let run = live();
        run.retrying(
            "GET /api/v1/users",
            1,
            "HTTP 503",
            Duration::from_millis(10),
        );
        assert!(run.metrics.encode().contains(
            "orgsync_okta_retries_total{provider=\"prod\",endpoint=\"GET /api/v1/users\"} 1"
        ));
        assert_eq!(run.snapshot().retries, 1);
    }

    #[test]
    fn failure_keeps_live_counts() {
        let run = live();
        run.users_fetched(12);
        let finished =
            FinishedRun::from_failure("failed", "boom".to_string(), &run.snapshot(), Utc::now());
        assert_eq!(finished.users, 12);
        assert_eq!(finished.error.as_deref(), Some("boom"));
    }
}

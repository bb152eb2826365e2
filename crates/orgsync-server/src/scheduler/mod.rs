//! The provider scheduler: one loop per configured provider that starts
//! sync runs on the provider's schedule, plus runs started on request.
//!
//! Terms:
//! - *slot*: a provider's place in the scheduler: its current settings, the
//!   local claim a run must hold, and the tokens that stop its loop and
//!   cancel its runs;
//! - *claim*: a per-provider lock held for the whole run, so runs of one
//!   provider never overlap. It has two parts: a local one for this
//!   process and one in the store that every replica sharing the store
//!   respects ([`claims`]). A scheduled run that finds the claim taken is
//!   skipped, a refresh gets [`SchedulerError::AlreadyRunning`] or
//!   [`SchedulerError::ClaimedElsewhere`];
//! - *due time*: when the schedule next starts a run ([`timing`]), kept in
//!   the store so that replicas agree on it ([`provider_loop`]).
//!
//! A run's timeout is enforced by the sync engine, which leaves the catalog
//! unchanged when it passes. New settings ([`Scheduler::apply_providers`])
//! take effect at once: the next run of a provider uses them, a changed
//! frequency is recomputed from now, a removed provider's loop stops and its
//! run is cancelled with no change. On shutdown the loops stop, running
//! runs get a grace period to finish, and are then cancelled.
//!
//! Runs left recorded as running by a process that died are marked
//! abandoned: on a SQLite store when the scheduler starts
//! ([`Scheduler::recover_interrupted_runs`]), on a shared store within a
//! few seconds after the dead holder's claim expires, and on any store
//! when a replica next takes the provider's claim.

pub mod approval;
pub mod claims;
pub mod clock;
mod provider_loop;
pub mod status;
pub mod timing;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use orgsync_config::ProviderConfig;
use orgsync_store::{EntityQuery, Store, StoreClient};
use orgsync_sync::{SyncError, SyncOptions, SyncReport};
use tokio::sync::{broadcast, watch, OwnedMutexGuard};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;
use approval::{ApprovalError, RemovalReview};
use clock::Clock;
use provider_loop::provider_loop;
use status::{FinishedRun, LiveRun, StatusBoard, Trigger};

/// The entity kinds orgsync writes, for the per-kind gauges.
const KINDS: [&str; 2] = ["User", "Group"];

/// A reason a run could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// No provider has this id.
    #[error(
        "no provider has the id {provider:?}; GET /api/orgsync/providers lists the configured ones"
    )]
    UnknownProvider { provider: String },
    /// A run of this provider is in progress.
    #[error(
        "provider {provider} is already running (since {started_at}); wait for that run to \
         finish, then refresh again"
    )]
    AlreadyRunning {
        provider: String,
        started_at: String,
    },
    /// Another replica that shares the store has the provider's claim.
    #[error(
        "provider {provider} is being synced by another orgsync replica that shares the \
         database; wait for that run to finish, then refresh again"
    )]
    ClaimedElsewhere { provider: String },
    /// The claim could not be taken because the store failed.
    #[error(
        "claiming provider {provider} in the database failed: {reason}; check that the \
         database is reachable, then refresh again"
    )]
    ClaimFailed { provider: String, reason: String },
    /// The server is shutting down and starts no more runs.
    #[error("the server is shutting down and starts no new runs")]
    ShuttingDown,
}

/// The changes [`Scheduler::apply_providers`] made, by provider id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Providers that stay; their new settings apply from their next run.
    pub kept: Vec<String>,
}

/// A started run.
pub struct RunHandle {
    /// Ends with the finished run; may be dropped to let the run go on alone.
    pub finished: JoinHandle<FinishedRun>,
}

/// A provider's place in the scheduler.
struct Slot {
    config: watch::Sender<Arc<ProviderConfig>>,
    claim: Arc<tokio::sync::Mutex<()>>,
    /// Ends the provider's loop.
    stop: CancellationToken,
    /// Cancels the provider's runs.
    cancel_runs: CancellationToken,
}

struct Inner {
    store: Arc<dyn Store>,
    /// This process's name in the store's claims.
    holder: String,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    board: StatusBoard,
    sync_options: SyncOptions,
    slots: Mutex<BTreeMap<String, Slot>>,
    /// Stops every loop and makes new runs fail with `ShuttingDown`.
    stop_scheduling: CancellationToken,
    /// Cancels every run; the parent of each slot's `cancel_runs`.
    abandon: CancellationToken,
    runs: TaskTracker,
    loops: TaskTracker,
    finished: broadcast::Sender<(String, FinishedRun)>,
}

/// Starts and tracks the sync runs of every provider. Cloning is cheap and
/// every clone drives the same scheduler.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

impl Scheduler {
    /// Creates a scheduler with no providers; [`Scheduler::apply_providers`]
    /// adds them.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> Scheduler {
        let (finished, _) = broadcast::channel(64);
        Scheduler {
            inner: Arc::new(Inner {
                store,
                holder: claims::holder_name(),
                clock,
                metrics,
                board: StatusBoard::default(),
                sync_options: SyncOptions::default(),
                slots: Mutex::new(BTreeMap::new()),
                stop_scheduling: CancellationToken::new(),
                abandon: CancellationToken::new(),
                runs: TaskTracker::new(),
                loops: TaskTracker::new(),
                finished,
            }),
        }
    }

    /// Returns the live status of every provider.
    pub fn status(&self) -> &StatusBoard {
        &self.inner.board
    }

    /// Returns the catalog store that runs write to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Receives `(provider, run)` for every run that finishes from now on.
    pub fn subscribe_finished(&self) -> broadcast::Receiver<(String, FinishedRun)> {
        self.inner.finished.subscribe()
    }

    /// Replaces the set of providers: starts loops for new ids, stops the
    /// loops (and cancels the runs) of ids that are gone, and hands new
    /// settings to the rest.
    ///
    /// This is the reload entry point for every source of provider
    /// settings: SIGHUP calls it with the providers of the reread config
    /// files ([`crate::reload::reload_from_files`]), and code that changes
    /// settings at run time calls it with the complete new set. It takes
    /// effect at once, needs no runtime context beyond the one the
    /// scheduler runs on, and may be called from any task. A run in
    /// progress keeps the settings it started with.
    pub fn apply_providers(&self, providers: Vec<ProviderConfig>) -> ReloadSummary {
        let mut summary = ReloadSummary::default();
        let configured_ids: BTreeSet<String> = providers
            .iter()
            .map(|provider| provider.id.clone())
            .collect();
        let mut slots = self.inner.lock_slots();

        let removed_ids: Vec<String> = slots
            .keys()
            .filter(|id| !configured_ids.contains(*id))
            .cloned()
            .collect();
        for id in removed_ids {
            if let Some(slot) = slots.remove(&id) {
                slot.stop.cancel();
                slot.cancel_runs.cancel();
            }
            self.inner.board.remove(&id);
            self.inner.metrics.forget_provider(&id, &KINDS);
            summary.removed.push(id);
        }

        for provider in providers {
            let id = provider.id.clone();
            self.inner.board.upsert(&provider);
            let config = Arc::new(provider);
            if let Some(slot) = slots.get(&id) {
                slot.config.send_replace(config);
                summary.kept.push(id);
                continue;
            }
            let slot = self.inner.new_slot(config);
            let receiver = slot.config.subscribe();
            let stop = slot.stop.clone();
            slots.insert(id.clone(), slot);
            let inner = Arc::clone(&self.inner);
            self.inner
                .loops
                .spawn(provider_loop(inner, id.clone(), receiver, stop.clone()));
            let inner = Arc::clone(&self.inner);
            self.inner
                .loops
                .spawn(follow_other_replicas(inner, id.clone(), stop));
            summary.added.push(id);
        }
        drop(slots);

        tracing::info!(
            added = ?summary.added,
            removed = ?summary.removed,
            kept = summary.kept.len(),
            "provider settings applied"
        );
        summary
    }

    /// Reads each provider's last run and entity counts from the store, so
    /// that status and metrics are right from the start.
    pub async fn load_history(&self) {
        for id in self.inner.board.ids() {
            match self.inner.store.runs(Some(&id), 2).await {
                Ok(records) => {
                    // A run still going (an `orgsync sync` command, or another
                    // replica) is not the last run yet; the follower shows it
                    // once it ends.
                    let finished = records
                        .iter()
                        .find(|record| record.outcome != orgsync_store::RunOutcome::Running);
                    if let Some(record) = finished {
                        self.inner
                            .board
                            .set_last_if_unknown(&id, FinishedRun::from_record(record));
                    }
                }
                Err(error) => {
                    tracing::warn!(provider = %id, error = %error, "reading the last run from the store failed");
                }
            }
            self.inner.refresh_entity_gauges(&id).await;
        }
    }

    /// Returns this process's name in the store's claims.
    pub fn holder(&self) -> &str {
        &self.inner.holder
    }

    /// Marks runs that a stopped process left recorded as running as
    /// abandoned and frees its claims, on a SQLite store. A SQLite file
    /// serves one `orgsync serve` process, so at start no other process
    /// runs a scheduled sync on it. A PostgreSQL store is shared by
    /// replicas that may be running syncs now, so there a run is abandoned
    /// only when its claim has expired ([`claims`]).
    ///
    /// NOTE: an `orgsync sync` command running on the same SQLite file at
    /// that moment has its run marked abandoned too, until it records its
    /// own outcome when it ends.
    pub async fn recover_interrupted_runs(&self) {
        let store = &self.inner.store;
        if store.client() != StoreClient::Sqlite {
            return;
        }
        if let Err(error) = store.release_all_claims().await {
            tracing::warn!(error = %error, "freeing the claims of a stopped process failed");
        }
        let now = Utc::now();
        match store
            .abandon_runs(None, now, now, claims::ABANDONED_ERROR)
            .await
        {
            Ok(ids) if ids.is_empty() => {}
            Ok(ids) => {
                tracing::warn!(run_ids = ?ids, "marked runs left running by a stopped process as abandoned")
            }
            Err(error) => {
                tracing::warn!(error = %error, "marking runs left running by a stopped process as abandoned failed")
            }
        }
    }

    /// Approves `provider`'s run blocked by the removal guard, once: its
    /// next run applies if it removes at most as many entities.
    pub fn approve_removals(&self, provider: &str) -> Result<RemovalReview, ApprovalError> {
        let review = approval::approve(&self.inner.board, provider, self.inner.clock.now())?;
        tracing::info!(provider, review = ?review, "removal guard approval recorded");
        Ok(review)
    }

    /// Starts a run of `provider` now, unless one is in progress here or
    /// on another replica.
    pub async fn refresh(&self, provider: &str) -> Result<RunHandle, SchedulerError> {
        self.inner.start_run(provider, Trigger::Refresh).await
    }

    /// Stops the loops and rejects new runs, waits up to `grace` for running
    /// runs to finish, then cancels the rest (which leaves the catalog as it
    /// was) and waits for them to stop.
    pub async fn shutdown(&self, grace: Duration) {
        let inner = &self.inner;
        inner.stop_scheduling.cancel();
        inner.runs.close();
        inner.loops.close();

        let running = inner.runs.len();
        if running > 0 {
            tracing::info!(
                running,
                grace_seconds = grace.as_secs(),
                "waiting for running syncs to finish"
            );
        }
        if tokio::time::timeout(grace, inner.runs.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = inner.runs.len(),
                "syncs still running after the shutdown grace period are cancelled; the catalog keeps its state from before them"
            );
            inner.abandon.cancel();
            inner.runs.wait().await;
        }
        inner.loops.wait().await;
        tracing::info!("scheduler stopped");
    }
}

impl Inner {
    fn lock_slots(&self) -> MutexGuard<'_, BTreeMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn new_slot(&self, config: Arc<ProviderConfig>) -> Slot {
        let (sender, _) = watch::channel(config);
        Slot {
            config: sender,
            claim: Arc::new(tokio::sync::Mutex::new(())),
            stop: self.stop_scheduling.child_token(),
            cancel_runs: self.abandon.child_token(),
        }
    }

    /// Claims the provider, here and in the store, and spawns its run.
    async fn start_run(
        self: &Arc<Self>,
        provider: &str,
        trigger: Trigger,
    ) -> Result<RunHandle, SchedulerError> {
        if self.stop_scheduling.is_cancelled() {
            return Err(SchedulerError::ShuttingDown);
        }
        let (guard, config, cancel) = self.claim(provider)?;
        self.claim_in_store(&config).await?;
        claims::abandon_orphaned_runs(self.store.as_ref(), provider).await;

        let live = Arc::new(LiveRun::new(
            provider,
            trigger,
            self.clock.now(),
            Arc::clone(&self.metrics),
        ));
        self.board.run_started(provider, Arc::clone(&live));
        let inner = Arc::clone(self);
        let finished = self
            .runs
            .spawn(async move { inner.execute(config, live, cancel, guard).await });
        Ok(RunHandle { finished })
    }

    /// Takes the provider's claim, with its current settings and a token
    /// that cancels the run.
    fn claim(
        &self,
        provider: &str,
    ) -> Result<(OwnedMutexGuard<()>, Arc<ProviderConfig>, CancellationToken), SchedulerError> {
        let slots = self.lock_slots();
        let slot = slots
            .get(provider)
            .ok_or_else(|| SchedulerError::UnknownProvider {
                provider: provider.to_string(),
            })?;
        let guard = Arc::clone(&slot.claim).try_lock_owned().map_err(|_| {
            let started_at = self
                .board
                .provider(provider)
                .and_then(|status| status.current_run)
                .map_or_else(|| "just now".to_string(), |run| run.started_at.to_rfc3339());
            SchedulerError::AlreadyRunning {
                provider: provider.to_string(),
                started_at,
            }
        })?;
        let config = Arc::clone(&slot.config.borrow());
        Ok((guard, config, slot.cancel_runs.child_token()))
    }

    /// Takes the provider's claim in the store for one claim lifetime.
    async fn claim_in_store(&self, config: &ProviderConfig) -> Result<(), SchedulerError> {
        let provider = &config.id;
        let ttl = claims::claim_ttl(&config.schedule);
        match self
            .store
            .try_claim(provider, &self.holder, self.clock.now(), ttl)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(SchedulerError::ClaimedElsewhere {
                provider: provider.clone(),
            }),
            Err(error) => Err(SchedulerError::ClaimFailed {
                provider: provider.clone(),
                reason: error.to_string(),
            }),
        }
    }

    /// Frees the provider's claim in the store. On failure the claim
    /// expires by itself.
    async fn release_in_store(&self, provider: &str) {
        if let Err(error) = self.store.release_claim(provider, &self.holder).await {
            tracing::warn!(provider, error = %error, "releasing the run's claim failed; it expires by itself");
        }
    }

    /// Runs the sync engine while renewing the claim, and records the
    /// outcome on the board, in the metrics and for subscribers. The claim
    /// is released after the board shows the run finished and before
    /// subscribers hear of it, so a subscriber can start the next run at
    /// once.
    async fn execute(
        &self,
        config: Arc<ProviderConfig>,
        live: Arc<LiveRun>,
        cancel: CancellationToken,
        claim: OwnedMutexGuard<()>,
    ) -> FinishedRun {
        let provider = config.id.clone();
        let started = Instant::now();
        let renewal = claims::renew_claim(
            Arc::clone(&self.store),
            Arc::clone(&self.clock),
            provider.clone(),
            self.holder.clone(),
            claims::claim_ttl(&config.schedule),
            cancel.clone(),
        );
        let engine = self.run_engine(Arc::clone(&config), Arc::clone(&live), cancel);
        let result = tokio::select! {
            biased;
            result = engine => result,
            never = renewal => match never {},
        };
        let elapsed = started.elapsed();

        approval::run_finished(&self.board, &provider, &result, self.clock.now());
        let finished = self.finished_run(&provider, &result, &live).await;
        self.metrics
            .record_run(&provider, &finished.outcome, elapsed);
        self.refresh_entity_gauges(&provider).await;

        self.board.run_finished(&provider, finished.clone());
        self.release_in_store(&provider).await;
        drop(claim);
        // Sending fails only when no subscriber exists, which is fine.
        let _ = self.finished.send((provider, finished.clone()));
        finished
    }

    /// Runs the sync engine as a task of its own, so that a panic in it
    /// fails the run instead of the provider's loop.
    async fn run_engine(
        &self,
        config: Arc<ProviderConfig>,
        live: Arc<LiveRun>,
        cancel: CancellationToken,
    ) -> Result<SyncReport, SyncError> {
        let store = Arc::clone(&self.store);
        let options = SyncOptions {
            approved_removals: approval::approved_removals(&self.board, &config.id),
            ..self.sync_options.clone()
        };
        let provider = config.id.clone();
        let task = tokio::spawn(async move {
            let progress: Arc<dyn orgsync_sync::Progress> = live;
            orgsync_sync::run_provider(&config, store.as_ref(), &options, progress, cancel).await
        });
        match task.await {
            Ok(result) => result,
            Err(join) => {
                tracing::error!(provider = %provider, error = %join, "the sync task panicked");
                Err(SyncError::Cancelled { provider })
            }
        }
    }

    async fn finished_run(
        &self,
        provider: &str,
        result: &Result<SyncReport, SyncError>,
        live: &LiveRun,
    ) -> FinishedRun {
        let snapshot = live.snapshot();
        let now = self.clock.now();
        match result {
            Ok(report) => FinishedRun::from_report(report, &snapshot, now),
            Err(error) => {
                let mut finished =
                    FinishedRun::from_failure(outcome_of(error), error.to_string(), &snapshot, now);
                // The engine records the run but returns no id on failure.
                // The newest record of the provider is this run, because
                // the claim keeps runs of one provider apart.
                if let Ok(records) = self.store.runs(Some(provider), 1).await {
                    if let Some(record) = records.first() {
                        finished.run_id = Some(record.id);
                        finished.api_calls = u64::try_from(record.api_calls).unwrap_or(0);
                        finished.rate_limit_waits =
                            u64::try_from(record.rate_limit_waits).unwrap_or(0);
                    }
                }
                finished
            }
        }
    }

    async fn refresh_entity_gauges(&self, provider: &str) {
        for kind in KINDS {
            let query = EntityQuery {
                kind: Some(kind.to_string()),
                provider: Some(provider.to_string()),
                ..EntityQuery::default()
            };
            match self.store.count_entities(&query).await {
                Ok(count) => self.metrics.set_entities(provider, kind, count),
                Err(error) => {
                    tracing::warn!(provider, kind, error = %error, "counting entities for metrics failed");
                }
            }
        }
    }
}

impl Inner {
    /// Marks `provider`'s runs recorded as running as abandoned when no
    /// replica has its claim. A live run's claim is renewed until the run
    /// records its end, so a free claim beside a running row means the
    /// process running it died, and the row is abandoned as soon as its
    /// claim expires instead of at the provider's next run.
    async fn abandon_if_unclaimed(&self, provider: &str) {
        let local = {
            let slots = self.lock_slots();
            let Some(slot) = slots.get(provider) else {
                return;
            };
            Arc::clone(&slot.claim).try_lock_owned()
        };
        // A run of this process has the local claim.
        let Ok(local) = local else { return };
        // NOTE: a replica whose due time comes while this check holds the
        // claim (a few milliseconds) skips that due time.
        let claimed = self
            .store
            .try_claim(
                provider,
                &self.holder,
                self.clock.now(),
                claims::CLAIM_MARGIN,
            )
            .await;
        if !matches!(claimed, Ok(true)) {
            return;
        }
        claims::abandon_orphaned_runs(self.store.as_ref(), provider).await;
        self.release_in_store(provider).await;
        drop(local);
    }
}

/// Real time between reads of a provider's last run from the store.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(3);

/// Copies the runs that other replicas or `orgsync sync` commands finish
/// from the store to the board, and their entity counts to the metrics,
/// every [`FOLLOW_INTERVAL`] until `stop` fires. It also marks a run
/// abandoned once the claim of the process that left it running has expired.
async fn follow_other_replicas(inner: Arc<Inner>, provider: String, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(FOLLOW_INTERVAL) => {}
        }
        let records = match inner.store.runs(Some(&provider), 2).await {
            Ok(records) => records,
            Err(error) => {
                tracing::debug!(provider = %provider, error = %error, "reading the last run from the store failed");
                continue;
            }
        };
        let newest_running = records
            .first()
            .is_some_and(|record| record.outcome == orgsync_store::RunOutcome::Running);
        if newest_running {
            inner.abandon_if_unclaimed(&provider).await;
        }
        let finished = records
            .iter()
            .find(|record| record.outcome != orgsync_store::RunOutcome::Running);
        if let Some(record) = finished {
            inner
                .board
                .set_last_if_newer(&provider, FinishedRun::from_record(record));
        }
        inner.refresh_entity_gauges(&provider).await;
    }
}

/// Names the [`RunOutcome`](orgsync_store::RunOutcome) of a run that did
/// not apply.
fn outcome_of(error: &SyncError) -> &'static str {
    match error {
        error if error.is_blocked() => "blocked",
        SyncError::Cancelled { .. } | SyncError::TimedOut { .. } => "cancelled",
        _ => "failed",
    }
}

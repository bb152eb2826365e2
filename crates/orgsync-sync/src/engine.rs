//! One run of one provider, from Okta to the catalog.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::stream::{FuturesUnordered, StreamExt};
use orgsync_config::{GroupFilter, ProviderConfig};
use orgsync_model::{Entity, OktaGroup, OktaSnapshot, OktaUser};
use orgsync_okta::{ClientConfig, ClientObserver, Endpoint, OktaClient, OktaError};
use orgsync_store::{ChangeSet, PreparedEntities, RunOutcome, RunSummary, Store};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::SyncError;
use crate::progress::{Phase, Progress};
use crate::selection::{match_group_names, name_batches};

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Plan only: compute and report the change set, write no entities.
    pub dry_run: bool,
    /// Apply even when the removal guard would stop the run (one run only).
    pub approve_removals: bool,
    /// An approval of a blocked run: the removal guard lets this run apply
    /// when it removes at most this many entities.
    pub approved_removals: Option<usize>,
}

/// The outcome of a run: the change it applied (or, for a dry run, would
/// apply) and the figures behind it.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub provider: String,
    pub run_id: Option<i64>,
    pub dry_run: bool,
    pub changes: ChangeSet,
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
    pub api_calls: u64,
    pub api_calls_by_endpoint: BTreeMap<String, u64>,
    pub retries: u64,
    pub rate_limit_waits: u64,
    pub duration_ms: u64,
    pub warnings: Vec<String>,
    pub unmatched_group_names: Vec<String>,
}

/// The records read from Okta, before they become entities.
struct ReadResult {
    snapshot: OktaSnapshot,
    warnings: Vec<String>,
    unmatched_group_names: Vec<String>,
}

/// Runs one provider: reads Okta, plans, and (unless `dry_run`) applies the
/// change in one transaction. The run is recorded in the store's run
/// history, except a dry run, which writes nothing to the store.
///
/// The reading phases stop when `cancel` fires or the provider's
/// `schedule.timeout` passes; the catalog is then left unchanged. Once the
/// apply transaction has started it is allowed to finish, so the outcome
/// recorded is always the one the catalog shows.
pub async fn run_provider(
    provider: &ProviderConfig,
    store: &dyn Store,
    options: &SyncOptions,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let run_id = if options.dry_run {
        None
    } else {
        let id = store
            .start_run(&provider.id, Utc::now())
            .await
            .map_err(|source| store_error(provider, source))?;
        Some(id)
    };
    tracing::info!(provider = %provider.id, run_id, dry_run = options.dry_run, "sync started");

    let client = build_client(provider, progress.clone())?;
    let result = execute(
        provider, store, options, &client, progress, &cancel, started,
    )
    .await;
    let stats = client.stats();
    let summary = RunSummary {
        users: 0,
        groups: 0,
        api_calls: stats.api_calls as i64,
        rate_limit_waits: stats.rate_limit_waits as i64,
    };

    match result {
        Ok(mut report) => {
            report.run_id = run_id;
            report.api_calls = stats.api_calls;
            report.api_calls_by_endpoint = stats.calls_by_endpoint.clone();
            report.retries = stats.retries;
            report.rate_limit_waits = stats.rate_limit_waits;
            report.duration_ms = started.elapsed().as_millis() as u64;
            let outcome = if options.dry_run {
                RunOutcome::DryRun
            } else {
                RunOutcome::Succeeded
            };
            let summary = RunSummary {
                users: report.users as i64,
                groups: report.groups as i64,
                ..summary
            };
            record_finish(
                store,
                run_id,
                outcome,
                Some(&report.changes),
                &summary,
                None,
            )
            .await;
            log_finished(&report);
            Ok(report)
        }
        Err(error) => {
            let outcome = match &error {
                error if error.is_blocked() => RunOutcome::Blocked,
                SyncError::Cancelled { .. } | SyncError::TimedOut { .. } => RunOutcome::Cancelled,
                _ => RunOutcome::Failed,
            };
            let message = error.to_string();
            record_finish(store, run_id, outcome, None, &summary, Some(&message)).await;
            tracing::error!(provider = %provider.id, run_id, error = %message, "sync did not apply");
            Err(error)
        }
    }
}

async fn execute(
    provider: &ProviderConfig,
    store: &dyn Store,
    options: &SyncOptions,
    client: &OktaClient,
    progress: Arc<dyn Progress>,
    cancel: &CancellationToken,
    started: Instant,
) -> Result<SyncReport, SyncError> {
    let timeout = provider.schedule.timeout;
    let reading = read_org(provider, client, progress.as_ref());
    let read = tokio::select! {
        result = tokio::time::timeout(timeout, reading) => match result {
            Ok(read) => read?,
            Err(_) => return Err(timed_out(provider, timeout)),
        },
        () = cancel.cancelled() => return Err(SyncError::Cancelled { provider: provider.id.clone() }),
    };

    progress.phase_started(Phase::Build);
    let (entities, mut warnings) = build(provider, &read.snapshot);
    warnings.extend(read.warnings);
    let memberships = read.snapshot.members.values().map(Vec::len).sum();
    // The Okta records are not needed past this point, so freeing them
    // before the store prepares its rows lowers the run's peak memory.
    drop(read.snapshot);
    let users = count_kind(&entities, "User");
    let groups = count_kind(&entities, "Group");
    // Preparing consumes the entities: only their serialized form is kept,
    // and planning and applying share it.
    let entities =
        PreparedEntities::prepare(entities).map_err(|source| store_error(provider, source))?;

    progress.phase_started(Phase::Plan);
    let plan = store
        .plan_prepared(&provider.id, &entities)
        .await
        .map_err(|source| store_error(provider, source))?;
    check_removal_guard(provider, options, &plan)?;

    let changes = if options.dry_run {
        plan
    } else {
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled {
                provider: provider.id.clone(),
            });
        }
        if started.elapsed() > timeout {
            return Err(timed_out(provider, timeout));
        }
        progress.phase_started(Phase::Apply);
        store
            .replace_prepared(&provider.id, &entities)
            .await
            .map_err(|source| store_error(provider, source))?
    };

    Ok(SyncReport {
        provider: provider.id.clone(),
        run_id: None,
        dry_run: options.dry_run,
        changes,
        users,
        groups,
        memberships,
        api_calls: 0,
        api_calls_by_endpoint: BTreeMap::new(),
        retries: 0,
        rate_limit_waits: 0,
        duration_ms: 0,
        warnings,
        unmatched_group_names: read.unmatched_group_names,
    })
}

/// Reads groups, users and memberships; fails on the first error so that a
/// group is never ingested without its members.
///
/// Users and member lists count against different rate-limit buckets, so
/// they are listed at the same time: a wait for one bucket's window does
/// not hold back requests to the other.
async fn read_org(
    provider: &ProviderConfig,
    client: &OktaClient,
    progress: &dyn Progress,
) -> Result<ReadResult, SyncError> {
    progress.phase_started(Phase::Groups);
    let (groups, unmatched, mut warnings) = read_groups(provider, client).await?;
    let groups: Vec<OktaGroup> = groups
        .into_iter()
        .filter(|group| {
            provider.selection.include_built_in_groups || group.group_type != "BUILT_IN"
        })
        .collect();
    progress.groups_fetched(groups.len());

    // With onlyGroupMembers and no user filter, every ingested user is a
    // member of some group, so the member lists carry all the user records
    // needed and the users listing is skipped.
    let use_member_records =
        provider.selection.only_group_members && provider.user_search_filter.is_none();
    let (users, members) = if use_member_records {
        progress.phase_started(Phase::Members);
        progress.member_lists_planned(groups.len());
        let attributes = provider.entities.user_profile_attributes();
        let detail = MemberDetail::Records(&attributes);
        let read = read_members(provider, client, &groups, progress, detail).await?;
        progress.users_fetched(read.users.len());
        (read.users, read.ids_by_group)
    } else {
        progress.phase_started(Phase::Users);
        progress.phase_started(Phase::Members);
        progress.member_lists_planned(groups.len());
        let attributes = provider.entities.user_profile_attributes();
        let users = read_users(provider, client, progress, &attributes);
        let members = read_members(provider, client, &groups, progress, MemberDetail::Ids);
        let (users, members) = tokio::try_join!(users, members)?;
        (users, members.ids_by_group)
    };

    if !unmatched.is_empty() {
        warnings.push(format!(
            "{} configured group name(s) match no Okta group: {}",
            unmatched.len(),
            unmatched.join(", ")
        ));
    }
    Ok(ReadResult {
        snapshot: OktaSnapshot {
            users,
            groups,
            members,
        },
        warnings,
        unmatched_group_names: unmatched,
    })
}

/// Lists the users that the provider's `userSearchFilter` selects (all
/// users when it has none).
async fn read_users(
    provider: &ProviderConfig,
    client: &OktaClient,
    progress: &dyn Progress,
    attributes: &BTreeSet<String>,
) -> Result<Vec<OktaUser>, SyncError> {
    let users = client
        .list_users_keeping(provider.user_search_filter.as_deref(), attributes)
        .await
        .map_err(|source| okta_error(provider, "users", source))?;
    progress.users_fetched(users.len());
    Ok(users)
}

/// Lists the groups the provider's group filter selects. Returns the groups,
/// the configured names that matched none, and warnings.
async fn read_groups(
    provider: &ProviderConfig,
    client: &OktaClient,
) -> Result<(Vec<OktaGroup>, Vec<String>, Vec<String>), SyncError> {
    let list = |search: Option<String>| async move {
        client
            .list_groups(search.as_deref())
            .await
            .map_err(|source| okta_error(provider, "groups", source))
    };

    match &provider.group_filter {
        None => Ok((list(None).await?, Vec::new(), Vec::new())),
        Some(GroupFilter::Search(expression)) => Ok((
            list(Some(expression.clone())).await?,
            Vec::new(),
            Vec::new(),
        )),
        Some(GroupFilter::Names(names)) => {
            let mut found = Vec::new();
            let mut seen = HashSet::new();
            for batch in name_batches(names) {
                for group in list(Some(batch)).await? {
                    if seen.insert(group.id.clone()) {
                        found.push(group);
                    }
                }
            }
            let matched = match_group_names(names, found);
            for warning in &matched.warnings {
                tracing::warn!(provider = %provider.id, "{warning}");
            }
            Ok((matched.selected, matched.unmatched, matched.warnings))
        }
    }
}

/// How much of each member record [`read_members`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberDetail<'a> {
    /// Only the member ids, for when the users come from the users listing.
    Ids,
    /// Also the record of each user, once per user, with only these profile
    /// attributes.
    Records(&'a BTreeSet<String>),
}

/// One group's member listing, as [`list_members`] read it.
enum MemberList {
    Ids(Vec<String>),
    Records(Vec<OktaUser>),
}

impl MemberList {
    fn len(&self) -> usize {
        match self {
            MemberList::Ids(ids) => ids.len(),
            MemberList::Records(records) => records.len(),
        }
    }
}

/// The member lists of all groups.
#[derive(Default)]
struct Members {
    /// Group id to the ids of its members, in Okta's order.
    ids_by_group: HashMap<String, Vec<String>>,
    /// Each listed user once, in the order first seen. Empty unless the
    /// detail is [`MemberDetail::Records`].
    users: Vec<OktaUser>,
    seen_users: HashSet<String>,
}

impl Members {
    /// Adds one group's listing. Records of users already seen are dropped
    /// at once, so memory grows with users, not with memberships.
    fn add(&mut self, group_id: String, list: MemberList) {
        let ids = match list {
            MemberList::Ids(ids) => ids,
            MemberList::Records(records) => {
                let ids = records.iter().map(|user| user.id.clone()).collect();
                for user in records {
                    if !self.seen_users.contains(&user.id) {
                        self.seen_users.insert(user.id.clone());
                        self.users.push(user);
                    }
                }
                ids
            }
        };
        self.ids_by_group.insert(group_id, ids);
    }
}

/// Lists every group's members, `concurrency` groups at a time, folding
/// each listing into the result as soon as it completes.
async fn read_members(
    provider: &ProviderConfig,
    client: &OktaClient,
    groups: &[OktaGroup],
    progress: &dyn Progress,
    detail: MemberDetail<'_>,
) -> Result<Members, SyncError> {
    let limit = provider.concurrency.max(1);
    let mut pending = groups.iter();
    let mut running = FuturesUnordered::new();
    let mut members = Members {
        ids_by_group: HashMap::with_capacity(groups.len()),
        ..Members::default()
    };
    loop {
        while running.len() < limit {
            let Some(group) = pending.next() else { break };
            running.push(list_members(provider, client, group, detail));
        }
        let Some(listed) = running.next().await else {
            break;
        };
        let (group_id, list) = listed?;
        progress.member_list_done(list.len());
        members.add(group_id, list);
    }
    Ok(members)
}

/// Lists one group's members in the given detail.
async fn list_members(
    provider: &ProviderConfig,
    client: &OktaClient,
    group: &OktaGroup,
    detail: MemberDetail<'_>,
) -> Result<(String, MemberList), SyncError> {
    let listed = match detail {
        MemberDetail::Ids => client
            .list_group_member_ids(&group.id)
            .await
            .map(MemberList::Ids),
        MemberDetail::Records(attributes) => client
            .list_group_members_keeping(&group.id, attributes)
            .await
            .map(MemberList::Records),
    };
    let list = listed.map_err(|source| {
        let name = group.profile_str("name").unwrap_or(&group.id);
        okta_error(
            provider,
            &format!("the members of group {name:?} ({})", group.id),
            source,
        )
    })?;
    Ok((group.id.clone(), list))
}

/// Builds and validates the entities. Invalid entities are left out with a
/// warning, so one odd record cannot stop the whole org from syncing.
fn build(provider: &ProviderConfig, snapshot: &OktaSnapshot) -> (Vec<Entity>, Vec<String>) {
    let output = orgsync_model::build_entities(snapshot, &provider.selection, &provider.entities);
    let mut warnings: Vec<String> = output.warnings.iter().map(ToString::to_string).collect();
    for warning in &warnings {
        tracing::warn!(provider = %provider.id, "{warning}");
    }

    let mut entities = Vec::with_capacity(output.entities.len());
    for entity in output.entities {
        match orgsync_model::validate_entity(&entity) {
            Ok(()) => entities.push(entity),
            Err(errors) => {
                let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
                let message = format!(
                    "left out {} because it fails Backstage's validation: {}",
                    entity.entity_ref(),
                    reasons.join("; ")
                );
                tracing::warn!(provider = %provider.id, "{message}");
                warnings.push(message);
            }
        }
    }
    (entities, warnings)
}

fn check_removal_guard(
    provider: &ProviderConfig,
    options: &SyncOptions,
    plan: &ChangeSet,
) -> Result<(), SyncError> {
    let existing = plan.removed.len() + plan.updated.len() + plan.unchanged;
    if options.approve_removals || existing == 0 || plan.removed.is_empty() {
        return Ok(());
    }

    if let Some(approved) = options.approved_removals {
        if plan.removed.len() <= approved {
            tracing::info!(
                provider = %provider.id,
                removed = plan.removed.len(),
                approved,
                "removal guard passed by an approval"
            );
            return Ok(());
        }
        tracing::info!(
            provider = %provider.id,
            removed = plan.removed.len(),
            approved,
            "the run removes more than was approved; the removal guard applies"
        );
    }

    let guard = &provider.removal_guard;
    let remaining = existing - plan.removed.len();
    if remaining == 0 && plan.added.is_empty() && !guard.allow_empty {
        return Err(SyncError::WouldEmpty {
            provider: provider.id.clone(),
            existing,
        });
    }

    let share = plan.removed.len() as f64 / existing as f64;
    if share > guard.max_share {
        return Err(SyncError::RemovalBlocked {
            provider: provider.id.clone(),
            removed: plan.removed.len(),
            existing,
            percent: share * 100.0,
            max_percent: guard.max_share * 100.0,
        });
    }
    Ok(())
}

fn build_client(
    provider: &ProviderConfig,
    progress: Arc<dyn Progress>,
) -> Result<OktaClient, SyncError> {
    let config = ClientConfig {
        base_url: provider.okta_url.clone(),
        credentials: provider.credentials.clone(),
        scopes: provider.scopes.clone(),
        rate_limit_share: provider.rate_limit_share,
        max_retries: provider.max_retries,
        request_timeout: provider.request_timeout,
        concurrency: provider.concurrency,
        user_agent: format!("orgsync/{}", env!("CARGO_PKG_VERSION")),
    };
    let client = OktaClient::new(config).map_err(|source| SyncError::Client {
        provider: provider.id.clone(),
        source,
    })?;
    Ok(client.with_observer(Arc::new(ProgressObserver { progress })))
}

/// Forwards the Okta client's events to the run's [`Progress`].
struct ProgressObserver {
    progress: Arc<dyn Progress>,
}

impl ClientObserver for ProgressObserver {
    fn rate_limit_wait(&self, bucket: &str, wait: Duration) {
        self.progress.rate_limit_wait(bucket, wait);
    }

    fn retrying(&self, endpoint: Endpoint, attempt: u32, reason: &str, wait: Duration) {
        self.progress
            .retrying(endpoint.as_str(), attempt, reason, wait);
    }

    fn response(&self, endpoint: Endpoint, status: Option<u16>) {
        self.progress.okta_response(endpoint.as_str(), status);
    }
}

/// Records the end of run `run_id`; does nothing for a dry run, which has
/// no record.
async fn record_finish(
    store: &dyn Store,
    run_id: Option<i64>,
    outcome: RunOutcome,
    changes: Option<&ChangeSet>,
    summary: &RunSummary,
    error: Option<&str>,
) {
    let Some(run_id) = run_id else {
        return;
    };
    let result = store
        .finish_run(run_id, Utc::now(), outcome, changes, summary, error)
        .await;
    if let Err(error) = result {
        tracing::error!(run_id, error = %error, "recording the end of the run failed");
    }
}

fn log_finished(report: &SyncReport) {
    tracing::info!(
        provider = %report.provider,
        run_id = report.run_id,
        dry_run = report.dry_run,
        added = report.changes.added.len(),
        updated = report.changes.updated.len(),
        removed = report.changes.removed.len(),
        unchanged = report.changes.unchanged,
        conflicts = report.changes.conflicts.len(),
        users = report.users,
        groups = report.groups,
        api_calls = report.api_calls,
        duration_ms = report.duration_ms,
        "sync finished"
    );
}

fn count_kind(entities: &[Entity], kind: &str) -> usize {
    entities.iter().filter(|entity| entity.kind == kind).count()
}

fn okta_error(provider: &ProviderConfig, resource: &str, source: OktaError) -> SyncError {
    SyncError::Okta {
        provider: provider.id.clone(),
        resource: resource.to_string(),
        source,
    }
}

fn store_error(provider: &ProviderConfig, source: orgsync_store::StoreError) -> SyncError {
    SyncError::Store {
        provider: provider.id.clone(),
        source,
    }
}

fn timed_out(provider: &ProviderConfig, timeout: Duration) -> SyncError {
    SyncError::TimedOut {
        provider: provider.id.clone(),
        timeout_seconds: timeout.as_secs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoProgress;

    /// Compiles only while a run's future is `Send + 'static` when it owns
    /// its inputs, so that a scheduler can hand it to `tokio::spawn`.
    #[allow(dead_code)]
    fn spawn_run(
        provider: Arc<ProviderConfig>,
        store: Arc<dyn Store>,
    ) -> tokio::task::JoinHandle<Result<SyncReport, SyncError>> {
        tokio::spawn(async move {
            let options = SyncOptions::default();
            let progress = Arc::new(NoProgress);
            run_provider(
                &provider,
                store.as_ref(),
                &options,
                progress,
                CancellationToken::new(),
            )
            .await
        })
    }
}

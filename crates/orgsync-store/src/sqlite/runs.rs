//! The record of sync runs: one row per run, written when it starts and
//! completed when it ends.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite};

use super::{format_time, parse_time, to_i64};
use crate::{ChangeSet, RunOutcome, RunRecord, RunSummary, StoreError};

/// The end state of a run, as `Store::finish_run` receives it.
pub(super) struct RunFinish<'a> {
    pub finished_at: DateTime<Utc>,
    pub outcome: RunOutcome,
    pub changes: Option<&'a ChangeSet>,
    pub summary: &'a RunSummary,
    pub error: Option<&'a str>,
}

/// A `runs` row as read back.
#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    provider: String,
    started_at: String,
    finished_at: Option<String>,
    outcome: String,
    added: i64,
    updated: i64,
    removed: i64,
    unchanged: i64,
    conflicts: i64,
    users: i64,
    groups: i64,
    api_calls: i64,
    rate_limit_waits: i64,
    error: Option<String>,
}

pub(super) async fn start_run(
    pool: &SqlitePool,
    provider: &str,
    started_at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let result = sqlx::query("INSERT INTO runs (provider, started_at, outcome) VALUES (?, ?, ?)")
        .bind(provider)
        .bind(format_time(started_at))
        .bind(RunOutcome::Running.as_str())
        .execute(pool)
        .await?;
    let id = result.last_insert_rowid();
    tracing::debug!(provider, run_id = id, "recorded run start");
    Ok(id)
}

pub(super) async fn finish_run(
    pool: &SqlitePool,
    run_id: i64,
    finish: &RunFinish<'_>,
) -> Result<(), StoreError> {
    let count = |list: fn(&ChangeSet) -> usize| finish.changes.map_or(0, |c| to_i64(list(c)));
    let result = sqlx::query(
        "UPDATE runs SET finished_at = ?, outcome = ?, added = ?, updated = ?, removed = ?, \
         unchanged = ?, conflicts = ?, users = ?, groups = ?, api_calls = ?, \
         rate_limit_waits = ?, error = ? WHERE id = ?",
    )
    .bind(format_time(finish.finished_at))
    .bind(finish.outcome.as_str())
    .bind(count(|c| c.added.len()))
    .bind(count(|c| c.updated.len()))
    .bind(count(|c| c.removed.len()))
    .bind(count(|c| c.unchanged))
    .bind(count(|c| c.conflicts.len()))
    .bind(finish.summary.users)
    .bind(finish.summary.groups)
    .bind(finish.summary.api_calls)
    .bind(finish.summary.rate_limit_waits)
    .bind(finish.error)
    .bind(run_id)
    .execute(pool)
    .await?;

    if result.rows_affected() == 0 {
        return Err(StoreError::RunNotFound(run_id));
    }
    tracing::debug!(run_id, outcome = %finish.outcome, "recorded run end");
    Ok(())
}

/// The runs `abandon_runs` marks: which ones, and what to record.
pub(super) struct Abandon<'a> {
    pub provider: Option<&'a str>,
    pub started_before: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub error: &'a str,
}

pub(super) async fn abandon_runs(
    pool: &SqlitePool,
    abandon: &Abandon<'_>,
) -> Result<Vec<i64>, StoreError> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE runs SET outcome = ?1, finished_at = ?2, error = ?3 \
         WHERE outcome = ?4 AND started_at <= ?5 AND (?6 IS NULL OR provider = ?6) \
         RETURNING id",
    )
    .bind(RunOutcome::Abandoned.as_str())
    .bind(format_time(abandon.finished_at))
    .bind(abandon.error)
    .bind(RunOutcome::Running.as_str())
    .bind(format_time(abandon.started_before))
    .bind(abandon.provider)
    .fetch_all(pool)
    .await?;
    if !ids.is_empty() {
        tracing::debug!(provider = ?abandon.provider, run_ids = ?ids, "marked runs abandoned");
    }
    Ok(ids)
}

pub(super) async fn runs(
    pool: &SqlitePool,
    provider: Option<&str>,
    limit: usize,
) -> Result<Vec<RunRecord>, StoreError> {
    let mut builder = QueryBuilder::<Sqlite>::new(
        "SELECT id, provider, started_at, finished_at, outcome, added, updated, removed, \
         unchanged, conflicts, users, groups, api_calls, rate_limit_waits, error FROM runs",
    );
    if let Some(provider) = provider {
        builder.push(" WHERE provider = ").push_bind(provider);
    }
    let limit = if limit == 0 { -1 } else { to_i64(limit) };
    builder
        .push(" ORDER BY started_at DESC, id DESC LIMIT ")
        .push_bind(limit);

    let rows: Vec<RunRow> = builder.build_query_as().fetch_all(pool).await?;
    rows.into_iter().map(decode_run).collect()
}

fn decode_run(row: RunRow) -> Result<RunRecord, StoreError> {
    let outcome =
        RunOutcome::from_name(&row.outcome).ok_or_else(|| StoreError::InvalidStoredValue {
            column: "runs.outcome",
            value: row.outcome.clone(),
        })?;
    let finished_at = match row.finished_at.as_deref() {
        Some(text) => Some(parse_time("runs.finished_at", text)?),
        None => None,
    };
    Ok(RunRecord {
        id: row.id,
        provider: row.provider,
        started_at: parse_time("runs.started_at", &row.started_at)?,
        finished_at,
        outcome,
        added: row.added,
        updated: row.updated,
        removed: row.removed,
        unchanged: row.unchanged,
        conflicts: row.conflicts,
        users: row.users,
        groups: row.groups,
        api_calls: row.api_calls,
        rate_limit_waits: row.rate_limit_waits,
        error: row.error,
    })
}

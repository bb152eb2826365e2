//! The record of sync runs: one row per run, written when it starts and
//! completed when it ends.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, QueryBuilder};

use super::to_i64;
use crate::{ChangeSet, RunOutcome, RunRecord, RunSummary, StoreError};

/// How a run ended, as `Store::finish_run` receives it.
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
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
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
    pool: &PgPool,
    provider: &str,
    started_at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO runs (provider, started_at, outcome) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(provider)
    .bind(started_at)
    .bind(RunOutcome::Running.as_str())
    .fetch_one(pool)
    .await?;
    tracing::debug!(provider, run_id = id, "recorded run start");
    Ok(id)
}

pub(super) async fn finish_run(
    pool: &PgPool,
    run_id: i64,
    finish: &RunFinish<'_>,
) -> Result<(), StoreError> {
    let count = |list: fn(&ChangeSet) -> usize| finish.changes.map_or(0, |c| to_i64(list(c)));
    let result = sqlx::query(
        "UPDATE runs SET finished_at = $1, outcome = $2, added = $3, updated = $4, \
         removed = $5, unchanged = $6, conflicts = $7, users = $8, \"groups\" = $9, \
         api_calls = $10, rate_limit_waits = $11, error = $12 WHERE id = $13",
    )
    .bind(finish.finished_at)
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
    pool: &PgPool,
    abandon: &Abandon<'_>,
) -> Result<Vec<i64>, StoreError> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE runs SET outcome = $1, finished_at = $2, error = $3 \
         WHERE outcome = $4 AND started_at <= $5 AND ($6::text IS NULL OR provider = $6) \
         RETURNING id",
    )
    .bind(RunOutcome::Abandoned.as_str())
    .bind(abandon.finished_at)
    .bind(abandon.error)
    .bind(RunOutcome::Running.as_str())
    .bind(abandon.started_before)
    .bind(abandon.provider)
    .fetch_all(pool)
    .await?;
    if !ids.is_empty() {
        tracing::debug!(provider = ?abandon.provider, run_ids = ?ids, "marked runs abandoned");
    }
    Ok(ids)
}

pub(super) async fn runs(
    pool: &PgPool,
    provider: Option<&str>,
    limit: usize,
) -> Result<Vec<RunRecord>, StoreError> {
    let mut builder = QueryBuilder::<Postgres>::new(
        "SELECT id, provider, started_at, finished_at, outcome, added, updated, removed, \
         unchanged, conflicts, users, \"groups\", api_calls, rate_limit_waits, error FROM runs",
    );
    if let Some(provider) = provider {
        builder.push(" WHERE provider = ").push_bind(provider);
    }
    // PostgreSQL reads LIMIT NULL as no limit.
    let limit = (limit != 0).then(|| to_i64(limit));
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
    Ok(RunRecord {
        id: row.id,
        provider: row.provider,
        started_at: row.started_at,
        finished_at: row.finished_at,
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

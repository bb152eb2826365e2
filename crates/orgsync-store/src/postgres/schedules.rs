//! The shared due times of scheduled runs. See [`crate::Store::next_run`].

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;

use crate::{NextRun, StoreError};

pub(super) async fn next_run(pool: &PgPool, provider: &str) -> Result<Option<NextRun>, StoreError> {
    let row: Option<(DateTime<Utc>, String, i64)> =
        sqlx::query_as("SELECT due_at, schedule, version FROM schedules WHERE provider = $1")
            .bind(provider)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(due_at, schedule, version)| NextRun {
        due_at,
        schedule,
        version,
    }))
}

pub(super) async fn replace_next_run(
    pool: &PgPool,
    provider: &str,
    expected_version: Option<i64>,
    next: &NextRun,
) -> Result<bool, StoreError> {
    let statement = match expected_version {
        None => {
            "INSERT INTO schedules (provider, due_at, schedule, version) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (provider) DO NOTHING"
        }
        Some(_) => {
            "UPDATE schedules SET due_at = $2, schedule = $3, version = version + 1 \
             WHERE provider = $1 AND version = $4"
        }
    };
    let mut query = sqlx::query(statement)
        .bind(provider)
        .bind(next.due_at)
        .bind(&next.schedule);
    if let Some(version) = expected_version {
        query = query.bind(version);
    }
    let result = query.execute(pool).await?;
    Ok(result.rows_affected() == 1)
}

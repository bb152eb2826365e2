//! Run claims on PostgreSQL. See [`crate::Store::try_claim`].

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;

use crate::StoreError;

pub(super) async fn try_claim(
    pool: &PgPool,
    provider: &str,
    holder: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // The upsert locks the provider's row and changes it only when it is
    // free, expired or already the holder's, so replicas that race for it
    // get one winner.
    let result = sqlx::query(
        "INSERT INTO claims (provider, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (provider) DO UPDATE SET holder = excluded.holder, \
         expires_at = excluded.expires_at \
         WHERE claims.holder = excluded.holder OR claims.expires_at <= $4",
    )
    .bind(provider)
    .bind(holder)
    .bind(expires_at)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(super) async fn release_claim(
    pool: &PgPool,
    provider: &str,
    holder: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM claims WHERE provider = $1 AND holder = $2")
        .bind(provider)
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn claim_holder(
    pool: &PgPool,
    provider: &str,
) -> Result<Option<String>, StoreError> {
    let holder: Option<(String,)> = sqlx::query_as("SELECT holder FROM claims WHERE provider = $1")
        .bind(provider)
        .fetch_optional(pool)
        .await?;
    Ok(holder.map(|(holder,)| holder))
}

pub(super) async fn release_all_claims(pool: &PgPool) -> Result<(), StoreError> {
    let result = sqlx::query("DELETE FROM claims").execute(pool).await?;
    tracing::debug!(released = result.rows_affected(), "released every claim");
    Ok(())
}

//! Saved providers on PostgreSQL. See [`crate::settings`].

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Transaction};

use crate::{ProviderSettings, SaveMode, SavedProvider, StoreError};

/// A `provider_settings` row as read back.
#[derive(sqlx::FromRow)]
struct SettingsRow {
    id: String,
    okta_url: String,
    client_id: String,
    key_id: Option<String>,
    sealed_private_key: Vec<u8>,
    key_fingerprint: String,
    schedule: String,
    user_search_filter: Option<String>,
    group_filter: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    revision: i64,
}

const COLUMNS: &str = "id, okta_url, client_id, key_id, sealed_private_key, key_fingerprint, \
                       schedule, user_search_filter, group_filter, created_at, updated_at, revision";

pub(super) async fn saved_providers(pool: &PgPool) -> Result<Vec<SavedProvider>, StoreError> {
    let rows: Vec<SettingsRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM provider_settings ORDER BY id"
    ))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(decode).collect()
}

pub(super) async fn save_provider(
    pool: &PgPool,
    settings: &ProviderSettings,
    mode: SaveMode,
    now: DateTime<Utc>,
) -> Result<SavedProvider, StoreError> {
    // Raising the revision first locks its row until commit, so writers on
    // every replica take turns and the provider's revision read below
    // cannot change before the row is written.
    let mut transaction = pool.begin().await?;
    let revision = raise_revision(&mut transaction).await?;
    let current = current_revision(&mut transaction, &settings.id).await?;

    match (mode, current) {
        (SaveMode::Create, Some(_)) => {
            return Err(StoreError::ProviderExists {
                provider: settings.id.clone(),
            });
        }
        (SaveMode::Update { revision: expected }, found) if found != Some(expected) => {
            return Err(StoreError::StaleSettings {
                provider: settings.id.clone(),
                expected,
                found,
            });
        }
        _ => {}
    }

    sqlx::query(
        "INSERT INTO provider_settings (id, okta_url, client_id, key_id, sealed_private_key, \
         key_fingerprint, schedule, user_search_filter, group_filter, created_at, updated_at, \
         revision) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET okta_url = excluded.okta_url, \
         client_id = excluded.client_id, key_id = excluded.key_id, \
         sealed_private_key = excluded.sealed_private_key, \
         key_fingerprint = excluded.key_fingerprint, schedule = excluded.schedule, \
         user_search_filter = excluded.user_search_filter, \
         group_filter = excluded.group_filter, updated_at = excluded.updated_at, \
         revision = excluded.revision",
    )
    .bind(&settings.id)
    .bind(&settings.okta_url)
    .bind(&settings.client_id)
    .bind(&settings.key_id)
    .bind(&settings.sealed_private_key)
    .bind(&settings.key_fingerprint)
    .bind(&settings.schedule)
    .bind(&settings.user_search_filter)
    .bind(&settings.group_filter)
    .bind(now)
    .bind(revision)
    .execute(&mut *transaction)
    .await?;

    let row: SettingsRow = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM provider_settings WHERE id = $1"
    ))
    .bind(&settings.id)
    .fetch_one(&mut *transaction)
    .await?;
    transaction.commit().await?;
    tracing::info!(provider = %settings.id, revision, "saved provider settings");
    decode(row)
}

pub(super) async fn delete_saved_provider(pool: &PgPool, id: &str) -> Result<bool, StoreError> {
    // The revision is raised before the delete, in the same order as a
    // save takes its locks, and rolled back when nothing was deleted.
    let mut transaction = pool.begin().await?;
    let revision = raise_revision(&mut transaction).await?;
    let deleted = sqlx::query("DELETE FROM provider_settings WHERE id = $1")
        .bind(id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
    if deleted == 0 {
        transaction.rollback().await?;
        return Ok(false);
    }
    transaction.commit().await?;
    tracing::info!(provider = %id, revision, "deleted saved provider");
    Ok(true)
}

pub(super) async fn settings_revision(pool: &PgPool) -> Result<i64, StoreError> {
    let (revision,): (i64,) = sqlx::query_as("SELECT revision FROM settings_revision")
        .fetch_one(pool)
        .await?;
    Ok(revision)
}

async fn raise_revision(transaction: &mut Transaction<'_, Postgres>) -> Result<i64, StoreError> {
    let (revision,): (i64,) =
        sqlx::query_as("UPDATE settings_revision SET revision = revision + 1 RETURNING revision")
            .fetch_one(&mut **transaction)
            .await?;
    Ok(revision)
}

async fn current_revision(
    transaction: &mut Transaction<'_, Postgres>,
    id: &str,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT revision FROM provider_settings WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **transaction)
            .await?;
    Ok(row.map(|(revision,)| revision))
}

fn decode(row: SettingsRow) -> Result<SavedProvider, StoreError> {
    Ok(SavedProvider {
        created_at: row.created_at,
        updated_at: row.updated_at,
        revision: row.revision,
        settings: ProviderSettings {
            id: row.id,
            okta_url: row.okta_url,
            client_id: row.client_id,
            key_id: row.key_id,
            sealed_private_key: row.sealed_private_key,
            key_fingerprint: row.key_fingerprint,
            schedule: row.schedule,
            user_search_filter: row.user_search_filter,
            group_filter: row.group_filter,
        },
    })
}

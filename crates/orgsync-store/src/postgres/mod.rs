//! The store on a PostgreSQL server, which several orgsync replicas can
//! share.
//!
//! Writers of entities serialize on a transaction-scoped advisory lock
//! ([`WRITE_LOCK_KEY`]), so one replacement applies at a time across every
//! replica, as `BEGIN IMMEDIATE` does for SQLite. Reads that take more than
//! one statement run in a `REPEATABLE READ` transaction, so an entity and its
//! relations come from the same snapshot; the default `READ COMMITTED` would
//! give each statement its own.

mod claims;
mod query;
mod read;
mod runs;
mod schedules;
mod settings;
mod write;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orgsync_model::Entity;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::query::{EntityFilter, EntityPage, EntityPageQuery, FacetCount};
use crate::{
    ChangeSet, EntityQuery, NextRun, PreparedEntities, ProviderSettings, RunOutcome, RunRecord,
    RunSummary, SaveMode, SavedProvider, Store, StoreClient, StoreError, StoredEntity,
};

/// The connections in the pool: one writer plus concurrent readers for the
/// API server.
const MAX_CONNECTIONS: u32 = 8;

/// How long a caller waits for a free connection, or for the server to
/// accept one, before the operation fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The advisory lock key that entity writers hold for their transaction.
/// Any fixed number works as long as nothing else in the database uses it;
/// this one is "orgsync" in ASCII.
pub const WRITE_LOCK_KEY: i64 = 0x006f_7267_7379_6e63;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The catalog store on a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
}

impl fmt::Debug for PgStore {
    // The pool's options contain the password, so only its size is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the PostgreSQL database at `url` and brings its schema up
    /// to date.
    ///
    /// `url` is a `postgres://` or `postgresql://` URL, such as
    /// `postgres://orgsync:secret@db.internal:5432/orgsync`. The database
    /// must exist. Replicas that start together may all run this: sqlx
    /// serializes migrations with an advisory lock.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let options = connect_options(url)?;
        let host = options.get_host().to_string();
        let database = options.get_database().unwrap_or_default().to_string();

        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        tracing::info!(host, database, "opened PostgreSQL catalog store");
        Ok(PgStore { pool })
    }

    /// Closes every connection, waiting for running statements to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    let text = url.trim();
    // The URL may contain a password, so the error shows only its scheme.
    let scheme = text.split("://").next().unwrap_or_default();
    let invalid = |reason: String| StoreError::InvalidConnection {
        connection: format!("{scheme}://…"),
        reason,
    };
    if text.is_empty() {
        return Err(StoreError::InvalidConnection {
            connection: String::new(),
            reason: "it is empty; set it to a URL such as postgres://user@host:5432/orgsync"
                .to_string(),
        });
    }
    if !text.starts_with("postgres://") && !text.starts_with("postgresql://") {
        return Err(invalid(
            "it is not a postgres:// URL; for a SQLite file set database.client to sqlite"
                .to_string(),
        ));
    }
    PgConnectOptions::from_str(text)
        .map(crate::logging::quiet_statement_logs)
        .map_err(|error| invalid(error.to_string()))
}

#[async_trait]
impl Store for PgStore {
    fn client(&self) -> StoreClient {
        StoreClient::Postgres
    }

    async fn plan_prepared(
        &self,
        provider: &str,
        desired: &PreparedEntities,
    ) -> Result<ChangeSet, StoreError> {
        write::plan(&self.pool, provider, desired).await
    }

    async fn replace_prepared(
        &self,
        provider: &str,
        desired: &PreparedEntities,
    ) -> Result<ChangeSet, StoreError> {
        write::replace(&self.pool, provider, desired).await
    }

    async fn list_entities(&self, query: &EntityQuery) -> Result<Vec<Entity>, StoreError> {
        read::list_entities(&self.pool, query).await
    }

    async fn count_entities(&self, query: &EntityQuery) -> Result<usize, StoreError> {
        read::count_entities(&self.pool, query).await
    }

    async fn entity_by_ref(&self, entity_ref: &str) -> Result<Option<Entity>, StoreError> {
        let stored = read::stored_entity(&self.pool, entity_ref).await?;
        Ok(stored.map(|stored| stored.entity))
    }

    async fn stored_entity(&self, entity_ref: &str) -> Result<Option<StoredEntity>, StoreError> {
        read::stored_entity(&self.pool, entity_ref).await
    }

    async fn start_run(
        &self,
        provider: &str,
        started_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        runs::start_run(&self.pool, provider, started_at).await
    }

    async fn finish_run(
        &self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        outcome: RunOutcome,
        changes: Option<&ChangeSet>,
        summary: &RunSummary,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let finish = runs::RunFinish {
            finished_at,
            outcome,
            changes,
            summary,
            error,
        };
        runs::finish_run(&self.pool, run_id, &finish).await
    }

    async fn runs(
        &self,
        provider: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        runs::runs(&self.pool, provider, limit).await
    }

    async fn query_entities(&self, query: &EntityPageQuery) -> Result<EntityPage, StoreError> {
        query::query_entities(&self.pool, query).await
    }

    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, StoreError> {
        query::entity_by_uid(&self.pool, uid).await
    }

    async fn entities_by_refs(
        &self,
        entity_refs: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<Vec<Option<Entity>>, StoreError> {
        query::entities_by_refs(&self.pool, entity_refs, filter).await
    }

    async fn entity_facets(
        &self,
        facets: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<BTreeMap<String, Vec<FacetCount>>, StoreError> {
        query::entity_facets(&self.pool, facets, filter).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        query::ping(&self.pool).await
    }

    async fn try_claim(
        &self,
        provider: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let expires_at = crate::claim_expiry(now, ttl);
        claims::try_claim(&self.pool, provider, holder, now, expires_at).await
    }

    async fn release_claim(&self, provider: &str, holder: &str) -> Result<(), StoreError> {
        claims::release_claim(&self.pool, provider, holder).await
    }

    async fn claim_holder(&self, provider: &str) -> Result<Option<String>, StoreError> {
        claims::claim_holder(&self.pool, provider).await
    }

    async fn release_all_claims(&self) -> Result<(), StoreError> {
        claims::release_all_claims(&self.pool).await
    }

    async fn abandon_runs(
        &self,
        provider: Option<&str>,
        started_before: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        error: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let abandon = runs::Abandon {
            provider,
            started_before,
            finished_at,
            error,
        };
        runs::abandon_runs(&self.pool, &abandon).await
    }

    async fn next_run(&self, provider: &str) -> Result<Option<NextRun>, StoreError> {
        schedules::next_run(&self.pool, provider).await
    }

    async fn replace_next_run(
        &self,
        provider: &str,
        expected_version: Option<i64>,
        next: &NextRun,
    ) -> Result<bool, StoreError> {
        schedules::replace_next_run(&self.pool, provider, expected_version, next).await
    }

    async fn saved_providers(&self) -> Result<Vec<SavedProvider>, StoreError> {
        settings::saved_providers(&self.pool).await
    }

    async fn save_provider(
        &self,
        provider: &ProviderSettings,
        mode: SaveMode,
        now: DateTime<Utc>,
    ) -> Result<SavedProvider, StoreError> {
        settings::save_provider(&self.pool, provider, mode, now).await
    }

    async fn delete_saved_provider(&self, id: &str) -> Result<bool, StoreError> {
        settings::delete_saved_provider(&self.pool, id).await
    }

    async fn settings_revision(&self) -> Result<i64, StoreError> {
        settings::settings_revision(&self.pool).await
    }
}

/// Converts a count to PostgreSQL's `bigint`, saturating at `i64::MAX`.
fn to_i64(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_url_is_accepted() {
        let options = connect_options("postgres://orgsync@db.internal:5433/catalog").unwrap();
        assert_eq!(options.get_port(), 5433);
    }

    #[test]
    fn postgresql_scheme_is_accepted() {
        let result = connect_options("postgresql://db.internal/catalog");
        assert!(result.is_ok());
    }

    #[test]
    fn file_path_is_rejected() {
        let result = connect_options("./data/orgsync.sqlite");
        assert!(matches!(result, Err(StoreError::InvalidConnection { .. })));
    }

    #[test]
    fn empty_url_is_rejected() {
        let result = connect_options("  ");
        assert!(matches!(result, Err(StoreError::InvalidConnection { .. })));
    }

    #[test]
    fn rejected_url_hides_password() {
        let error = connect_options("postgres://user:hunter2@[bad/").unwrap_err();
        assert!(!error.to_string().contains("hunter2"));
    }
}

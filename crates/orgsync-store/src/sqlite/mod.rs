//! The store on one SQLite file.
//!
//! The file runs in WAL journal mode, so readers never wait for the writer
//! and each read transaction sees one committed state. `synchronous=NORMAL`
//! is chosen over `FULL`: in WAL mode it cannot corrupt the file, but a power
//! loss may lose the last committed transactions. The catalog is a copy of
//! Okta that the next sync rewrites, so a lost sync costs one more run, while
//! `FULL` would sync the disk on every commit.
//!
//! Writes take an in-process lock and then `BEGIN IMMEDIATE`, so one sync
//! applies at a time and a write never fails half-way for want of the lock.
//! Another process writing the same file waits up to [`BUSY_TIMEOUT`].

mod claims;
mod query;
mod read;
mod runs;
mod schedules;
mod settings;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orgsync_model::Entity;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::Mutex;

use crate::query::{EntityFilter, EntityPage, EntityPageQuery, FacetCount};
use crate::{
    ChangeSet, EntityQuery, NextRun, PreparedEntities, ProviderSettings, RunOutcome, RunRecord,
    RunSummary, SaveMode, SavedProvider, Store, StoreClient, StoreError, StoredEntity,
};

/// How long a statement waits for another process's lock on the file before
/// it fails. Long enough to outlast a large sync applied by another process.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The connections in the pool: one writer at a time plus concurrent readers
/// for the API server.
const MAX_CONNECTIONS: u32 = 4;

/// The page cache of each connection, in KiB. The default of 2 MiB makes a
/// large sync spill pages to the WAL; 64 MiB was no faster than 16 MiB.
const CACHE_KIB: u32 = 16_384;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The catalog store on one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Serializes writers in this process, so they queue here instead of
    /// spinning on SQLite's busy handler.
    write_lock: Mutex<()>,
}

impl SqliteStore {
    /// Opens (creating when missing) the SQLite database at `connection` and
    /// brings its schema up to date.
    ///
    /// `connection` is a file path (`./data/orgsync.sqlite`), a `sqlite:` URL
    /// (`sqlite:///var/lib/orgsync/catalog.sqlite`, `sqlite://data/c.sqlite`),
    /// or `:memory:` / `sqlite::memory:` for a database that lives only as long
    /// as the store. Missing parent folders of the file are created.
    pub async fn open(connection: &str) -> Result<SqliteStore, StoreError> {
        let options = connect_options(connection)?;
        let in_memory = is_in_memory(connection);
        if !in_memory {
            create_parent_folder(connection, options.get_filename()).await?;
        }

        let pool = pool_options(in_memory).connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        tracing::info!(connection, "opened SQLite catalog store");
        Ok(SqliteStore {
            pool,
            write_lock: Mutex::new(()),
        })
    }

    /// Closes every connection, waiting for running statements to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn connect_options(connection: &str) -> Result<SqliteConnectOptions, StoreError> {
    let text = connection.trim();
    let invalid = |reason: String| StoreError::InvalidConnection {
        connection: connection.to_string(),
        reason,
    };
    if text.is_empty() {
        return Err(invalid(
            "it is empty; set it to a file path such as ./data/orgsync.sqlite".to_string(),
        ));
    }
    if text.contains("://") && !text.starts_with("sqlite:") {
        return Err(invalid(
            "it is not a SQLite path or sqlite: URL; for PostgreSQL set database.client to pg"
                .to_string(),
        ));
    }

    let options = if text == ":memory:" {
        SqliteConnectOptions::from_str("sqlite::memory:")
    } else if text.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(text)
    } else {
        Ok(SqliteConnectOptions::new().filename(text))
    };
    let options = options.map_err(|error| invalid(error.to_string()))?;

    let options = crate::logging::quiet_statement_logs(options);
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("cache_size", format!("-{CACHE_KIB}")))
}

fn is_in_memory(connection: &str) -> bool {
    let text = connection.trim();
    text == ":memory:" || text.starts_with("sqlite::memory:") || text.contains("mode=memory")
}

/// Returns the file that a SQLite `connection` setting names, or `None` for
/// an in-memory database.
pub fn database_file(connection: &str) -> Result<Option<std::path::PathBuf>, StoreError> {
    if is_in_memory(connection) {
        return Ok(None);
    }
    let options = connect_options(connection)?;
    Ok(Some(options.get_filename().to_path_buf()))
}

fn pool_options(in_memory: bool) -> SqlitePoolOptions {
    let options = SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS);
    if in_memory {
        // An in-memory database disappears with its last connection, so one
        // connection stays open for the life of the pool.
        options
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        options
    }
}

async fn create_parent_folder(connection: &str, file: &Path) -> Result<(), StoreError> {
    let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(|error| StoreError::InvalidConnection {
            connection: connection.to_string(),
            reason: format!(
                "cannot create folder {}: {error}; create it or choose another path",
                PathBuf::from(parent).display()
            ),
        })
}

#[async_trait]
impl Store for SqliteStore {
    fn client(&self) -> StoreClient {
        StoreClient::Sqlite
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
        let _writer = self.write_lock.lock().await;
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
        let _writer = self.write_lock.lock().await;
        settings::save_provider(&self.pool, provider, mode, now).await
    }

    async fn delete_saved_provider(&self, id: &str) -> Result<bool, StoreError> {
        let _writer = self.write_lock.lock().await;
        settings::delete_saved_provider(&self.pool, id).await
    }

    async fn settings_revision(&self) -> Result<i64, StoreError> {
        settings::settings_revision(&self.pool).await
    }
}

/// Formats a time as stored: UTC with microseconds and a `Z`, so that text
/// order is time order.
fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_time(column: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| StoreError::InvalidStoredValue {
            column,
            value: text.to_string(),
        })
}

/// Converts a count to SQLite's integer type, saturating at `i64::MAX`.
fn to_i64(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_path_is_accepted() {
        let options = connect_options("./data/orgsync.sqlite").unwrap();
        assert_eq!(options.get_filename(), Path::new("./data/orgsync.sqlite"));
    }

    #[test]
    fn sqlite_url_is_accepted() {
        let options = connect_options("sqlite:///tmp/catalog.sqlite").unwrap();
        assert_eq!(options.get_filename(), Path::new("/tmp/catalog.sqlite"));
    }

    #[test]
    fn postgres_url_is_rejected() {
        let result = connect_options("postgres://localhost/orgsync");
        assert!(matches!(result, Err(StoreError::InvalidConnection { .. })));
    }

    #[test]
    fn empty_connection_is_rejected() {
        let result = connect_options("  ");
        assert!(matches!(result, Err(StoreError::InvalidConnection { .. })));
    }

    #[test]
    fn memory_forms_are_recognized() {
        assert!(is_in_memory(":memory:"));
        assert!(is_in_memory("sqlite::memory:"));
        assert!(!is_in_memory("./memory.sqlite"));
    }

    #[test]
    fn stored_time_round_trips() {
        let time = DateTime::parse_from_rfc3339("2024-05-01T12:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = format_time(time);
        assert_eq!(text, "2024-05-01T12:00:00.123456Z");
        assert_eq!(parse_time("started_at", &text).unwrap(), time);
    }

    #[test]
    fn invalid_stored_time_is_reported() {
        let result = parse_time("started_at", "yesterday");
        assert!(matches!(result, Err(StoreError::InvalidStoredValue { .. })));
    }
}

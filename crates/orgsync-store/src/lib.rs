//! The catalog store.
//!
//! [`Store`] is the interface the sync engine, the API server and the UI use.
//! `sqlite` implements it on one SQLite file and `postgres` on a PostgreSQL
//! database that several replicas can share. Every write that changes a
//! provider's entities goes through [`Store::replace_provider_entities`],
//! which applies the whole change in one transaction, so readers see
//! either the old or the new set, never a mix.
//!
//! Entity refs in everything the store returns (`ChangeSet`, `Conflict`,
//! relation targets) are lower-cased `kind:namespace/name`, as Backstage
//! compares refs case-insensitively.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orgsync_model::Entity;
use serde::{Deserialize, Serialize};

use crate::query::{EntityFilter, EntityPage, EntityPageQuery, FacetCount};

mod diff;
mod logging;
pub mod postgres;
mod prepare;
pub mod query;
mod relations;
mod search;
pub mod settings;
pub mod sqlite;

pub use postgres::PgStore;
pub use prepare::PreparedEntities;
pub use settings::{ProviderSettings, SaveMode, SavedProvider};
pub use sqlite::SqliteStore;

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database rejected a statement or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date when the store opened.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored entity body is not valid entity JSON.
    #[error("stored entity {entity_ref} could not be decoded: {source}")]
    Decode {
        entity_ref: String,
        source: serde_json::Error,
    },
    /// An entity could not be serialized to JSON for storing.
    #[error("entity {entity_ref} could not be encoded as JSON: {source}")]
    Encode {
        entity_ref: String,
        source: serde_json::Error,
    },
    /// An entity cannot be stored as given, for example one with an empty name.
    #[error("entity {entity_ref:?} cannot be stored: {reason}")]
    InvalidEntity { entity_ref: String, reason: String },
    /// The connection string cannot be used.
    #[error("invalid database connection {connection:?}: {reason}")]
    InvalidConnection { connection: String, reason: String },
    /// The configured database client is unknown or not built yet.
    #[error("database client {client:?} is not supported: {reason}")]
    UnsupportedClient { client: String, reason: String },
    /// A stored column contains a value this version cannot read.
    #[error(
        "stored {column} {value:?} is invalid; the database was changed outside orgsync \
         or by a newer version of it"
    )]
    InvalidStoredValue { column: &'static str, value: String },
    /// `finish_run` was called with an id that `start_run` never returned.
    #[error("run {0} was not found")]
    RunNotFound(i64),
    /// A saved provider with this id exists, so it cannot be created.
    #[error("a saved provider with the id {provider:?} already exists; choose another id or edit that provider")]
    ProviderExists { provider: String },
    /// The saved provider changed or was deleted after the version being
    /// replaced was read.
    #[error(
        "saved provider {provider:?} was {} since revision {expected} was read; reload it and \
         make the change again",
        stale_state(.found)
    )]
    StaleSettings {
        provider: String,
        expected: i64,
        /// The current revision, or `None` when the provider is gone.
        found: Option<i64>,
    },
}

/// Describes what happened to a saved provider, for [`StoreError::StaleSettings`].
fn stale_state(found: &Option<i64>) -> String {
    match found {
        Some(revision) => format!("changed (now revision {revision})"),
        None => "deleted".to_string(),
    }
}

/// The change that replacing a provider's entities makes (or would make).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    /// Refs of entities that are new for this provider.
    pub added: Vec<String>,
    /// Refs of entities whose content changed.
    pub updated: Vec<String>,
    /// Refs of entities this provider had and no longer emits.
    pub removed: Vec<String>,
    /// How many entities are identical to what is stored.
    pub unchanged: usize,
    /// Entities that another provider already owns; left with their owner.
    pub conflicts: Vec<Conflict>,
}

/// An entity ref emitted by one provider but owned by another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub entity_ref: String,
    pub owner: String,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Running,
    Succeeded,
    Failed,
    /// Planned only (`--dry-run`); nothing was applied.
    DryRun,
    /// Not applied because it would remove too much; waits for approval.
    Blocked,
    Cancelled,
    /// Left unfinished by a process that stopped without recording its end
    /// (killed, or cut off from the database); it applied nothing.
    Abandoned,
}

impl RunOutcome {
    /// Every outcome, in declaration order.
    pub const ALL: [RunOutcome; 7] = [
        RunOutcome::Running,
        RunOutcome::Succeeded,
        RunOutcome::Failed,
        RunOutcome::DryRun,
        RunOutcome::Blocked,
        RunOutcome::Cancelled,
        RunOutcome::Abandoned,
    ];

    /// Returns the snake_case name, as serialized and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::DryRun => "dry_run",
            RunOutcome::Blocked => "blocked",
            RunOutcome::Cancelled => "cancelled",
            RunOutcome::Abandoned => "abandoned",
        }
    }

    /// Parses the snake_case name that [`RunOutcome::as_str`] returns.
    pub fn from_name(name: &str) -> Option<RunOutcome> {
        RunOutcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record of one sync run of one provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: i64,
    pub provider: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    pub added: i64,
    pub updated: i64,
    pub removed: i64,
    pub unchanged: i64,
    pub conflicts: i64,
    pub users: i64,
    pub groups: i64,
    pub api_calls: i64,
    pub rate_limit_waits: i64,
    pub error: Option<String>,
}

/// The figures a finished run reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub users: i64,
    pub groups: i64,
    pub api_calls: i64,
    pub rate_limit_waits: i64,
}

/// The due time of a provider's next scheduled run, shared by every
/// replica that uses the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRun {
    /// When the next scheduled run starts.
    pub due_at: DateTime<Utc>,
    /// The schedule the due time was computed from, such as `every:1800s`
    /// or `cron:0 2 * * *`, so that a replica with a changed schedule
    /// recomputes it.
    pub schedule: String,
    /// Counts the writes of this row; [`Store::replace_next_run`] compares
    /// it to detect a write by another replica.
    pub version: i64,
}

/// An entity as stored, with its owning provider and write times.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    pub provider: String,
    pub entity: Entity,
    /// When the entity was first written.
    pub created_at: DateTime<Utc>,
    /// When the entity's content last changed; an unchanged entity keeps it.
    pub updated_at: DateTime<Utc>,
}

/// A page request for listing entities.
#[derive(Debug, Clone, Default)]
pub struct EntityQuery {
    /// Only this kind (compared case-insensitively), when set.
    pub kind: Option<String>,
    /// Only this provider's entities, when set.
    pub provider: Option<String>,
    /// Case-insensitive substring of `metadata.name`, `metadata.title`,
    /// `spec.profile.displayName` or `spec.profile.email`.
    pub text: Option<String>,
    /// How many matching entities to skip, in ref order.
    pub offset: usize,
    /// The maximum number of entities to return; 0 means no limit.
    pub limit: usize,
}

/// The database a store runs on, as named in the `database.client` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreClient {
    /// One SQLite file (`sqlite`, or Backstage's `better-sqlite3`).
    Sqlite,
    /// A PostgreSQL server (`pg`, `postgres` or `postgresql`).
    Postgres,
}

impl FromStr for StoreClient {
    type Err = StoreError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" | "better-sqlite3" => Ok(StoreClient::Sqlite),
            "pg" | "postgres" | "postgresql" => Ok(StoreClient::Postgres),
            _ => Err(StoreError::UnsupportedClient {
                client: name.to_string(),
                reason: "use \"sqlite\" or \"pg\"".to_string(),
            }),
        }
    }
}

impl fmt::Display for StoreClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreClient::Sqlite => f.write_str("sqlite"),
            StoreClient::Postgres => f.write_str("pg"),
        }
    }
}

/// Opens the store for `client` at `connection` (a file path or URL) and
/// brings its schema up to date.
pub async fn open_store(
    client: StoreClient,
    connection: &str,
) -> Result<Arc<dyn Store>, StoreError> {
    match client {
        StoreClient::Sqlite => Ok(Arc::new(SqliteStore::open(connection).await?)),
        StoreClient::Postgres => Ok(Arc::new(PgStore::connect(connection).await?)),
    }
}

/// The catalog store interface.
#[async_trait]
pub trait Store: Send + Sync {
    /// Names the database this store runs on.
    fn client(&self) -> StoreClient;

    /// Computes the change that replacing `provider`'s entities with
    /// `desired` would make, without writing anything.
    async fn plan(&self, provider: &str, desired: &[Entity]) -> Result<ChangeSet, StoreError> {
        let prepared = PreparedEntities::prepare_slice(desired)?;
        self.plan_prepared(provider, &prepared).await
    }

    /// [`Store::plan`] for entities prepared beforehand.
    async fn plan_prepared(
        &self,
        provider: &str,
        desired: &PreparedEntities,
    ) -> Result<ChangeSet, StoreError>;

    /// Replaces `provider`'s entities with `desired` in one transaction:
    /// inserts new ones, rewrites only changed ones, deletes gone ones and
    /// rebuilds their relations. Entities whose ref another provider owns are
    /// skipped and reported as conflicts. On any error nothing is changed.
    async fn replace_provider_entities(
        &self,
        provider: &str,
        desired: &[Entity],
    ) -> Result<ChangeSet, StoreError> {
        let prepared = PreparedEntities::prepare_slice(desired)?;
        self.replace_prepared(provider, &prepared).await
    }

    /// [`Store::replace_provider_entities`] for entities prepared
    /// beforehand.
    async fn replace_prepared(
        &self,
        provider: &str,
        desired: &PreparedEntities,
    ) -> Result<ChangeSet, StoreError>;

    /// All entities, with relations filled in, ordered by ref.
    async fn list_entities(&self, query: &EntityQuery) -> Result<Vec<Entity>, StoreError>;

    /// The number of entities that match `query`, ignoring offset and limit.
    async fn count_entities(&self, query: &EntityQuery) -> Result<usize, StoreError>;

    /// One entity by ref (`kind:namespace/name`, case-insensitive).
    async fn entity_by_ref(&self, entity_ref: &str) -> Result<Option<Entity>, StoreError>;

    /// Reads one entity by ref, like [`Store::entity_by_ref`], with its
    /// provider and write times.
    async fn stored_entity(&self, entity_ref: &str) -> Result<Option<StoredEntity>, StoreError>;

    /// Records the start of a run and returns its id.
    async fn start_run(&self, provider: &str, started_at: DateTime<Utc>)
        -> Result<i64, StoreError>;

    /// Records how a run ended.
    async fn finish_run(
        &self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        outcome: RunOutcome,
        changes: Option<&ChangeSet>,
        summary: &RunSummary,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    /// The latest runs, newest first; only `provider`'s when given.
    async fn runs(
        &self,
        provider: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError>;

    /// One page of the entities that match `query` (Backstage's filter,
    /// order field and full-text filter), in the query's order, for the
    /// catalog API.
    async fn query_entities(&self, query: &EntityPageQuery) -> Result<EntityPage, StoreError>;

    /// One entity by `metadata.uid`, with relations filled in.
    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, StoreError>;

    /// The entities with the given refs, in request order: `None` for a ref
    /// that does not parse, names no entity, or names one that does not
    /// match `filter`.
    async fn entities_by_refs(
        &self,
        entity_refs: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<Vec<Option<Entity>>, StoreError>;

    /// For each lower-cased facet key, how many of the entities that match
    /// `filter` have each value (as written) under it, ordered by value.
    async fn entity_facets(
        &self,
        facets: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<BTreeMap<String, Vec<FacetCount>>, StoreError>;

    /// Checks that the database responds to a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Claims `provider`'s sync for `holder` until `now + ttl`, so that one
    /// replica at a time runs it. Returns true when the claim was free, had
    /// expired at `now`, or was already `holder`'s, which renews it.
    async fn try_claim(
        &self,
        provider: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Releases `holder`'s claim on `provider`. A claim that another holder
    /// has taken over is left alone.
    async fn release_claim(&self, provider: &str, holder: &str) -> Result<(), StoreError>;

    /// Returns the holder of `provider`'s claim, expired or not, or `None`
    /// when no claim is recorded.
    async fn claim_holder(&self, provider: &str) -> Result<Option<String>, StoreError>;

    /// Releases every claim whatever its holder. Only a process that is sure
    /// no other process uses the store may call it, such as `orgsync serve`
    /// starting on a SQLite file after a crash.
    async fn release_all_claims(&self) -> Result<(), StoreError>;

    /// Marks the runs still recorded as running that started at or before
    /// `started_before` (only `provider`'s when given) as
    /// [`RunOutcome::Abandoned`], finished at `finished_at` with `error`.
    /// Returns their ids. The caller must know that no process is still
    /// running them, for example because it has the provider's claim.
    async fn abandon_runs(
        &self,
        provider: Option<&str>,
        started_before: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        error: &str,
    ) -> Result<Vec<i64>, StoreError>;

    /// Reads the due time of `provider`'s next scheduled run, if one was
    /// stored.
    async fn next_run(&self, provider: &str) -> Result<Option<NextRun>, StoreError>;

    /// Stores the due time of `provider`'s next scheduled run, as a
    /// compare-and-swap: with `expected_version` `None` only when no due
    /// time is stored, else only when the stored one still has that
    /// version. Returns true when it wrote, and then the stored version is
    /// the old one plus 1 (or 1 for a new row). `next.version` is ignored.
    async fn replace_next_run(
        &self,
        provider: &str,
        expected_version: Option<i64>,
        next: &NextRun,
    ) -> Result<bool, StoreError>;

    /// Every provider saved through the settings pages, ordered by id.
    async fn saved_providers(&self) -> Result<Vec<SavedProvider>, StoreError>;

    /// Creates or replaces a saved provider as `mode` requests, raising the
    /// settings revision, and returns the provider as stored. Fails with
    /// [`StoreError::ProviderExists`] or [`StoreError::StaleSettings`]
    /// without writing anything when `mode` does not match the stored row.
    async fn save_provider(
        &self,
        settings: &ProviderSettings,
        mode: SaveMode,
        now: DateTime<Utc>,
    ) -> Result<SavedProvider, StoreError>;

    /// Deletes a saved provider, raising the settings revision. Returns
    /// false, and changes nothing, when no provider has the id.
    async fn delete_saved_provider(&self, id: &str) -> Result<bool, StoreError>;

    /// The settings revision: 0 on a new database, raised by one with every
    /// saved or deleted provider.
    async fn settings_revision(&self) -> Result<i64, StoreError>;
}

/// The time a claim taken at `now` for `ttl` expires, saturating at the
/// latest time chrono represents.
pub(crate) fn claim_expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

//! The catalog store.
//!
//! [`Store`] is the interface the sync engine, the API server and the UI use.
//! `sqlite` implements it on one SQLite file; PostgreSQL comes next behind the
//! same trait. Every write that changes a provider's entities goes through
//! [`Store::replace_provider_entities`], which applies the whole change in one
//! transaction, so readers see either the old or the new set, never a mix.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orgsync_model::Entity;
use serde::{Deserialize, Serialize};

pub mod sqlite;

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored entity {entity_ref} could not be decoded: {source}")]
    Decode {
        entity_ref: String,
        source: serde_json::Error,
    },
    #[error("invalid database connection {connection:?}: {reason}")]
    InvalidConnection { connection: String, reason: String },
    #[error("run {0} was not found")]
    RunNotFound(i64),
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

/// An entity as stored, with its owning provider.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    pub provider: String,
    pub entity: Entity,
}

/// A page request for listing entities.
#[derive(Debug, Clone, Default)]
pub struct EntityQuery {
    /// Only this kind (compared case-insensitively), when set.
    pub kind: Option<String>,
    /// Only this provider's entities, when set.
    pub provider: Option<String>,
    /// Case-insensitive substring of name, title or display name.
    pub text: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

/// The catalog store interface.
#[async_trait]
pub trait Store: Send + Sync {
    /// Computes the change that replacing `provider`'s entities with
    /// `desired` would make, without writing anything.
    async fn plan(&self, provider: &str, desired: &[Entity]) -> Result<ChangeSet, StoreError>;

    /// Replaces `provider`'s entities with `desired` in one transaction:
    /// inserts new ones, rewrites only changed ones, deletes gone ones and
    /// rebuilds their relations. Entities whose ref another provider owns are
    /// skipped and reported as conflicts. On any error nothing is changed.
    async fn replace_provider_entities(
        &self,
        provider: &str,
        desired: &[Entity],
    ) -> Result<ChangeSet, StoreError>;

    /// All entities, with relations filled in, ordered by ref.
    async fn list_entities(&self, query: &EntityQuery) -> Result<Vec<Entity>, StoreError>;

    /// The number of entities that match `query`, ignoring offset and limit.
    async fn count_entities(&self, query: &EntityQuery) -> Result<usize, StoreError>;

    /// One entity by ref (`kind:namespace/name`, case-insensitive).
    async fn entity_by_ref(&self, entity_ref: &str) -> Result<Option<Entity>, StoreError>;

    /// Records the start of a run and returns its id.
    async fn start_run(&self, provider: &str, started_at: DateTime<Utc>) -> Result<i64, StoreError>;

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
    async fn runs(&self, provider: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError>;
}

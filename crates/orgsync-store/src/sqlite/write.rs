//! Planning and applying the replacement of one provider's entities.
//!
//! Applying runs in one `BEGIN IMMEDIATE` transaction: load what is stored,
//! diff, delete gone entities (their relation and search rows go with them
//! through `ON DELETE CASCADE`), clear the relation and search rows of changed
//! entities, upsert the new and changed entity rows, then insert their
//! relation and search rows. Rows are written with multi-row `INSERT`s so
//! that 100,000 entities take a few hundred statements, not millions.
//!
//! A *bulk write* is one that rewrites a large share of the catalog, such as
//! the first sync. It drops the secondary indexes of the `relations` and
//! `search` tables before inserting their rows and recreates them after,
//! inside the same transaction, because building an index from sorted rows
//! is several times cheaper than inserting millions of rows into it one by
//! one. A failed bulk write rolls the indexes back with everything else.

use std::collections::HashMap;
use std::time::Instant;

use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::format_time;
use crate::diff::{diff, Diff, StoredDigest};
use crate::prepare::{etag, PreparedEntities, PreparedEntity};
use crate::relations::derive_relations;
use crate::search::search_rows;
use crate::{ChangeSet, StoreError};

/// The bound values one statement may carry. SQLite's own limit is 32,766
/// since 3.32; staying well under it keeps each statement's text small while
/// still writing thousands of rows at once.
const BIND_BUDGET: usize = 8_000;

/// How many changed entities have their relation and search rows built and
/// written at a time, to bound memory on large syncs.
const DERIVE_BATCH: usize = 2_000;

/// The minimum number of entity writes in a bulk write.
const BULK_MIN_WRITES: usize = 10_000;

/// A write is a bulk write when it writes at least one entity in this many
/// of those stored.
// NOTE: the share is an estimate, and the break-even point was not measured.
// For 1.08 million relation and 1.96 million search rows inserted into empty
// tables, the rebuild cut SQLite's CPU time from 22 s to 13 s (sqlite3 CLI
// 3.46 on two shared cores).
const BULK_SHARE_DIVISOR: usize = 4;

/// Computes the change set without writing, from one read snapshot.
#[tracing::instrument(skip_all, fields(provider, desired = desired.len()))]
pub(super) async fn plan(
    pool: &SqlitePool,
    provider: &str,
    desired: &PreparedEntities,
) -> Result<ChangeSet, StoreError> {
    let prepared = desired.entities();
    let mut transaction = pool.begin().await?;
    let stored = load_digests(&mut transaction).await?;
    transaction.rollback().await?;

    let changes = diff(provider, prepared, &stored).change_set();
    tracing::debug!(
        added = changes.added.len(),
        updated = changes.updated.len(),
        removed = changes.removed.len(),
        unchanged = changes.unchanged,
        conflicts = changes.conflicts.len(),
        "planned provider entities"
    );
    Ok(changes)
}

/// Replaces `provider`'s entities with `desired` in one transaction. The
/// caller holds the store's write lock.
#[tracing::instrument(skip_all, fields(provider, desired = desired.len()))]
pub(super) async fn replace(
    pool: &SqlitePool,
    provider: &str,
    desired: &PreparedEntities,
) -> Result<ChangeSet, StoreError> {
    let started = Instant::now();
    let prepared = desired.entities();

    let mut transaction = pool.begin_with("BEGIN IMMEDIATE").await?;
    let stored = load_digests(&mut transaction).await?;
    let planned = diff(provider, prepared, &stored);
    let changes = planned.change_set();

    if !planned.is_empty() {
        if let Err(error) = apply(&mut transaction, provider, &planned, stored.len()).await {
            tracing::warn!(%error, "rolling back the replacement of provider entities");
            if let Err(rollback_error) = transaction.rollback().await {
                tracing::warn!(error = %rollback_error, "rollback failed");
            }
            return Err(error);
        }
    }
    transaction.commit().await?;

    tracing::info!(
        added = changes.added.len(),
        updated = changes.updated.len(),
        removed = changes.removed.len(),
        unchanged = changes.unchanged,
        conflicts = changes.conflicts.len(),
        elapsed_ms = elapsed_ms(started),
        "replaced provider entities"
    );
    Ok(changes)
}

async fn load_digests(
    connection: &mut SqliteConnection,
) -> Result<HashMap<String, StoredDigest>, StoreError> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT entity_ref, provider, uid, hash FROM entities")
            .fetch_all(&mut *connection)
            .await?;
    let digests = rows
        .into_iter()
        .map(|(entity_ref, provider, uid, hash)| {
            (
                entity_ref,
                StoredDigest {
                    provider,
                    uid,
                    hash,
                },
            )
        })
        .collect();
    Ok(digests)
}

/// One entity row to upsert.
struct EntityWrite<'a> {
    entity: &'a PreparedEntity,
    uid: String,
    etag: String,
}

async fn apply(
    connection: &mut SqliteConnection,
    provider: &str,
    planned: &Diff<'_>,
    stored_count: usize,
) -> Result<(), StoreError> {
    let started = Instant::now();
    let now = format_time(chrono::Utc::now());
    let writes = entity_writes(planned);

    delete_where_in(
        connection,
        "DELETE FROM entities WHERE entity_ref",
        &planned.deletes,
    )
    .await?;
    let updated: Vec<String> = planned
        .updates
        .iter()
        .map(|(entity, _)| entity.entity_ref.clone())
        .collect();
    delete_where_in(
        connection,
        "DELETE FROM relations WHERE originating_ref",
        &updated,
    )
    .await?;
    delete_where_in(connection, "DELETE FROM search WHERE entity_ref", &updated).await?;
    tracing::debug!(
        elapsed_ms = elapsed_ms(started),
        "deleted removed and stale rows"
    );

    upsert_entities(connection, provider, &writes, &now).await?;
    tracing::debug!(elapsed_ms = elapsed_ms(started), "wrote entity rows");

    let bulk = writes.len() >= BULK_MIN_WRITES && writes.len() * BULK_SHARE_DIVISOR >= stored_count;
    let dropped = if bulk {
        drop_derived_indexes(connection).await?
    } else {
        Vec::new()
    };
    let mut derived = DerivedCounts::default();
    for batch in writes.chunks(DERIVE_BATCH) {
        derived.add(insert_derived_rows(connection, batch).await?);
    }
    tracing::debug!(
        bulk,
        relations = derived.relations,
        search = derived.search,
        elapsed_ms = elapsed_ms(started),
        "wrote relation and search rows"
    );

    for (_, create) in &dropped {
        run_schema_statement(connection, create).await?;
    }
    if bulk {
        tracing::debug!(elapsed_ms = elapsed_ms(started), "rebuilt indexes");
    }
    Ok(())
}

/// Runs one schema statement without caching it, because it runs rarely
/// and its text varies.
async fn run_schema_statement(
    connection: &mut SqliteConnection,
    statement: &str,
) -> Result<(), StoreError> {
    sqlx::query(statement)
        .persistent(false)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Drops the secondary indexes of `relations` and `search` and returns each
/// one's name and `CREATE INDEX` statement, read from the schema so that
/// they are recreated exactly as the migrations made them.
async fn drop_derived_indexes(
    connection: &mut SqliteConnection,
) -> Result<Vec<(String, String)>, StoreError> {
    // Indexes that SQLite makes for constraints have no SQL and stay.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
         AND tbl_name IN ('relations', 'search') AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(&mut *connection)
    .await?;
    for (name, _) in &indexes {
        let statement = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
        run_schema_statement(connection, &statement).await?;
    }
    Ok(indexes)
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// How many relation and search rows were written.
#[derive(Debug, Default, Clone, Copy)]
struct DerivedCounts {
    relations: usize,
    search: usize,
}

impl DerivedCounts {
    fn add(&mut self, other: DerivedCounts) {
        self.relations += other.relations;
        self.search += other.search;
    }
}

fn entity_writes<'a>(planned: &Diff<'a>) -> Vec<EntityWrite<'a>> {
    let fresh = planned
        .inserts
        .iter()
        .map(|entity| (*entity, uuid::Uuid::new_v4().to_string()));
    let kept = planned
        .updates
        .iter()
        .map(|(entity, uid)| (*entity, uid.clone()));
    fresh
        .chain(kept)
        .map(|(entity, uid)| EntityWrite {
            etag: etag(&uid, &entity.hash),
            entity,
            uid,
        })
        .collect()
}

/// Runs `{statement_prefix} IN (...)` for `refs`, in chunks.
async fn delete_where_in(
    connection: &mut SqliteConnection,
    statement_prefix: &str,
    refs: &[String],
) -> Result<(), StoreError> {
    for chunk in refs.chunks(BIND_BUDGET) {
        let mut builder = QueryBuilder::<Sqlite>::new(statement_prefix);
        builder.push(" IN (");
        let mut list = builder.separated(", ");
        for entity_ref in chunk {
            list.push_bind(entity_ref.as_str());
        }
        builder.push(")");
        builder.build().execute(&mut *connection).await?;
    }
    Ok(())
}

const ENTITY_COLUMNS: usize = 12;

/// Inserts new entity rows and rewrites changed ones. An update keeps the
/// row's `uid` and `created_at`; the `WHERE` makes sure it never takes over a
/// row of another provider.
async fn upsert_entities(
    connection: &mut SqliteConnection,
    provider: &str,
    writes: &[EntityWrite<'_>],
    now: &str,
) -> Result<(), StoreError> {
    for chunk in writes.chunks(BIND_BUDGET / ENTITY_COLUMNS) {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "INSERT INTO entities (entity_ref, provider, kind, namespace, name, uid, etag, \
             hash, body, search_text, created_at, updated_at) ",
        );
        builder.push_values(chunk, |mut row, write| {
            let entity = write.entity;
            row.push_bind(entity.entity_ref.as_str())
                .push_bind(provider)
                .push_bind(entity.kind.as_str())
                .push_bind(entity.namespace.as_str())
                .push_bind(entity.name.as_str())
                .push_bind(write.uid.as_str())
                .push_bind(write.etag.as_str())
                .push_bind(entity.hash.as_str())
                .push_bind(entity.body_text.as_str())
                .push_bind(entity.search_text.as_str())
                .push_bind(now)
                .push_bind(now);
        });
        builder.push(
            " ON CONFLICT (entity_ref) DO UPDATE SET kind = excluded.kind, \
             namespace = excluded.namespace, name = excluded.name, etag = excluded.etag, \
             hash = excluded.hash, body = excluded.body, search_text = excluded.search_text, \
             updated_at = excluded.updated_at \
             WHERE entities.provider = excluded.provider",
        );
        builder.build().execute(&mut *connection).await?;
    }
    Ok(())
}

/// Builds and inserts the relation and search rows of written entities.
async fn insert_derived_rows(
    connection: &mut SqliteConnection,
    writes: &[EntityWrite<'_>],
) -> Result<DerivedCounts, StoreError> {
    let mut relations = Vec::new();
    let mut search = Vec::new();
    for write in writes {
        let entity_ref = write.entity.entity_ref.as_str();
        let body = write.entity.body()?;
        for row in derive_relations(entity_ref, &body) {
            relations.push((entity_ref, row));
        }
        for row in search_rows(&body, &write.uid) {
            search.push((entity_ref, row));
        }
    }

    for chunk in relations.chunks(BIND_BUDGET / 4) {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "INSERT INTO relations (originating_ref, source_ref, type, target_ref) ",
        );
        builder.push_values(chunk, |mut row, (origin, relation)| {
            row.push_bind(*origin)
                .push_bind(relation.source_ref.as_str())
                .push_bind(relation.relation_type)
                .push_bind(relation.target_ref.as_str());
        });
        builder.build().execute(&mut *connection).await?;
    }

    for chunk in search.chunks(BIND_BUDGET / 4) {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "INSERT INTO search (entity_ref, key, value, original_value) ",
        );
        builder.push_values(chunk, |mut row, (entity_ref, entry)| {
            row.push_bind(*entity_ref)
                .push_bind(entry.key.as_str())
                .push_bind(entry.value.as_deref())
                .push_bind(entry.original_value.as_deref());
        });
        builder.build().execute(&mut *connection).await?;
    }
    Ok(DerivedCounts {
        relations: relations.len(),
        search: search.len(),
    })
}

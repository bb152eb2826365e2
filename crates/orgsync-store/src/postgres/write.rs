//! Planning and applying the replacement of one provider's entities.
//!
//! Applying runs in one transaction that first takes the advisory write
//! lock. It loads what is stored and diffs it, then deletes gone entities,
//! whose relation and search rows go with them through `ON DELETE CASCADE`.
//! It clears the relation and search rows of changed entities, upserts the
//! new and changed entity rows, and inserts their relation and search rows.
//! Rows are sent as one array per column and expanded with `UNNEST`, so a
//! statement carries thousands of rows in a fixed number of bound values.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use sqlx::PgConnection;

use super::WRITE_LOCK_KEY;
use crate::diff::{diff, Diff, StoredDigest};
use crate::prepare::{etag, PreparedEntities, PreparedEntity};
use crate::relations::derive_relations;
use crate::search::search_rows;
use crate::{ChangeSet, StoreError};

/// The rows one `UNNEST` statement inserts. Bounds the size of each message
/// sent to the server while keeping the statement count low: 100,000
/// entities with 3 million relation and search rows take about 300
/// statements.
const ROWS_PER_STATEMENT: usize = 10_000;

/// How many changed entities have their relation and search rows built and
/// written at a time, to bound memory on large syncs.
const DERIVE_BATCH: usize = 2_000;

/// Computes the change set without writing, from one read snapshot.
#[tracing::instrument(skip_all, fields(provider, desired = desired.len()))]
pub(super) async fn plan(
    pool: &PgPool,
    provider: &str,
    desired: &PreparedEntities,
) -> Result<ChangeSet, StoreError> {
    let prepared = desired.entities();
    let mut connection = pool.acquire().await?;
    let stored = load_digests(&mut connection).await?;

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

/// Replaces `provider`'s entities with `desired` in one transaction that
/// holds the advisory write lock, so writers on other replicas wait for it.
#[tracing::instrument(skip_all, fields(provider, desired = desired.len()))]
pub(super) async fn replace(
    pool: &PgPool,
    provider: &str,
    desired: &PreparedEntities,
) -> Result<ChangeSet, StoreError> {
    let started = Instant::now();
    let prepared = desired.entities();

    let mut transaction = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(WRITE_LOCK_KEY)
        .execute(&mut *transaction)
        .await?;
    let stored = load_digests(&mut transaction).await?;
    let planned = diff(provider, prepared, &stored);
    let changes = planned.change_set();

    if !planned.is_empty() {
        if let Err(error) = apply(&mut transaction, provider, &planned).await {
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
    connection: &mut PgConnection,
) -> Result<HashMap<String, StoredDigest>, StoreError> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT entity_ref, provider, uid, hash FROM entities")
            .fetch_all(&mut *connection)
            .await?;
    let digests = rows
        .into_iter()
        .map(|(entity_ref, provider, uid, hash)| {
            let digest = StoredDigest {
                provider,
                uid,
                hash,
            };
            (entity_ref, digest)
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
    connection: &mut PgConnection,
    provider: &str,
    planned: &Diff<'_>,
) -> Result<(), StoreError> {
    let started = Instant::now();
    let writes = entity_writes(planned);

    delete_stale_rows(connection, planned).await?;
    tracing::debug!(
        elapsed_ms = elapsed_ms(started),
        "deleted removed and stale rows"
    );

    upsert_entities(connection, provider, &writes, Utc::now()).await?;
    tracing::debug!(elapsed_ms = elapsed_ms(started), "wrote entity rows");

    let mut relations = 0;
    let mut search = 0;
    for batch in writes.chunks(DERIVE_BATCH) {
        relations += insert_relations(connection, batch).await?;
        search += insert_search_rows(connection, batch).await?;
    }
    tracing::debug!(
        relations,
        search,
        elapsed_ms = elapsed_ms(started),
        "wrote relation and search rows"
    );
    Ok(())
}

/// Deletes removed entities, and the relation and search rows of changed
/// ones, which are rewritten from their new content.
async fn delete_stale_rows(
    connection: &mut PgConnection,
    planned: &Diff<'_>,
) -> Result<(), StoreError> {
    let updated: Vec<&str> = planned
        .updates
        .iter()
        .map(|(entity, _)| entity.entity_ref.as_str())
        .collect();
    let deleted: Vec<&str> = planned.deletes.iter().map(String::as_str).collect();

    for chunk in deleted.chunks(ROWS_PER_STATEMENT) {
        sqlx::query("DELETE FROM entities WHERE entity_ref = ANY($1)")
            .bind(chunk)
            .execute(&mut *connection)
            .await?;
    }
    for chunk in updated.chunks(ROWS_PER_STATEMENT) {
        sqlx::query("DELETE FROM relations WHERE originating_ref = ANY($1)")
            .bind(chunk)
            .execute(&mut *connection)
            .await?;
        sqlx::query("DELETE FROM search WHERE entity_ref = ANY($1)")
            .bind(chunk)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
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

/// Inserts new entity rows and rewrites changed ones. An update keeps the
/// row's `uid` and `created_at`; the `WHERE` makes sure it never takes over a
/// row of another provider.
async fn upsert_entities(
    connection: &mut PgConnection,
    provider: &str,
    writes: &[EntityWrite<'_>],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for chunk in writes.chunks(ROWS_PER_STATEMENT) {
        let column = |field| column_of(chunk, field);
        sqlx::query(
            "INSERT INTO entities (entity_ref, provider, kind, namespace, name, uid, etag, \
             hash, body, search_text, created_at, updated_at) \
             SELECT entity_ref, $1, kind, namespace, name, uid, etag, hash, body, \
             search_text, $2, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::text[]) \
             AS t (entity_ref, kind, namespace, name, uid, etag, hash, body, search_text) \
             ON CONFLICT (entity_ref) DO UPDATE SET kind = excluded.kind, \
             namespace = excluded.namespace, name = excluded.name, etag = excluded.etag, \
             hash = excluded.hash, body = excluded.body, search_text = excluded.search_text, \
             updated_at = excluded.updated_at \
             WHERE entities.provider = excluded.provider",
        )
        .bind(provider)
        .bind(now)
        .bind(column(|w| w.entity.entity_ref.as_str()))
        .bind(column(|w| w.entity.kind.as_str()))
        .bind(column(|w| w.entity.namespace.as_str()))
        .bind(column(|w| w.entity.name.as_str()))
        .bind(column(|w| w.uid.as_str()))
        .bind(column(|w| w.etag.as_str()))
        .bind(column(|w| w.entity.hash.as_str()))
        .bind(column(|w| w.entity.body_text.as_str()))
        .bind(column(|w| w.entity.search_text.as_str()))
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Collects one column of `writes` as an array to bind.
fn column_of<'a>(
    writes: &'a [EntityWrite<'a>],
    field: fn(&'a EntityWrite<'a>) -> &'a str,
) -> Vec<&'a str> {
    writes.iter().map(field).collect()
}

/// Builds and inserts the relation rows of written entities and returns how
/// many there were.
async fn insert_relations(
    connection: &mut PgConnection,
    writes: &[EntityWrite<'_>],
) -> Result<usize, StoreError> {
    let mut origins = Vec::new();
    let mut sources = Vec::new();
    let mut types = Vec::new();
    let mut targets = Vec::new();
    for write in writes {
        let entity_ref = write.entity.entity_ref.as_str();
        for row in derive_relations(entity_ref, &write.entity.body()?) {
            origins.push(entity_ref);
            sources.push(row.source_ref);
            types.push(row.relation_type);
            targets.push(row.target_ref);
        }
    }

    for start in (0..origins.len()).step_by(ROWS_PER_STATEMENT) {
        let end = (start + ROWS_PER_STATEMENT).min(origins.len());
        sqlx::query(
            "INSERT INTO relations (originating_ref, source_ref, type, target_ref) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])",
        )
        .bind(&origins[start..end])
        .bind(&sources[start..end])
        .bind(&types[start..end])
        .bind(&targets[start..end])
        .execute(&mut *connection)
        .await?;
    }
    Ok(origins.len())
}

/// Builds and inserts the search rows of written entities and returns how
/// many there were.
async fn insert_search_rows(
    connection: &mut PgConnection,
    writes: &[EntityWrite<'_>],
) -> Result<usize, StoreError> {
    let mut entity_refs = Vec::new();
    let mut keys = Vec::new();
    let mut values = Vec::new();
    let mut original_values = Vec::new();
    for write in writes {
        for row in search_rows(&write.entity.body()?, &write.uid) {
            entity_refs.push(write.entity.entity_ref.as_str());
            keys.push(row.key);
            values.push(row.value);
            original_values.push(row.original_value);
        }
    }

    for start in (0..entity_refs.len()).step_by(ROWS_PER_STATEMENT) {
        let end = (start + ROWS_PER_STATEMENT).min(entity_refs.len());
        sqlx::query(
            "INSERT INTO search (entity_ref, key, value, original_value) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])",
        )
        .bind(&entity_refs[start..end])
        .bind(&keys[start..end])
        .bind(&values[start..end])
        .bind(&original_values[start..end])
        .execute(&mut *connection)
        .await?;
    }
    Ok(entity_refs.len())
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

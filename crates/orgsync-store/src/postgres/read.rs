//! Reading entities back, with their relations, uid and etag filled in.
//!
//! Each read that takes more than one statement runs in one `REPEATABLE
//! READ` transaction, so an entity and its relations always come from the
//! same committed state.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use orgsync_model::{Entity, EntityRef, Relation};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, QueryBuilder, Transaction};

use super::to_i64;
use crate::{EntityQuery, StoreError, StoredEntity};

/// An `entities` row as read back.
#[derive(sqlx::FromRow)]
pub(super) struct EntityRow {
    pub entity_ref: String,
    pub provider: String,
    pub uid: String,
    pub etag: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ENTITY_SELECT: &str =
    "SELECT entity_ref, provider, uid, etag, body, created_at, updated_at FROM entities";

/// Starts a read-only transaction that sees one snapshot for all its
/// statements.
pub(super) async fn begin_snapshot(
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, StoreError> {
    let transaction = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    Ok(transaction)
}

pub(super) async fn list_entities(
    pool: &PgPool,
    query: &EntityQuery,
) -> Result<Vec<Entity>, StoreError> {
    let mut transaction = begin_snapshot(pool).await?;

    let mut builder = QueryBuilder::<Postgres>::new(ENTITY_SELECT);
    push_filters(&mut builder, query);
    push_page(&mut builder, query);
    let rows: Vec<EntityRow> = builder
        .build_query_as()
        .fetch_all(&mut *transaction)
        .await?;

    let mut builder = QueryBuilder::<Postgres>::new(
        "SELECT DISTINCT source_ref, type, target_ref FROM relations \
         WHERE source_ref IN (SELECT entity_ref FROM entities",
    );
    push_filters(&mut builder, query);
    push_page(&mut builder, query);
    builder.push(") ORDER BY source_ref, type, target_ref");
    let relation_rows: Vec<(String, String, String)> = builder
        .build_query_as()
        .fetch_all(&mut *transaction)
        .await?;
    transaction.commit().await?;

    let mut relations = group_relations(relation_rows);
    rows.into_iter()
        .map(|row| {
            let found = relations.remove(&row.entity_ref).unwrap_or_default();
            decode_entity(row, found).map(|stored| stored.entity)
        })
        .collect()
}

pub(super) async fn count_entities(
    pool: &PgPool,
    query: &EntityQuery,
) -> Result<usize, StoreError> {
    let mut builder = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM entities");
    push_filters(&mut builder, query);
    let (count,): (i64,) = builder.build_query_as().fetch_one(pool).await?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// Reads one entity by ref. A ref that does not parse matches nothing.
pub(super) async fn stored_entity(
    pool: &PgPool,
    entity_ref: &str,
) -> Result<Option<StoredEntity>, StoreError> {
    let Some(parsed) = EntityRef::parse(entity_ref.trim(), None) else {
        return Ok(None);
    };
    let key = parsed.key();
    let mut transaction = begin_snapshot(pool).await?;

    let row: Option<EntityRow> = sqlx::query_as(&format!("{ENTITY_SELECT} WHERE entity_ref = $1"))
        .bind(&key)
        .fetch_optional(&mut *transaction)
        .await?;
    let Some(row) = row else {
        transaction.commit().await?;
        return Ok(None);
    };
    let relation_rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT DISTINCT source_ref, type, target_ref FROM relations \
         WHERE source_ref = $1 ORDER BY type, target_ref",
    )
    .bind(&key)
    .fetch_all(&mut *transaction)
    .await?;
    transaction.commit().await?;

    let relations = group_relations(relation_rows)
        .remove(&key)
        .unwrap_or_default();
    decode_entity(row, relations).map(Some)
}

/// Appends the `WHERE` clause for the query's filters.
fn push_filters(builder: &mut QueryBuilder<'_, Postgres>, query: &EntityQuery) {
    builder.push(" WHERE TRUE");
    if let Some(kind) = &query.kind {
        builder
            .push(" AND lower(kind) = lower(")
            .push_bind(kind.clone())
            .push(")");
    }
    if let Some(provider) = &query.provider {
        builder.push(" AND provider = ").push_bind(provider.clone());
    }
    if let Some(text) = &query.text {
        // search_text is lower-cased in Rust when it is written, so the
        // needle is lower-cased the same way rather than by the server's
        // locale.
        builder
            .push(" AND strpos(search_text, ")
            .push_bind(text.to_lowercase())
            .push(") > 0");
    }
}

fn push_page(builder: &mut QueryBuilder<'_, Postgres>, query: &EntityQuery) {
    // PostgreSQL reads LIMIT NULL as no limit.
    let limit = (query.limit != 0).then(|| to_i64(query.limit));
    builder
        .push(" ORDER BY entity_ref LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(to_i64(query.offset));
}

/// Groups `(source_ref, type, target_ref)` rows, which arrive sorted, by
/// source.
pub(super) fn group_relations(
    rows: Vec<(String, String, String)>,
) -> HashMap<String, Vec<Relation>> {
    let mut grouped: HashMap<String, Vec<Relation>> = HashMap::new();
    for (source_ref, relation_type, target_ref) in rows {
        grouped.entry(source_ref).or_default().push(Relation {
            relation_type,
            target_ref,
        });
    }
    grouped
}

pub(super) fn decode_entity(
    row: EntityRow,
    relations: Vec<Relation>,
) -> Result<StoredEntity, StoreError> {
    let mut entity: Entity =
        serde_json::from_str(&row.body).map_err(|source| StoreError::Decode {
            entity_ref: row.entity_ref.clone(),
            source,
        })?;
    entity.metadata.uid = Some(row.uid);
    entity.metadata.etag = Some(row.etag);
    entity.relations = relations;
    Ok(StoredEntity {
        provider: row.provider,
        entity,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

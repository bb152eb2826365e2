//! Reading entities back, with their relations, uid and etag filled in.
//!
//! Each read that takes more than one statement runs in one read transaction,
//! so an entity and its relations always come from the same committed state.

use std::collections::HashMap;

use orgsync_model::{Entity, EntityRef, Relation};
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite};

use super::{parse_time, to_i64};
use crate::{EntityQuery, StoreError, StoredEntity};

/// An `entities` row as read back.
#[derive(sqlx::FromRow)]
pub(super) struct EntityRow {
    pub(super) entity_ref: String,
    pub(super) provider: String,
    pub(super) uid: String,
    pub(super) etag: String,
    pub(super) body: String,
    pub(super) created_at: String,
    pub(super) updated_at: String,
}

const ENTITY_SELECT: &str =
    "SELECT entity_ref, provider, uid, etag, body, created_at, updated_at FROM entities";

pub(super) async fn list_entities(
    pool: &SqlitePool,
    query: &EntityQuery,
) -> Result<Vec<Entity>, StoreError> {
    let mut transaction = pool.begin().await?;

    let mut builder = QueryBuilder::<Sqlite>::new(ENTITY_SELECT);
    push_filters(&mut builder, query);
    push_page(&mut builder, query);
    let rows: Vec<EntityRow> = builder
        .build_query_as()
        .fetch_all(&mut *transaction)
        .await?;

    let mut builder = QueryBuilder::<Sqlite>::new(
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
    pool: &SqlitePool,
    query: &EntityQuery,
) -> Result<usize, StoreError> {
    let mut builder = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM entities");
    push_filters(&mut builder, query);
    let (count,): (i64,) = builder.build_query_as().fetch_one(pool).await?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// Reads one entity by ref. A ref that does not parse matches nothing.
pub(super) async fn stored_entity(
    pool: &SqlitePool,
    entity_ref: &str,
) -> Result<Option<StoredEntity>, StoreError> {
    let Some(parsed) = EntityRef::parse(entity_ref.trim(), None) else {
        return Ok(None);
    };
    let key = parsed.key();
    let mut transaction = pool.begin().await?;

    let row: Option<EntityRow> = sqlx::query_as(&format!("{ENTITY_SELECT} WHERE entity_ref = ?"))
        .bind(&key)
        .fetch_optional(&mut *transaction)
        .await?;
    let Some(row) = row else {
        transaction.commit().await?;
        return Ok(None);
    };
    let relation_rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT DISTINCT source_ref, type, target_ref FROM relations \
         WHERE source_ref = ? ORDER BY type, target_ref",
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
fn push_filters(builder: &mut QueryBuilder<'_, Sqlite>, query: &EntityQuery) {
    builder.push(" WHERE 1 = 1");
    if let Some(kind) = &query.kind {
        builder
            .push(" AND kind = ")
            .push_bind(kind.clone())
            .push(" COLLATE NOCASE");
    }
    if let Some(provider) = &query.provider {
        builder.push(" AND provider = ").push_bind(provider.clone());
    }
    if let Some(text) = &query.text {
        // SQLite's lower() folds ASCII only, so both sides are lower-cased
        // in Rust: search_text when it is written, the needle here.
        builder
            .push(" AND instr(search_text, ")
            .push_bind(text.to_lowercase())
            .push(") > 0");
    }
}

fn push_page(builder: &mut QueryBuilder<'_, Sqlite>, query: &EntityQuery) {
    // SQLite reads a negative LIMIT as no limit.
    let limit = if query.limit == 0 {
        -1
    } else {
        to_i64(query.limit)
    };
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
        created_at: parse_time("entities.created_at", &row.created_at)?,
        updated_at: parse_time("entities.updated_at", &row.updated_at)?,
    })
}

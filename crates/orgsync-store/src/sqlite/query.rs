//! The catalog API's queries: Backstage-style filters over the `search`
//! and `relations` tables, keyset paging, facets and lookups by uid.
//!
//! A filter condition on `relations.<type>` reads the `relations` table
//! (type compared case-insensitively, targets are stored lower-cased);
//! every other key reads the `search` table. Each condition becomes an
//! `entity_ref IN (…)` subquery, so a group of conditions is their
//! intersection and the groups are joined with `OR`.

use std::collections::{BTreeMap, HashMap};

use orgsync_model::{Entity, EntityRef};
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite};

use super::read::{decode_entity, group_relations, EntityRow};
use super::to_i64;
use crate::query::{
    EntityFilter, EntityPage, EntityPageQuery, FacetCount, FilterCondition, FullTextFilter,
    OrderField, PageItem, PagePosition, SortOrder,
};
use crate::StoreError;

/// The prefix of filter keys that name relations.
const RELATIONS_PREFIX: &str = "relations.";

/// The maximum number of refs bound in one `IN (…)` list, well under SQLite's limit of
/// 32766 bound parameters.
const REFS_PER_STATEMENT: usize = 500;

/// An `entities` row with the sort value of the query.
#[derive(sqlx::FromRow)]
struct SortedRow {
    #[sqlx(flatten)]
    row: EntityRow,
    sort_value: Option<String>,
}

/// The `entities` column that contains the value of `key`, for the keys that
/// have one. Reading the column instead of the `search` table lets SQLite
/// use the `entities` indexes.
///
/// NOTE: `COLLATE NOCASE` and `lower()` fold ASCII letters only, while the
/// `search` table folds all of Unicode. Backstage limits kinds, namespaces
/// and names to ASCII, and orgsync validates entities before storing them,
/// so the two agree for every entity a sync writes.
fn entity_column(key: &str) -> Option<&'static str> {
    match key {
        "kind" => Some("kind"),
        "metadata.namespace" => Some("namespace"),
        "metadata.name" => Some("name"),
        _ => None,
    }
}

/// Appends a condition on an `entities` column: on `e` directly when the
/// filter applies to `e.entity_ref`, else through a subquery.
fn push_column_condition(
    builder: &mut QueryBuilder<'_, Sqlite>,
    column: &str,
    entity_column: &str,
    values: Option<&[String]>,
) {
    let Some(values) = values else {
        // The columns are NOT NULL, so every entity has the key.
        builder.push("1 = 1");
        return;
    };
    let direct = column == "e.entity_ref";
    if !direct {
        builder.push(format!(
            "{column} IN (SELECT entity_ref FROM entities WHERE "
        ));
    }
    let qualified = if direct {
        format!("e.{entity_column}")
    } else {
        entity_column.to_string()
    };
    builder.push(format!("{qualified} COLLATE NOCASE IN ("));
    let mut separated = builder.separated(", ");
    for value in values {
        separated.push_bind(value.clone());
    }
    builder.push(")");
    if !direct {
        builder.push(")");
    }
}

/// Appends `entity_ref IN (…)` for one condition.
fn push_condition(
    builder: &mut QueryBuilder<'_, Sqlite>,
    column: &str,
    condition: &FilterCondition,
) {
    if let Some(entity_column) = entity_column(&condition.key) {
        push_column_condition(builder, column, entity_column, condition.values.as_deref());
        return;
    }
    builder.push(format!("{column} IN ("));
    match condition.key.strip_prefix(RELATIONS_PREFIX) {
        Some(relation_type) => {
            builder
                .push("SELECT source_ref FROM relations WHERE lower(type) = ")
                .push_bind(relation_type.to_string());
            push_values(builder, "target_ref", condition.values.as_deref());
        }
        None => {
            builder
                .push("SELECT entity_ref FROM search WHERE key = ")
                .push_bind(condition.key.clone());
            push_values(builder, "value", condition.values.as_deref());
        }
    }
    builder.push(")");
}

fn push_values(builder: &mut QueryBuilder<'_, Sqlite>, column: &str, values: Option<&[String]>) {
    let Some(values) = values else {
        return;
    };
    builder.push(format!(" AND {column} IN ("));
    let mut separated = builder.separated(", ");
    for value in values {
        separated.push_bind(value.clone());
    }
    builder.push(")");
}

/// Appends ` AND (<group> OR <group> …)` for a filter.
fn push_filter(builder: &mut QueryBuilder<'_, Sqlite>, column: &str, filter: &EntityFilter) {
    if filter.any_of.is_empty() {
        return;
    }
    builder.push(" AND (");
    for (index, group) in filter.any_of.iter().enumerate() {
        if index > 0 {
            builder.push(" OR ");
        }
        builder.push("(1 = 1");
        for condition in group {
            builder.push(" AND ");
            push_condition(builder, column, condition);
        }
        builder.push(")");
    }
    builder.push(")");
}

/// Escapes `%`, `_` and `\` for `LIKE … ESCAPE '\'`.
fn like_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for character in term.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// Appends ` AND entity_ref IN (…)` for a full-text filter.
fn push_full_text(builder: &mut QueryBuilder<'_, Sqlite>, full_text: &FullTextFilter) {
    let pattern = like_pattern(&full_text.term);
    let (relation_types, keys): (Vec<&String>, Vec<&String>) = full_text
        .fields
        .iter()
        .partition(|field| field.starts_with(RELATIONS_PREFIX));

    builder.push(" AND e.entity_ref IN (SELECT entity_ref FROM search WHERE key IN (");
    let mut separated = builder.separated(", ");
    for key in &keys {
        separated.push_bind((*key).clone());
    }
    if keys.is_empty() {
        separated.push_bind(String::new());
    }
    builder
        .push(") AND value LIKE ")
        .push_bind(pattern.clone())
        .push(" ESCAPE '\\'");
    for relation_type in relation_types {
        let relation_type = relation_type
            .trim_start_matches(RELATIONS_PREFIX)
            .to_string();
        builder
            .push(" UNION SELECT source_ref FROM relations WHERE lower(type) = ")
            .push_bind(relation_type)
            .push(" AND target_ref LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\'");
    }
    builder.push(")");
}

/// Appends the filters shared by the page and the count.
fn push_where(builder: &mut QueryBuilder<'_, Sqlite>, query: &EntityPageQuery) {
    builder.push(" WHERE 1 = 1");
    if let Some(filter) = &query.filter {
        push_filter(builder, "e.entity_ref", filter);
    }
    if let Some(full_text) = &query.full_text {
        push_full_text(builder, full_text);
    }
}

/// The expression that gives an entity's sort value.
fn push_sort_value(builder: &mut QueryBuilder<'_, Sqlite>, order: Option<&OrderField>) {
    let Some(order) = order else {
        builder.push("NULL");
        return;
    };
    if let Some(column) = entity_column(&order.field) {
        builder.push(format!("lower(e.{column})"));
        return;
    }
    match order.field.strip_prefix(RELATIONS_PREFIX) {
        Some(relation_type) => builder
            .push("(SELECT MIN(target_ref) FROM relations r WHERE r.source_ref = e.entity_ref AND lower(r.type) = ")
            .push_bind(relation_type.to_string())
            .push(")"),
        None => builder
            .push("(SELECT MIN(value) FROM search s WHERE s.entity_ref = e.entity_ref AND +s.key = ")
            .push_bind(order.field.clone())
            .push(")"),
    };
}

/// Whether rows are read in descending order: a descending order field
/// walked forward, or an ascending one walked backward.
fn reads_descending(query: &EntityPageQuery) -> bool {
    let descending = query
        .order
        .as_ref()
        .is_some_and(|order| order.order == SortOrder::Desc);
    descending != query.backward
}

/// Appends the keyset condition: rows strictly past `after` in reading
/// order, with missing sort values last in the forward order.
fn push_keyset(builder: &mut QueryBuilder<'_, Sqlite>, query: &EntityPageQuery) {
    let Some(after) = &query.after else {
        return;
    };
    let past = if reads_descending(query) { "<" } else { ">" };
    let entity_ref = after.entity_ref.clone();
    if query.order.is_none() {
        builder
            .push(format!(" AND entity_ref {past} "))
            .push_bind(entity_ref);
        return;
    }

    // Missing values sort after every value going forward, so going
    // backward they come first.
    match (&after.sort_value, query.backward) {
        (Some(value), false) => builder
            .push(format!(" AND (sort_value IS NULL OR sort_value {past} "))
            .push_bind(value.clone())
            .push(" OR (sort_value = ")
            .push_bind(value.clone())
            .push(format!(" AND entity_ref {past} "))
            .push_bind(entity_ref)
            .push("))"),
        (Some(value), true) => builder
            .push(format!(
                " AND sort_value IS NOT NULL AND (sort_value {past} "
            ))
            .push_bind(value.clone())
            .push(" OR (sort_value = ")
            .push_bind(value.clone())
            .push(format!(" AND entity_ref {past} "))
            .push_bind(entity_ref)
            .push("))"),
        (None, false) => builder
            .push(format!(" AND sort_value IS NULL AND entity_ref {past} "))
            .push_bind(entity_ref),
        (None, true) => builder
            .push(format!(
                " AND (sort_value IS NOT NULL OR entity_ref {past} "
            ))
            .push_bind(entity_ref)
            .push(")"),
    };
}

fn push_order(builder: &mut QueryBuilder<'_, Sqlite>, query: &EntityPageQuery) {
    let direction = if reads_descending(query) {
        "DESC"
    } else {
        "ASC"
    };
    if query.order.is_none() {
        builder.push(format!(" ORDER BY entity_ref {direction}"));
        return;
    }
    // Missing values last going forward, first going backward.
    let nulls = if query.backward { "DESC" } else { "ASC" };
    builder.push(format!(
        " ORDER BY (sort_value IS NULL) {nulls}, sort_value {direction}, entity_ref {direction}"
    ));
}

/// Returns the `entities` column of the query's order field, when the
/// order field has one and the page can be read straight from that column:
/// the column is never NULL, so a position without a sort value cannot
/// come from this order.
fn column_order(query: &EntityPageQuery) -> Option<&'static str> {
    let column = entity_column(&query.order.as_ref()?.field)?;
    let position_fits = query
        .after
        .as_ref()
        .is_none_or(|after| after.sort_value.is_some());
    position_fits.then_some(column)
}

/// Builds the statement that reads one page ordered by an `entities`
/// column. `lower(column)` and `entity_ref` are the order, so SQLite walks
/// the `entities_name_order` index for `metadata.name` and stops at the
/// limit instead of sorting every matching entity.
fn column_page_statement(query: &EntityPageQuery, column: &str) -> QueryBuilder<'static, Sqlite> {
    let mut builder = QueryBuilder::<Sqlite>::new(format!(
        "SELECT * FROM (SELECT {PAGE_COLUMNS}, lower(e.{column}) AS sort_value FROM entities e"
    ));
    push_where(&mut builder, query);
    builder.push(") WHERE 1 = 1");
    if let Some(after) = &query.after {
        let past = if reads_descending(query) { "<" } else { ">" };
        builder
            .push(format!(" AND (sort_value, entity_ref) {past} ("))
            .push_bind(after.sort_value.clone())
            .push(", ")
            .push_bind(after.entity_ref.clone())
            .push(")");
    }
    let direction = if reads_descending(query) {
        "DESC"
    } else {
        "ASC"
    };
    builder.push(format!(
        " ORDER BY sort_value {direction}, entity_ref {direction}"
    ));
    push_limit(&mut builder, query);
    builder
}

/// The `entities` columns of a page, for [`EntityRow`].
const PAGE_COLUMNS: &str =
    "e.entity_ref, e.provider, e.uid, e.etag, e.body, e.created_at, e.updated_at";

/// Builds the statement that reads one page.
///
/// An order field with an `entities` column reads that column
/// ([`column_page_statement`]). With another order field, the matching
/// refs and their sort values are materialized first, ordered and cut to
/// the page, and only the page is joined back to `entities`, so the sort
/// never carries entity bodies.
/// Letting SQLite flatten the correlated sort-value subquery into a filter
/// with `OR` groups also lost rows (seen with the SQLite that sqlx 0.8
/// bundles). Without an order field, the flat query walks the primary key
/// and stops at the limit.
fn page_statement(query: &EntityPageQuery) -> QueryBuilder<'static, Sqlite> {
    const COLUMNS: &str = PAGE_COLUMNS;
    if let Some(column) = column_order(query) {
        return column_page_statement(query, column);
    }
    let mut builder;
    if query.order.is_some() {
        builder = QueryBuilder::<Sqlite>::new(
            "WITH filtered AS MATERIALIZED (SELECT e.entity_ref AS entity_ref, ",
        );
        push_sort_value(&mut builder, query.order.as_ref());
        builder.push(" AS sort_value FROM entities e");
        push_where(&mut builder, query);
        builder.push("), page AS (SELECT entity_ref, sort_value FROM filtered WHERE 1 = 1");
        push_keyset(&mut builder, query);
        push_order(&mut builder, query);
        push_limit(&mut builder, query);
        builder.push(format!(
            ") SELECT * FROM (SELECT {COLUMNS}, p.sort_value FROM page p \
             JOIN entities e ON e.entity_ref = p.entity_ref) WHERE 1 = 1"
        ));
        push_order(&mut builder, query);
    } else {
        builder = QueryBuilder::<Sqlite>::new(format!(
            "SELECT * FROM (SELECT {COLUMNS}, NULL AS sort_value FROM entities e"
        ));
        push_where(&mut builder, query);
        builder.push(") WHERE 1 = 1");
        push_keyset(&mut builder, query);
        push_order(&mut builder, query);
        push_limit(&mut builder, query);
    }
    builder
}

fn push_limit(builder: &mut QueryBuilder<'_, Sqlite>, query: &EntityPageQuery) {
    builder
        .push(" LIMIT ")
        .push_bind(to_i64(query.limit))
        .push(" OFFSET ")
        .push_bind(to_i64(query.offset));
}

pub(super) async fn query_entities(
    pool: &SqlitePool,
    query: &EntityPageQuery,
) -> Result<EntityPage, StoreError> {
    let mut transaction = pool.begin().await?;

    let mut builder = page_statement(query);
    let mut rows: Vec<SortedRow> = builder
        .build_query_as()
        .fetch_all(&mut *transaction)
        .await?;

    let total = if query.count_total {
        let mut builder = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM entities e");
        push_where(&mut builder, query);
        let (count,): (i64,) = builder
            .build_query_as()
            .fetch_one(&mut *transaction)
            .await?;
        Some(usize::try_from(count).unwrap_or(0))
    } else {
        None
    };

    let refs: Vec<String> = rows.iter().map(|row| row.row.entity_ref.clone()).collect();
    let mut relations = read_relations(&mut transaction, &refs).await?;
    transaction.commit().await?;

    if query.backward {
        rows.reverse();
    }
    let mut items = Vec::with_capacity(rows.len());
    for sorted in rows {
        let position = PagePosition {
            sort_value: sorted.sort_value,
            entity_ref: sorted.row.entity_ref.clone(),
        };
        let found = relations.remove(&sorted.row.entity_ref).unwrap_or_default();
        let entity = decode_entity(sorted.row, found)?.entity;
        items.push(PageItem { entity, position });
    }
    Ok(EntityPage { items, total })
}

/// Reads the relations of `refs`, grouped by source.
async fn read_relations(
    connection: &mut sqlx::SqliteConnection,
    refs: &[String],
) -> Result<HashMap<String, Vec<orgsync_model::Relation>>, StoreError> {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for chunk in refs.chunks(REFS_PER_STATEMENT) {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "SELECT DISTINCT source_ref, type, target_ref FROM relations WHERE source_ref IN (",
        );
        let mut separated = builder.separated(", ");
        for entity_ref in chunk {
            separated.push_bind(entity_ref.clone());
        }
        builder.push(") ORDER BY source_ref, type, target_ref");
        rows.extend(builder.build_query_as().fetch_all(&mut *connection).await?);
    }
    Ok(group_relations(rows))
}

const ENTITY_COLUMNS: &str =
    "SELECT e.entity_ref, e.provider, e.uid, e.etag, e.body, e.created_at, e.updated_at FROM entities e";

pub(super) async fn entity_by_uid(
    pool: &SqlitePool,
    uid: &str,
) -> Result<Option<Entity>, StoreError> {
    let mut transaction = pool.begin().await?;
    let row: Option<EntityRow> = sqlx::query_as(&format!("{ENTITY_COLUMNS} WHERE e.uid = ?"))
        .bind(uid)
        .fetch_optional(&mut *transaction)
        .await?;
    let Some(row) = row else {
        transaction.commit().await?;
        return Ok(None);
    };
    let mut relations =
        read_relations(&mut transaction, std::slice::from_ref(&row.entity_ref)).await?;
    transaction.commit().await?;

    let found = relations.remove(&row.entity_ref).unwrap_or_default();
    decode_entity(row, found).map(|stored| Some(stored.entity))
}

pub(super) async fn entities_by_refs(
    pool: &SqlitePool,
    entity_refs: &[String],
    filter: Option<&EntityFilter>,
) -> Result<Vec<Option<Entity>>, StoreError> {
    let keys: Vec<Option<String>> = entity_refs
        .iter()
        .map(|text| EntityRef::parse(text.trim(), None).map(|parsed| parsed.key()))
        .collect();
    let wanted: Vec<String> = keys.iter().flatten().cloned().collect();

    let mut transaction = pool.begin().await?;
    let mut rows: Vec<EntityRow> = Vec::new();
    for chunk in wanted.chunks(REFS_PER_STATEMENT) {
        let mut builder = QueryBuilder::<Sqlite>::new(ENTITY_COLUMNS);
        builder.push(" WHERE e.entity_ref IN (");
        let mut separated = builder.separated(", ");
        for key in chunk {
            separated.push_bind(key.clone());
        }
        builder.push(")");
        if let Some(filter) = filter {
            push_filter(&mut builder, "e.entity_ref", filter);
        }
        rows.extend(
            builder
                .build_query_as::<EntityRow>()
                .fetch_all(&mut *transaction)
                .await?,
        );
    }
    let refs: Vec<String> = rows.iter().map(|row| row.entity_ref.clone()).collect();
    let mut relations = read_relations(&mut transaction, &refs).await?;
    transaction.commit().await?;

    let mut found: HashMap<String, Entity> = HashMap::with_capacity(rows.len());
    for row in rows {
        let entity_ref = row.entity_ref.clone();
        let row_relations = relations.remove(&entity_ref).unwrap_or_default();
        found.insert(entity_ref, decode_entity(row, row_relations)?.entity);
    }
    Ok(keys
        .iter()
        .map(|key| key.as_ref().and_then(|key| found.get(key).cloned()))
        .collect())
}

pub(super) async fn entity_facets(
    pool: &SqlitePool,
    facets: &[String],
    filter: Option<&EntityFilter>,
) -> Result<BTreeMap<String, Vec<FacetCount>>, StoreError> {
    let mut result = BTreeMap::new();
    let mut transaction = pool.begin().await?;
    for facet in facets {
        let mut builder = match facet.strip_prefix(RELATIONS_PREFIX) {
            Some(relation_type) => {
                let mut builder = QueryBuilder::<Sqlite>::new(
                    "SELECT target_ref, COUNT(DISTINCT source_ref) FROM relations WHERE lower(type) = ",
                );
                builder.push_bind(relation_type.to_string());
                if let Some(filter) = filter {
                    push_filter(&mut builder, "source_ref", filter);
                }
                builder.push(" GROUP BY target_ref ORDER BY target_ref");
                builder
            }
            None => {
                let mut builder = QueryBuilder::<Sqlite>::new(
                    "SELECT original_value, COUNT(*) FROM search WHERE key = ",
                );
                builder
                    .push_bind(facet.clone())
                    .push(" AND original_value IS NOT NULL");
                if let Some(filter) = filter {
                    push_filter(&mut builder, "entity_ref", filter);
                }
                builder.push(" GROUP BY original_value ORDER BY original_value");
                builder
            }
        };
        let rows: Vec<(String, i64)> = builder
            .build_query_as()
            .fetch_all(&mut *transaction)
            .await?;
        let counts = rows
            .into_iter()
            .map(|(value, count)| FacetCount {
                value,
                count: usize::try_from(count).unwrap_or(0),
            })
            .collect();
        result.insert(facet.clone(), counts);
    }
    transaction.commit().await?;
    Ok(result)
}

pub(super) async fn ping(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}

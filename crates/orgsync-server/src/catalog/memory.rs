//! [`MemoryCatalog`]: a [`CatalogReader`] over entities held in memory.
//!
//! It flattens each entity into lower-cased key/value rows the way the
//! store's `search` table does (string lists give one row per item plus a
//! `path.item = true` row, over-long values count as missing, relations
//! become `relations.<type>` rows), and answers every query by scanning.
//! Tests use it to check the API's semantics without a database, and the
//! same checks run against the SQLite store.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use async_trait::async_trait;
use orgsync_model::{Entity, EntityRef};
use orgsync_store::StoreError;
use serde_json::Value;

use super::query::{
    compare_positions, EntityFilter, EntityPage, EntityPageQuery, FacetCount, FilterCondition,
    FullTextFilter, OrderField, PageItem, PagePosition,
};
use super::reader::CatalogReader;

/// The longest key that gets a row, in characters, as in the store.
const MAX_KEY_CHARS: usize = 200;
/// The longest value that is kept, in characters, as in the store.
const MAX_VALUE_CHARS: usize = 200;
/// Paths that are not flattened: relations get their own rows, and uid and
/// etag are store-assigned (uid is added back once).
const SKIPPED_PATHS: &[&str] = &[
    "attachments",
    "relations",
    "status",
    "metadata.uid",
    "metadata.etag",
];

/// An entity and its flattened rows.
#[derive(Debug, Clone)]
struct Indexed {
    entity: Entity,
    ref_key: String,
    /// `(key, lower-cased value, value as written)`.
    rows: Vec<(String, Option<String>, Option<String>)>,
}

/// Entities in memory, answering catalog reads by scanning.
#[derive(Debug, Default)]
pub struct MemoryCatalog {
    entities: RwLock<Vec<Indexed>>,
}

impl MemoryCatalog {
    /// A catalog holding `entities`, which should carry their uid, etag and
    /// relations as the store would return them.
    pub fn new(entities: Vec<Entity>) -> MemoryCatalog {
        let catalog = MemoryCatalog::default();
        catalog.replace(entities);
        catalog
    }

    /// Replaces every entity.
    pub fn replace(&self, entities: Vec<Entity>) {
        let indexed = entities.into_iter().map(index).collect();
        match self.entities.write() {
            Ok(mut guard) => *guard = indexed,
            Err(poisoned) => *poisoned.into_inner() = indexed,
        }
    }

    fn snapshot(&self) -> Vec<Indexed> {
        match self.entities.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

fn index(entity: Entity) -> Indexed {
    let ref_key = entity.entity_ref().key();
    let body = serde_json::to_value(&entity).unwrap_or(Value::Null);

    let mut leaves = Vec::new();
    flatten("", &body, &mut leaves);
    if let Some(uid) = &entity.metadata.uid {
        leaves.push(("metadata.uid".to_string(), Some(uid.clone())));
    }
    for relation in &entity.relations {
        let key = format!("relations.{}", relation.relation_type);
        leaves.push((key, Some(relation.target_ref.clone())));
    }

    let mut rows: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for (path, original) in leaves {
        let key = path.to_lowercase();
        if key.chars().count() > MAX_KEY_CHARS {
            continue;
        }
        let original = original.filter(|text| text.chars().count() <= MAX_VALUE_CHARS);
        let value = original.as_deref().map(str::to_lowercase);
        if !rows.iter().any(|(k, v, _)| *k == key && *v == value) {
            rows.push((key, value, original));
        }
    }
    Indexed {
        entity,
        ref_key,
        rows,
    }
}

fn flatten(path: &str, value: &Value, out: &mut Vec<(String, Option<String>)>) {
    if SKIPPED_PATHS.contains(&path) {
        return;
    }
    match value {
        Value::Null => out.push((path.to_string(), None)),
        Value::Bool(flag) => out.push((path.to_string(), Some(flag.to_string()))),
        Value::Number(number) => out.push((path.to_string(), Some(number.to_string()))),
        Value::String(text) => out.push((path.to_string(), Some(text.clone()))),
        Value::Array(items) => {
            for item in items {
                flatten(path, item, out);
                if let Value::String(text) = item {
                    out.push((format!("{path}.{text}"), Some("true".to_string())));
                }
            }
        }
        Value::Object(object) => {
            for (key, item) in object {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(&child, item, out);
            }
        }
    }
}

impl Indexed {
    fn matches_condition(&self, condition: &FilterCondition) -> bool {
        self.rows.iter().any(|(key, value, _)| {
            *key == condition.key
                && match &condition.values {
                    None => true,
                    Some(values) => value.as_ref().is_some_and(|value| values.contains(value)),
                }
        })
    }

    fn matches_filter(&self, filter: &EntityFilter) -> bool {
        filter.any_of.iter().any(|group| {
            group
                .iter()
                .all(|condition| self.matches_condition(condition))
        })
    }

    fn matches_full_text(&self, full_text: &FullTextFilter) -> bool {
        self.rows.iter().any(|(key, value, _)| {
            full_text.fields.contains(key)
                && value
                    .as_ref()
                    .is_some_and(|value| value.contains(&full_text.term))
        })
    }

    fn position(&self, order: Option<&OrderField>) -> PagePosition {
        let sort_value = order.and_then(|order| {
            self.rows
                .iter()
                .filter(|(key, _, _)| *key == order.field)
                .filter_map(|(_, value, _)| value.clone())
                .min()
        });
        PagePosition {
            sort_value,
            entity_ref: self.ref_key.clone(),
        }
    }
}

/// Applies the position, direction, offset and limit of `query` to the
/// sorted matches.
fn page_of(query: &EntityPageQuery, sorted: Vec<(PagePosition, Entity)>) -> Vec<PageItem> {
    let order = query.order.as_ref();
    let beyond = |position: &PagePosition| match &query.after {
        None => true,
        Some(after) if query.backward => {
            compare_positions(order, position, after) == Ordering::Less
        }
        Some(after) => compare_positions(order, position, after) == Ordering::Greater,
    };
    let mut candidates: Vec<(PagePosition, Entity)> = sorted
        .into_iter()
        .filter(|(position, _)| beyond(position))
        .collect();
    if query.backward {
        candidates.reverse();
    }

    let mut items: Vec<PageItem> = candidates
        .into_iter()
        .skip(query.offset)
        .take(query.limit)
        .map(|(position, entity)| PageItem { entity, position })
        .collect();
    if query.backward {
        items.reverse();
    }
    items
}

#[async_trait]
impl CatalogReader for MemoryCatalog {
    async fn query_entities(&self, query: &EntityPageQuery) -> Result<EntityPage, StoreError> {
        let order = query.order.as_ref();
        let mut matches: Vec<(PagePosition, Entity)> = self
            .snapshot()
            .into_iter()
            .filter(|item| {
                query
                    .filter
                    .as_ref()
                    .is_none_or(|filter| item.matches_filter(filter))
            })
            .filter(|item| {
                query
                    .full_text
                    .as_ref()
                    .is_none_or(|full_text| item.matches_full_text(full_text))
            })
            .map(|item| (item.position(order), item.entity))
            .collect();
        matches.sort_by(|left, right| compare_positions(order, &left.0, &right.0));

        let total = query.count_total.then_some(matches.len());
        Ok(EntityPage {
            items: page_of(query, matches),
            total,
        })
    }

    async fn entity_by_ref(&self, entity_ref: &str) -> Result<Option<Entity>, StoreError> {
        let Some(parsed) = EntityRef::parse(entity_ref.trim(), None) else {
            return Ok(None);
        };
        let key = parsed.key();
        Ok(self
            .snapshot()
            .into_iter()
            .find(|item| item.ref_key == key)
            .map(|item| item.entity))
    }

    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, StoreError> {
        Ok(self
            .snapshot()
            .into_iter()
            .find(|item| item.entity.metadata.uid.as_deref() == Some(uid))
            .map(|item| item.entity))
    }

    async fn entities_by_refs(
        &self,
        entity_refs: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<Vec<Option<Entity>>, StoreError> {
        let by_ref: HashMap<String, Entity> = self
            .snapshot()
            .into_iter()
            .filter(|item| filter.is_none_or(|filter| item.matches_filter(filter)))
            .map(|item| (item.ref_key, item.entity))
            .collect();
        Ok(entity_refs
            .iter()
            .map(|text| {
                EntityRef::parse(text.trim(), None)
                    .and_then(|parsed| by_ref.get(&parsed.key()).cloned())
            })
            .collect())
    }

    async fn entity_facets(
        &self,
        facets: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<BTreeMap<String, Vec<FacetCount>>, StoreError> {
        let entities = self.snapshot();
        let matching: Vec<&Indexed> = entities
            .iter()
            .filter(|item| filter.is_none_or(|filter| item.matches_filter(filter)))
            .collect();

        let mut result = BTreeMap::new();
        for facet in facets {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for item in &matching {
                for (key, _, original) in &item.rows {
                    if key == facet {
                        if let Some(original) = original {
                            *counts.entry(original.clone()).or_default() += 1;
                        }
                    }
                }
            }
            let counts = counts
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            result.insert(facet.clone(), counts);
        }
        Ok(result)
    }

    async fn check_ready(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

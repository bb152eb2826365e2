//! The catalog API's queries, in Backstage's terms.
//!
//! A *filter* is Backstage's `EntityFilter` as its `GET` endpoints build it:
//! it matches an entity when any of its groups matches, and a group matches
//! when all of its conditions do. A *condition* names a lower-cased dotted
//! key of the flattened entity (`spec.profile.email`, `relations.memberof`)
//! and either requires the key to exist or requires one of a set of
//! lower-cased values. Entities are ordered by one *sort value* (the
//! smallest lower-cased value under the order field, missing values last)
//! and then by entity ref, so that a *position* (sort value and ref) names a
//! place in the order that survives inserts and deletes between pages.

use std::cmp::Ordering;

use orgsync_model::Entity;
use serde::{Deserialize, Serialize};

/// One condition of a filter group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterCondition {
    /// The lower-cased dotted key, such as `metadata.namespace`.
    pub key: String,
    /// Lower-cased values of which the entity must have one under `key`;
    /// `None` requires only that the key exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// Backstage's filter: any of the groups, each group all of its conditions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EntityFilter {
    pub any_of: Vec<Vec<FilterCondition>>,
}

/// The direction of an order field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// The field entities are ordered by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderField {
    /// The lower-cased dotted key, such as `metadata.name`.
    pub field: String,
    pub order: SortOrder,
}

/// A case-insensitive substring search over some fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullTextFilter {
    /// The lower-cased, trimmed term; never empty.
    pub term: String,
    /// The lower-cased dotted keys whose values are searched.
    pub fields: Vec<String>,
}

/// A place in the order of a query: the sort value and the lower-cased
/// entity ref of one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagePosition {
    /// The entity's sort value, `None` when it has no value under the
    /// order field or the query has no order field.
    pub sort_value: Option<String>,
    pub entity_ref: String,
}

/// A page request of [`Store::query_entities`](crate::Store::query_entities).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntityPageQuery {
    pub filter: Option<EntityFilter>,
    /// Without an order field, entities are ordered by ref.
    pub order: Option<OrderField>,
    pub full_text: Option<FullTextFilter>,
    /// Return only entities strictly after this position in the order (or
    /// strictly before it when `backward` is set).
    pub after: Option<PagePosition>,
    /// Walk the order backwards from `after`. The page is still returned in
    /// forward order.
    pub backward: bool,
    /// How many matching entities to skip before the page starts.
    pub offset: usize,
    /// The maximum number of entities to return; 0 returns none.
    pub limit: usize,
    /// Also count every entity that matches, ignoring the page.
    pub count_total: bool,
}

/// An entity with its position in the query's order.
#[derive(Debug, Clone, PartialEq)]
pub struct PageItem {
    pub entity: Entity,
    pub position: PagePosition,
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntityPage {
    pub items: Vec<PageItem>,
    /// The number of matching entities, when the query asked for it.
    pub total: Option<usize>,
}

/// How many entities have one value of a facet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    /// The value as the entity has it, not lower-cased.
    pub value: String,
    pub count: usize,
}

/// Compares two positions in the order of `order`: missing sort values
/// last, then sort values in the field's direction, then refs in the same
/// direction. SQL stores express the same order in `ORDER BY`.
pub fn compare_positions(
    order: Option<&OrderField>,
    left: &PagePosition,
    right: &PagePosition,
) -> Ordering {
    let descending = order.is_some_and(|order| order.order == SortOrder::Desc);
    let directed = |ordering: Ordering| {
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    };

    let by_value = match (&left.sort_value, &right.sort_value) {
        (Some(left), Some(right)) => directed(left.cmp(right)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_value.then_with(|| directed(left.entity_ref.cmp(&right.entity_ref)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: Option<&str>, entity_ref: &str) -> PagePosition {
        PagePosition {
            sort_value: value.map(str::to_string),
            entity_ref: entity_ref.to_string(),
        }
    }

    fn order(direction: SortOrder) -> OrderField {
        OrderField {
            field: "metadata.name".to_string(),
            order: direction,
        }
    }

    #[test]
    fn missing_values_sort_last_ascending() {
        let ascending = order(SortOrder::Asc);
        let ordering = compare_positions(Some(&ascending), &at(None, "a"), &at(Some("z"), "b"));
        assert_eq!(ordering, Ordering::Greater);
    }

    #[test]
    fn missing_values_sort_last_descending() {
        let descending = order(SortOrder::Desc);
        let ordering = compare_positions(Some(&descending), &at(None, "a"), &at(Some("a"), "b"));
        assert_eq!(ordering, Ordering::Greater);
    }

    #[test]
    fn descending_reverses_values() {
        let descending = order(SortOrder::Desc);
        let ordering =
            compare_positions(Some(&descending), &at(Some("a"), "x"), &at(Some("b"), "x"));
        assert_eq!(ordering, Ordering::Greater);
    }

    #[test]
    fn equal_values_fall_back_to_ref() {
        let ascending = order(SortOrder::Asc);
        let ordering =
            compare_positions(Some(&ascending), &at(Some("a"), "x"), &at(Some("a"), "y"));
        assert_eq!(ordering, Ordering::Less);
    }

    #[test]
    fn no_order_field_orders_by_ref() {
        let ordering = compare_positions(
            None,
            &at(None, "user:default/b"),
            &at(None, "user:default/a"),
        );
        assert_eq!(ordering, Ordering::Greater);
    }
}
